"""Text -> tokens: NFC, apostrophes made one, words, numbers, SignMail gloss marks, symbols, sentences.

    tokenize("Hi, I'm Tom! 👋 [brow-raise] #TOM T-O-M")

Each token knows its kind and whether it starts a sentence (the first word after `.`, `!`, `?`,
`;` or a line break, or of the text). Punctuation is not a token. The kinds:

- `word`: letters, with apostrophes or hyphens inside (`don't`, `thank-you`, `José`);
- `number`: digits, with `.`, `,` or `:` between groups (`42`, `3.5`, `10:30`);
- `spelled`: SignMail's fingerspelling marks, letters joined by hyphens (`T-O-M`) or after `#` (`#TOM`);
- `bracket`: SignMail's non-manual markers in square brackets (`[brow-raise]`), kept whole;
- `symbol`: anything else that is not punctuation, an emoji with its modifiers as one token.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

WORD, NUMBER, SPELLED, BRACKET, SYMBOL = "word", "number", "spelled", "bracket", "symbol"
APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u2018": "'", "\uff07": "'"})
_LETTER = r"[^\W\d_]"
_PATTERN = re.compile(rf"""
    (?P<bracket>\[[^\[\]\n]{{0,200}}\])
  | (?P<hash>\#{_LETTER}+)
  | (?P<spelled>(?<![\w-]){_LETTER}(?:-{_LETTER})+(?![\w-]))
  | (?P<number>\d+(?:[.,:]\d+)*)
  | (?P<word>{_LETTER}+(?:['-]{_LETTER}+)*)
  | (?P<end>[.!?;\n]+)
  | (?P<symbol>[^\w\s](?:[\u200d\ufe0f\u20e3\U0001F3FB-\U0001F3FF]+[^\w\s]?)*)
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    text: str                 # as written (NFC, apostrophes as ')
    kind: str                 # WORD, NUMBER, SPELLED, BRACKET or SYMBOL
    sentence_start: bool      # the first token of its sentence
    sentence: int             # which sentence of the text, from 0
    start: int = 0            # where it is in the normalized text: text[start:end]
    end: int = 0

    @property
    def letters(self) -> str:
        """A spelled token's letters, upper case (`T-O-M` and `#tom` -> TOM)."""
        return self.text.lstrip("#").replace("-", "").upper()


def normalize(text: str) -> str:
    """NFC, with the typographic apostrophes (’ ʼ ‘ ＇) written as '."""
    return unicodedata.normalize("NFC", text).translate(APOSTROPHES)


def _is_punctuation(text: str) -> bool:
    return all(unicodedata.category(ch).startswith("P") for ch in text)


def tokenize(text: str) -> list[Token]:
    """The tokens of `text` in order (see the module's docstring)."""
    tokens: list[Token] = []
    sentence, start = 0, True
    for match in _PATTERN.finditer(normalize(text)):
        kind, value = match.lastgroup, match.group()
        if kind == "end":
            if not start:
                sentence, start = sentence + 1, True
            continue
        if kind == "symbol" and _is_punctuation(value):
            continue
        if kind == "hash":
            kind = SPELLED
        tokens.append(Token(value, kind, start, sentence, match.start(), match.end()))
        start = False
    return tokens


def is_gloss_sentence(tokens: list[Token]) -> bool:
    """A sentence written as SignMail gloss: two or more words, every word in capitals (`ME NAME #TOM`).
    In one, capital letters mark glosses, not names; names come as `#TOM` or `T-O-M`."""
    words = [t.text for t in tokens if t.kind == WORD]
    return len(words) + sum(t.kind == SPELLED for t in tokens) >= 2 and bool(words) and all(
        w.isupper() for w in words)
