"""What glossing makes of each token: a sign, fingerspelled letters, a dropped word, or a Notice.

A `Gloss` with a `code` is also a Notice a stream sends (a spelled word whose letters were replaced,
a number spelled as words); `why` always says how the token was read, or what was wrong and what to do.
"""
from __future__ import annotations

from dataclasses import dataclass

SIGN, SPELLED, DROPPED, NOTICE = "sign", "spelled", "dropped", "notice"
KINDS = (SIGN, SPELLED, DROPPED, NOTICE)

# Notice codes
UNKNOWN_WORD = "UNKNOWN_WORD"               # no sign, and the fingerspelling policy does not spell it
CANNOT_FINGERSPELL = "CANNOT_FINGERSPELL"   # to be spelled, but it cannot be (letters, caps, letter signs)
LETTERS_REPLACED = "LETTERS_REPLACED"       # spelled, some letters replaced (é as E)
NUMBER_SPELLED = "NUMBER_SPELLED"           # a number without number signs, spelled as words
UNKNOWN_NUMBER = "UNKNOWN_NUMBER"           # a number without number signs that is not spelled
UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"           # an emoji or symbol without a sign
EMPTY_TEXT = "EMPTY_TEXT"                   # a text with nothing to sign
TEXT_TOO_LONG = "TEXT_TOO_LONG"             # a text over the length one message may have


@dataclass(frozen=True)
class Text:
    """A text a stream is sent to sign (SynthesizeRequest.text), as the streaming core carries it."""

    text: str


@dataclass(frozen=True)
class Gloss:
    token: str                       # the text it came from, as written
    kind: str                        # SIGN, SPELLED, DROPPED or NOTICE
    sign_ids: tuple[str, ...] = ()   # SIGN: the sign (several for digits); SPELLED: the letter signs
    why: str = ""
    code: str = ""                   # a Notice code (always for NOTICE, sometimes for SPELLED)
    word: str = ""                   # the form looked up, where it differs from the token ("do" of "don't")
    letters: str = ""                # SPELLED: the letters, e.g. "T-O-M"
    span: tuple[int, int] = (0, 0)   # the token(s) it came from: normalize(text)[span[0]:span[1]]

    def describe(self) -> str:
        """One tab-separated line: token, kind, then the signs or letters and why (text2signs prints it)."""
        token = self.token if not self.word or self.word == self.token else f"{self.token} ({self.word})"
        shown = {SIGN: " ".join("\u00b6" + s for s in self.sign_ids),
                 SPELLED: f"{self.letters} = " + " ".join("\u00b6" + s for s in self.sign_ids),
                 DROPPED: "", NOTICE: self.code}[self.kind]
        why = f"{self.code}: {self.why}" if self.code and self.kind != NOTICE else self.why
        return "\t".join(part for part in (token, self.kind, shown, why) if part)
