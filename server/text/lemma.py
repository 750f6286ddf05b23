"""English lemmas: `lemma("went") == "go"`, `lemma("children") == "child"`.

simplemma (a pure-Python lemma table, no model download) rather than spaCy: spaCy's English needs a
model package (en_core_web_sm) that is not on PyPI and cannot be installed offline here, and a
word-by-word lookup needs no tagger. Results are cached: a sentence of known words costs a few
dictionary reads.
"""
from __future__ import annotations

from functools import lru_cache

import simplemma

LANGUAGE = "en"


@lru_cache(maxsize=65536)
def lemma(word: str) -> str:
    """The lemma of one lower-case word (the word itself when simplemma knows none)."""
    return simplemma.lemmatize(word, lang=LANGUAGE).lower()


def warm_up() -> None:
    """Load simplemma's English table now (about 0.2 s), not at the first word a stream glosses."""
    lemma("warming")
