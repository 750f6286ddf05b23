"""Text -> glosses, word by word in English order: tokenize, then for each word the longest phrase
the lexicon has, the word, its lemma, its parts (contractions, hyphenated words), its synonyms; a
stop word is dropped; what is left is fingerspelled by the policy, or becomes a Notice saying why.

    glosser = Glosser(vocabulary_of(lexicon.table), SpellingRules(policy="names"))
    for item in glosser.gloss("Hello, my name is Tom."):   # Gloss items, one or more per token
        ...

This is lookup, not translation: the signs come in the order of the English words, without sign
language grammar (no topic-comment order, no use of space, no facial grammar).
"""
from __future__ import annotations

import unicodedata
from dataclasses import replace

from signstream.text.fingerspell import NAMES, NEVER, UNKNOWN, SpellingRules, read_letters
from signstream.text.items import (
    CANNOT_FINGERSPELL, DROPPED, EMPTY_TEXT, LETTERS_REPLACED, NOTICE, NUMBER_SPELLED, SIGN, SPELLED,
    UNKNOWN_NUMBER, UNKNOWN_SYMBOL, UNKNOWN_WORD, Gloss,
)
from signstream.text.lemma import lemma
from signstream.text.numbers import digit_word, number_words
from signstream.text.stoplist import is_stop_word
from signstream.text.synonyms import synonyms_of
from signstream.text.tokens import BRACKET, NUMBER, SPELLED as SPELLED_TOKEN, SYMBOL, WORD, Token, is_gloss_sentence, tokenize
from signstream.text.vocabulary import BY_SIGN_ID, Vocabulary

# Contractions: suffix -> the word it stands for ("'s" after a noun is possessive, see _parts).
_SUFFIXES = (("n't", "not"), ("'m", "am"), ("'re", "are"), ("'ll", "will"), ("'ve", "have"), ("'d", "would"),
             ("'s", "is"))
_NOT_BASES = {"can": "can", "won": "will", "shan": "shall", "ain": "is"}
_IS_BEFORE = frozenset("it he she that there what where who here how when why".split())
POSSESSIVE = "'s"


def _parts(word: str) -> list[str] | None:
    """The words a contraction stands for, case kept (`don't` -> do, not; `Tom's` -> Tom, 's), or None."""
    low = word.lower()
    if low == "let's":
        return [word[:3], "us"]
    for suffix, meaning in _SUFFIXES:
        if low.endswith(suffix) and len(low) > len(suffix):
            base = word[: -len(suffix)]
            if suffix == "n't":
                base = _NOT_BASES.get(base.lower(), base)
            if suffix == "'s" and base.lower() not in _IS_BEFORE:
                meaning = POSSESSIVE
            return [base, meaning]
    return None


def _symbol_name(symbol: str) -> str:
    names = [unicodedata.name(ch, "") for ch in symbol if unicodedata.category(ch) != "Mn"]
    return " + ".join(n.lower() for n in names if n and "VARIATION SELECTOR" not in n
                      and "ZERO WIDTH" not in n and "SKIN TONE" not in n) or "symbol"


class _Sentence:
    """The state of one sentence: whether it is written as gloss, and the letters spelled so far."""

    def __init__(self, tokens: list[Token]):
        self.gloss_line = is_gloss_sentence(tokens)
        self.letters = 0


class Glosser:
    """Glosses text against one lexicon's vocabulary with one set of spelling rules."""

    def __init__(self, vocabulary: Vocabulary, rules: SpellingRules = SpellingRules()):
        self.vocabulary = vocabulary
        self.rules = rules.validated()

    def gloss(self, text: str) -> list[Gloss]:
        """Every token's Gloss items, in order (see the module's docstring)."""
        tokens = tokenize(text)
        if not tokens:
            return [Gloss(text.strip()[:40], NOTICE, why="the text has no words, numbers or symbols to sign",
                          code=EMPTY_TEXT)]
        out: list[Gloss] = []
        by_sentence: dict[int, list[Token]] = {}
        for token in tokens:
            by_sentence.setdefault(token.sentence, []).append(token)
        for sentence_tokens in by_sentence.values():
            state = _Sentence(sentence_tokens)
            i = 0
            while i < len(sentence_tokens):
                used, items = self._phrase(sentence_tokens, i)
                if not used:
                    used, items = 1, self._token(sentence_tokens[i], state)
                span = (sentence_tokens[i].start, sentence_tokens[i + used - 1].end)
                out += [replace(item, span=span) for item in items]
                i += used
        return out

    def gloss_word(self, word: str) -> list[Gloss]:
        """One word as if it stood inside a sentence (a capitalized one counts as a name): what the
        LLM glosser falls back to for a word it returned that is not a sign ID."""
        token = Token(word, WORD, False, 0, 0, len(word))
        return self._word(word, token, _Sentence([token]))

    def spell(self, written: str, letters: str, why: str) -> Gloss:
        """`letters` fingerspelled whatever the policy (except never), or a Notice saying why not."""
        return self._spell(written, letters, _Sentence([]), why, always=True)

    # -- phrases and single tokens ----------------------------------------------------------------
    def _phrase(self, tokens: list[Token], i: int) -> tuple[int, list[Gloss]]:
        """The longest run of 2+ words from tokens[i] that names a sign, as written or as lemmas."""
        words = []
        for token in tokens[i: i + self.vocabulary.longest_phrase]:
            if token.kind != WORD:
                break
            words.append(token.text)
        for n in range(len(words), 1, -1):
            written = " ".join(words[:n])
            for form, how in ((written, "as written"), (" ".join(lemma(w.lower()) for w in words[:n]), "as lemmas")):
                match = self.vocabulary.find(form)
                if match is not None:
                    return n, [Gloss(written, SIGN, (match.sign_id,), f"phrase by {match.by} ({how})", word=form)]
        return 0, []

    def _token(self, token: Token, state: _Sentence) -> list[Gloss]:
        if token.kind == BRACKET:
            return [Gloss(token.text, DROPPED, why="non-manual marker: the face and body are not animated from text")]
        if token.kind == SYMBOL:
            return [self._symbol(token)]
        if token.kind == SPELLED_TOKEN:
            return [self._spell(token.text, token.letters, state, "SignMail fingerspelling mark", always=True)]
        if token.kind == NUMBER:
            return [self._number(token, state)]
        return self._word(token.text, token, state)

    def _symbol(self, token: Token) -> Gloss:
        match = self.vocabulary.find(token.text)
        if match is not None:
            return Gloss(token.text, SIGN, (match.sign_id,), f"by {match.by}")
        return Gloss(token.text, NOTICE, code=UNKNOWN_SYMBOL,
                     why=f"{_symbol_name(token.text)} has no sign in the lexicon; skipped (give a sign "
                         "that symbol among its words to sign it)")

    def _found(self, written: str, form: str, how: str) -> Gloss | None:
        match = self.vocabulary.find(form)
        if match is None:
            return None
        return Gloss(written, SIGN, (match.sign_id,), f"by {match.by}{how}", word=form if form != written.lower() else "")

    def _word(self, written: str, token: Token, state: _Sentence, depth: int = 0) -> list[Gloss]:
        low = written.lower()
        base = lemma(low)
        found = self._found(written, low, "") or (base != low and self._found(written, base, f", lemma {base}"))
        if found:
            return [found]
        if depth == 0 and (parts := _parts(written)) is not None:
            return [item for part in parts for item in self._part(written, part, token, state)]
        if depth == 0 and "-" in written:
            return [_from_part(item, written, part) for part in written.split("-")
                    for item in self._word(part, token, state, 1)]
        for synonym in synonyms_of(low, base):
            found = self._found(written, synonym, f" (synonym {synonym} of {low})")
            if found:
                return [found]
        if is_stop_word(low, base):
            return [Gloss(written, DROPPED, why="stop word: left out, as signing leaves it out")]
        return [self._unknown(written, token, state)]

    def _part(self, written: str, part: str, token: Token, state: _Sentence) -> list[Gloss]:
        if part == POSSESSIVE:
            return [Gloss(written, DROPPED, why="possessive 's: left out", word=part)]
        return [_from_part(item, written, part) for item in self._word(part, token, state, 1)]

    def _unknown(self, written: str, token: Token, state: _Sentence) -> Gloss:
        policy = self.rules.policy
        name = (not state.gloss_line and not token.sentence_start and len(written) > 1
                and written[:1].isupper() and token.text[:1].isupper())
        if policy == UNKNOWN or (policy == NAMES and name):
            why = "a name: capitalized inside a sentence" if name else "no sign for it (fingerspell unknown)"
            return self._spell(written, written, state, why)
        if policy == NAMES:
            hint = ("if it is a name, write it #" + written.upper() + " or set fingerspell to unknown"
                    if written[:1].isupper() and not state.gloss_line
                    else "add it to a sign's words in signs.json, or set fingerspell to unknown")
        else:
            hint = "add it to a sign's words in signs.json, or set fingerspell to names or unknown"
        return Gloss(written, NOTICE, code=UNKNOWN_WORD,
                     why=f"no sign for {written!r} in the lexicon, and fingerspell {policy} does not spell it; "
                         f"skipped ({hint})")

    def _number(self, token: Token, state: _Sentence) -> Gloss:
        digits = token.text
        spoken = number_words(digits)
        found = self._found(digits, digits, "") or (spoken and self._found(digits, spoken, f" ({spoken})"))
        if found:
            return found
        if digits.isdigit():
            matches = [self.vocabulary.find(d) or self.vocabulary.find(digit_word(d)) for d in digits]
            if all(matches):
                return Gloss(digits, SIGN, tuple(m.sign_id for m in matches), "digit by digit, by number signs")
        if spoken and self.rules.policy != NEVER:
            item = self._spell(digits, spoken, state, f"the number {spoken}", always=True)
            if item.kind == SPELLED:
                return Gloss(digits, SPELLED, item.sign_ids, code=item.code or NUMBER_SPELLED, word=spoken,
                             letters=item.letters,
                             why=f"the lexicon has no number signs, so {digits} was fingerspelled as {spoken}; "
                                 "add signs glossed 0-9 (or this number) to sign it" +
                                 (f"; {item.why}" if item.code else ""))
            return item
        reason = ("fingerspell never spells nothing" if self.rules.policy == NEVER and spoken
                  else "only whole numbers up to 999 are spelled as words")
        return Gloss(digits, NOTICE, code=UNKNOWN_NUMBER,
                     why=f"the lexicon has no sign for the number {digits} nor signs for its digits, and {reason}; "
                         "skipped (add signs glossed 0-9 to sign numbers)")

    # -- fingerspelling ---------------------------------------------------------------------------
    def _spell(self, written: str, word: str, state: _Sentence, why: str, always: bool = False) -> Gloss:
        """`word` fingerspelled, or a Notice saying why it cannot be. `always`: spelled whatever the
        policy says, except `never` (SignMail's marks, and numbers)."""
        rules = self.rules
        if always and rules.policy == NEVER:
            return Gloss(written, NOTICE, code=UNKNOWN_WORD,
                         why=f"{written} asks to be fingerspelled, and fingerspell is never; skipped (set "
                             "fingerspell to names or unknown)")
        read = read_letters(word)
        if read.unspellable:
            chars = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in read.unspellable)
            return Gloss(written, NOTICE, code=CANNOT_FINGERSPELL,
                         why=f"{written!r} cannot be fingerspelled: {chars} is not a letter a-z or a letter with "
                             "an accent, and letter signs exist for a-z only; skipped (add a sign for the word)")
        count = len(read.letters)
        if count > rules.max_word_letters:
            return Gloss(written, NOTICE, code=CANNOT_FINGERSPELL,
                         why=f"{written!r} has {count} letters, more than the {rules.max_word_letters} one word may be "
                             "fingerspelled with; skipped (add a sign for it, or raise the per-word cap)")
        if state.letters + count > rules.max_sentence_letters:
            return Gloss(written, NOTICE, code=CANNOT_FINGERSPELL,
                         why=f"this sentence already has {state.letters} fingerspelled letters and {written!r} would "
                             f"add {count}, over the {rules.max_sentence_letters} a sentence may take; skipped "
                             "(split the sentence, or raise the per-sentence cap)")
        ids = tuple(rules.letter_sign(c) for c in read.letters)
        missing = [s for s in dict.fromkeys(ids) if s not in self.vocabulary]
        if missing:
            return Gloss(written, NOTICE, code=CANNOT_FINGERSPELL,
                         why=f"{written!r} cannot be fingerspelled: the lexicon has no letter sign "
                             f"{', '.join(chr(182) + s for s in missing)}; skipped (`signstream lexicon demo DIR` "
                             f"writes procedural letter signs {rules.letter_sign('a')}..{rules.letter_sign('z')})")
        state.letters += count
        letters = "-".join(read.letters.upper())
        if read.replaced:
            replaced = ", ".join(f"{a} as {b.upper()}" for a, b in read.replaced)
            return Gloss(written, SPELLED, ids, f"{why}; spelled {replaced} (no letter signs for them)",
                         code=LETTERS_REPLACED, word=word if word != written else "", letters=letters)
        return Gloss(written, SPELLED, ids, why, word=word if word != written else "", letters=letters)


def _from_part(item: Gloss, written: str, part: str) -> Gloss:
    """An item glossed from part of a word (`do` of `don't`), shown under the whole word."""
    return replace(item, token=written, word=item.word or part)


def gloss_text(text: str, vocabulary: Vocabulary, rules: SpellingRules = SpellingRules()) -> list[Gloss]:
    """The Gloss items of `text` (see Glosser)."""
    return Glosser(vocabulary, rules).gloss(text)


__all__ = ["BY_SIGN_ID", "Glosser", "gloss_text"]
