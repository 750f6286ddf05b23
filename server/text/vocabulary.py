"""What a lexicon's sign table can translate: lookup keys (sign IDs, glosses and the rows' gloss
words, each made a key) -> sign ID, and the longest phrase any of them has.

A key is lower case with hyphens and underscores read as spaces, so the sign `thank-you`, the gloss
`THANK-YOU` and the words `thank you` are one key. Where two signs give the same key, a sign ID beats
a gloss, a gloss beats a gloss word, and among equals the first sign ID in sorted order wins.
"""
from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from signstream.lexicon.table import SignEntry, SignTable

BY_SIGN_ID, BY_GLOSS, BY_WORD = "sign ID", "gloss", "gloss word"
_SEPARATORS = re.compile(r"[\s_-]+")
_CACHED_TABLES = 8


def key_of(text: str) -> str:
    """The lookup key of a word or phrase: NFC, lower case, words separated by one space."""
    return _SEPARATORS.sub(" ", unicodedata.normalize("NFC", text).casefold()).strip()


@dataclass(frozen=True)
class Match:
    sign_id: str        # canonical
    by: str             # BY_SIGN_ID, BY_GLOSS or BY_WORD: which of the sign's names matched


class Vocabulary:
    """Lookup keys of some signs (see the module's docstring)."""

    def __init__(self, entries: Iterable[SignEntry]):
        entries = sorted(entries, key=lambda e: e.sign_id)
        self.sign_ids = frozenset(e.sign_id for e in entries)
        self._keys: dict[str, Match] = {}
        for by, names in ((BY_SIGN_ID, lambda e: (e.sign_id,)), (BY_GLOSS, lambda e: (e.gloss or "",)),
                          (BY_WORD, lambda e: e.words)):
            for entry in entries:
                for name in names(entry):
                    if (key := key_of(name)) and key not in self._keys:
                        self._keys[key] = Match(entry.sign_id, by)
        self.longest_phrase = max((k.count(" ") + 1 for k in self._keys), default=1)
        self._glosses = tuple((e.sign_id, e.gloss or "") for e in entries)

    def glossary(self) -> tuple[tuple[str, str], ...]:
        """(sign ID, gloss) of every sign, sorted by sign ID."""
        return self._glosses

    @classmethod
    def of_table(cls, table: SignTable) -> "Vocabulary":
        return cls(table.entries.values())

    def find(self, text: str) -> Match | None:
        """The sign a word or phrase names, or None."""
        return self._keys.get(key_of(text))

    def __contains__(self, sign_id: str) -> bool:
        return sign_id in self.sign_ids


_cache: OrderedDict[int, tuple[SignTable, Vocabulary]] = OrderedDict()
_cache_lock = threading.Lock()


def vocabulary_of(table: SignTable) -> Vocabulary:
    """The table's Vocabulary, made once per table (a lexicon keeps its table once loaded)."""
    with _cache_lock:
        hit = _cache.get(id(table))
        if hit is not None and hit[0] is table:
            _cache.move_to_end(id(table))
            return hit[1]
    vocabulary = Vocabulary.of_table(table)
    with _cache_lock:
        _cache[id(table)] = (table, vocabulary)
        while len(_cache) > _CACHED_TABLES:
            _cache.popitem(last=False)
    return vocabulary
