"""Numbers written in digits: the English words a number is spelled with when the lexicon has no
number signs (`number_words("42") == "forty-two"`)."""
from __future__ import annotations

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
MAX_SPOKEN = 999


def number_words(digits: str) -> str | None:
    """English words of a whole number 0..999 written in digits (`"105"` -> `"one hundred five"`),
    None for anything else (bigger numbers, decimals, times)."""
    if not digits.isdigit() or int(digits) > MAX_SPOKEN:
        return None
    n = int(digits)
    words = []
    if n >= 100:
        words += [_ONES[n // 100], "hundred"]
        n %= 100
        if n == 0:
            return " ".join(words)
    if n < 20:
        words.append(_ONES[n])
    else:
        words.append(_TENS[n // 10] + (f"-{_ONES[n % 10]}" if n % 10 else ""))
    return " ".join(words)


def digit_word(digit: str) -> str:
    """The English word of one digit (`"7"` -> `"seven"`)."""
    return _ONES[int(digit)]
