"""Fingerspelling: which unknown words are spelled (the policy), with which letter signs, how many
letters a word and a sentence may take, and how letters outside a-z are read.

Policies: `names` (the default) spells names, i.e. capitalized words that do not start a sentence,
and SignMail's spelling marks (`T-O-M`, `#TOM`); `unknown` spells every word without a sign; `never`
spells nothing (a Notice for each such word instead).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from signstream.errors import InvalidArgument, InvalidSignId
from signstream.lexicon.sign_id import canonical_sign_id

NAMES, UNKNOWN, NEVER = "names", "unknown", "never"
POLICIES = (NAMES, UNKNOWN, NEVER)
LETTER_SIGNS = "fs-{}"               # the letter signs' IDs: fs-a .. fs-z
MAX_WORD_LETTERS = 12
MAX_SENTENCE_LETTERS = 40
# Letters that do not decompose into a-z plus accents, and how they are spelled.
_SPELLED_AS = {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
_SILENT = "'-. "                     # marks inside a word (or between number words) that are not spelled


@dataclass(frozen=True)
class SpellingRules:
    policy: str = NAMES
    letter_signs: str = LETTER_SIGNS     # a sign ID with {} where the letter (a-z) goes
    max_word_letters: int = MAX_WORD_LETTERS
    max_sentence_letters: int = MAX_SENTENCE_LETTERS

    @classmethod
    def resolved(cls, policy: str = "", **limits) -> "SpellingRules":
        """Rules from a request's fields: "" takes the default policy."""
        return cls(policy or NAMES, **limits).validated()

    def validated(self) -> "SpellingRules":
        """Self, or InvalidArgument naming the field and the choices."""
        if self.policy not in POLICIES:
            raise InvalidArgument(f"fingerspell {self.policy!r} is not known; choose one of {', '.join(POLICIES)} "
                                  f"(default {NAMES})", field="fingerspell")
        try:
            if self.letter_signs.count("{}") != 1:
                raise InvalidSignId("")
            canonical_sign_id(self.letter_signs.format("a"))
        except InvalidSignId:
            raise InvalidArgument(f"letter signs {self.letter_signs!r} must be a sign ID with {{}} once, where the "
                                  "letter a-z goes (default fs-{})", field="letter_signs") from None
        for name in ("max_word_letters", "max_sentence_letters"):
            if not 1 <= getattr(self, name) <= 1000:
                raise InvalidArgument(f"{name} must be 1..1000, got {getattr(self, name)}", field=name)
        return self

    def letter_sign(self, letter: str) -> str:
        """The canonical sign ID of one letter a-z."""
        return canonical_sign_id(self.letter_signs.format(letter.lower()))


@dataclass(frozen=True)
class Letters:
    letters: str                            # a-z only, lower case
    replaced: tuple[tuple[str, str], ...]   # (as written, spelled as), e.g. ("é", "e")
    unspellable: tuple[str, ...]            # characters with no letter a-z


def read_letters(word: str) -> Letters:
    """The letters a-z a word is spelled with: accents dropped (é as e), a few letters rewritten
    (ß as ss), apostrophes and hyphens skipped; what cannot be read as a-z is listed."""
    letters, replaced, unspellable = [], [], []
    for ch in word:
        low = ch.lower()
        if "a" <= low <= "z":
            letters.append(low)
        elif ch in _SILENT:
            continue
        else:
            base = "".join(c for c in unicodedata.normalize("NFD", low) if not unicodedata.combining(c))
            base = _SPELLED_AS.get(base, base)
            if base and all("a" <= c <= "z" for c in base):
                letters.append(base)
                replaced.append((ch, base))
            elif ch not in unspellable:
                unspellable.append(ch)
    return Letters("".join(letters), tuple(dict.fromkeys(replaced)), tuple(unspellable))
