"""English synonyms tried when neither a word nor its lemma has a sign: each names words to look
up instead, in order. Lexicon rows can add their own (`words` in signs.json); this table covers
everyday English that a small lexicon is likely to sign with another word."""
from __future__ import annotations

SYNONYMS: dict[str, tuple[str, ...]] = {
    "hi": ("hello",), "hey": ("hello",), "hiya": ("hello",), "greeting": ("hello",),
    "thanks": ("thank you",), "thank": ("thank you",), "thx": ("thank you",), "cheers": ("thank you",),
    "grateful": ("thank you",),
    "pls": ("please",), "plz": ("please",),
    "yeah": ("yes",), "yep": ("yes",), "yup": ("yes",), "ok": ("yes",), "okay": ("yes",), "sure": ("yes",),
    "nope": ("no",), "nah": ("no",), "not": ("no",), "never": ("no",),
    "assist": ("help",), "aid": ("help",), "support": ("help",),
    "pal": ("friend",), "buddy": ("friend",), "mate": ("friend",), "companion": ("friend",),
    "study": ("learn",), "understand": ("learn",),
    "fine": ("good",), "great": ("good",), "nice": ("good",), "better": ("good",),
    "desire": ("want",), "need": ("want",), "wish": ("want",), "like": ("want",),
    "signing": ("sign",), "sign-language": ("sign",),
    "dawn": ("morning",),
}


def synonyms_of(*forms: str) -> tuple[str, ...]:
    """Synonyms of any of the forms given (the word, then its lemma), without repeats, in order."""
    found: list[str] = []
    for form in forms:
        for synonym in SYNONYMS.get(form, ()):
            if synonym not in found:
                found.append(synonym)
    return tuple(found)
