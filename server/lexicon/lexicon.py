"""The lexicon: sign ID -> keypoint clip, through an LRU cache in front of a Store.

Reading (`Lexicon`) and building (`LexiconWriter`) share one on-store layout:

    signs.json          the sign table (see table.py), written LAST by the writer
    clips/<id>.npz      keypoint clips (see clip.py); a clip may be shared by several signs

Every method blocks on store I/O on a cache miss: async callers use `asyncio.to_thread`.
"""
from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from signstream.config import Settings
from signstream.errors import CorruptClip, LexiconNotFound, StoreUnavailable, UnknownSign
from signstream.lexicon.cache import LRUCache
from signstream.lexicon.clip import decode_clip, encode_clip
from signstream.lexicon.sign_id import SIGN_MARK, canonical_sign_id, display_sign_id
from signstream.lexicon.store import Store, open_store
from signstream.lexicon.table import TABLE_KEY, SignEntry, SignTable

log = logging.getLogger(__name__)

# Sign IDs that are also portable file names everywhere (no case/NFC surprises beyond case).
_PLAIN_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
# A URL quoted by a store's client library (botocore names the endpoint it could not reach).
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"']+")


@dataclass(frozen=True)
class SignClip:
    """The frames of one sign: `frames` is read-only float32 (T, K, 3), T = end - start + 1."""

    sign_id: str            # canonical
    frames: np.ndarray
    fps: float
    gloss: str | None = None

    @property
    def display_id(self) -> str:
        return display_sign_id(self.sign_id)


class Lexicon:
    """Looks signs up in a Store. Thread-safe; the table is loaded once, on first use.

    Store outages: once loaded, the table and the cached clips need no store, so cached signs keep
    streaming while it is down. A read that fails (StoreUnavailable, after the store's own retries)
    is never cached: the next lookup tries again, except that for `retry_after_s` after a failure,
    lookups that need the store fail at once with StoreUnavailable, so a dead store costs a stream
    one timeout rather than one per sign (and threads queued on the table do not each wait it out).
    """

    def __init__(self, store: Store, cache_bytes: int, *, retry_after_s: float = 0.0,
                 clock: Callable[[], float] = time.monotonic):
        if not retry_after_s >= 0:
            raise ValueError(f"retry_after_s must be >= 0, got {retry_after_s}")
        self.store = store
        self.retry_after_s = retry_after_s
        self._clock = clock
        self._cache = LRUCache(cache_bytes)
        self._table: SignTable | None = None
        self._table_lock = threading.Lock()
        self._outage: tuple[float, str] | None = None     # (when a store read last failed, its message)

    @property
    def location(self) -> str:
        """Where the lexicon lives (a directory or s3://bucket/prefix): for the server's log and its
        operator, never for a client."""
        return self.store.describe()

    def _public(self, message: str) -> str:
        """A store's message with the lexicon's location and any URL taken out, so that what reaches a
        client names store keys (`clips/x.npz`), never the server's directory, bucket or endpoint."""
        message = message.replace(self.location + "/", "").replace(self.location, "the lexicon")
        return _URL.sub("(the store's endpoint)", message)

    @property
    def table(self) -> SignTable:
        """The sign table, loaded on first access. A failed load is retried on the next call."""
        table = self._table
        if table is not None:
            return table
        with self._table_lock:
            if self._table is None:
                self._table = self._load_table()
            return self._table

    def _read(self, key: str) -> bytes:
        """store.get(key), keeping track of outages (see the class docstring). Raises what get raises,
        or StoreUnavailable at once while a recent failure is fresh."""
        outage = self._outage
        if outage is not None and self.retry_after_s:
            failed_at, message = outage
            waited = self._clock() - failed_at
            if waited < self.retry_after_s:
                raise StoreUnavailable(
                    f"the lexicon store failed {waited:.1f} s ago and is tried again in "
                    f"{self.retry_after_s - waited:.1f} s (cached signs are still served); it said: {message}")
        try:
            data = self.store.get(key)
        except StoreUnavailable as exc:
            log.warning("lexicon %s: %s", self.location, exc.message)
            public = self._public(exc.message)
            self._outage = (self._clock(), public)
            raise StoreUnavailable(public) from exc
        except KeyError:
            self._outage = None             # the store answered; the key is just not there
            raise
        self._outage = None
        return data

    def _load_table(self) -> SignTable:
        try:
            data = self._read(TABLE_KEY)
        except KeyError:
            log.error("the lexicon at %s has no %s; build one with `signstream lexicon demo DIR` or "
                      "`signstream ingest`, or point --lexicon elsewhere", self.location, TABLE_KEY)
            raise LexiconNotFound(
                f"the server's lexicon has no {TABLE_KEY} (no signs at all): its operator must build one "
                "(`signstream lexicon demo DIR` or `signstream ingest`) or point --lexicon at one"
            ) from None
        table = SignTable.from_json_bytes(data)
        log.info("lexicon %s: %d signs loaded, %d rows rejected",
                 self.store.describe(), len(table.entries), len(table.rejected))
        return table

    def _entry(self, sign_id: str) -> SignEntry:
        entry = self.table.entries.get(sign_id)
        if entry is None and sign_id in self.table.rejected_ids:
            raise CorruptClip(f"{self.table.rejected_ids[sign_id]}; fix that row or re-run `signstream ingest`",
                              sign_id=display_sign_id(sign_id))
        if entry is None:
            raise UnknownSign(
                f"sign {display_sign_id(sign_id)} is not in the lexicon; ListSigns (`signstream lexicon list`) "
                "gives the available signs",
                sign_id=display_sign_id(sign_id),
            )
        return entry

    def cached_clip(self, raw_sign_id: str) -> SignClip | None:
        """The sign's clip if it is in memory (table loaded, clip cached), else None. Never does I/O,
        so async callers can try it on the event loop and send only misses to a thread (where they
        may block on a slow store). Raises InvalidSignId for an ID that cannot be one."""
        sign_id = canonical_sign_id(raw_sign_id)
        table = self._table
        if table is None or sign_id not in table.entries:
            return None
        return self._cache.get(sign_id)

    def get_clip(self, raw_sign_id: str) -> SignClip:
        """Frames of one sign. Raises InvalidSignId (before any I/O), UnknownSign, CorruptClip,
        StoreUnavailable, LexiconNotFound."""
        sign_id = canonical_sign_id(raw_sign_id)
        entry = self._entry(sign_id)
        cached = self._cache.get(sign_id)
        if cached is not None:
            return cached
        # Two threads missing the same sign both load it; harmless, and simpler than per-key locks.
        clip = self._load_clip(entry)
        self._cache.put(sign_id, clip, clip.frames.nbytes)
        return clip

    def _corrupt(self, entry: SignEntry, problem: str) -> CorruptClip:
        """CorruptClip for a sign whose clip `problem` ("is missing ..."): the server's log gets it
        with the lexicon's location, the message (what a client reads) without."""
        message = (f"sign {display_sign_id(entry.sign_id)} refers to clip {entry.clip_key!r}, which {problem}; "
                   "re-run `signstream ingest` for it")
        log.warning("lexicon %s: %s", self.location, message)
        return CorruptClip(self._public(message), sign_id=display_sign_id(entry.sign_id))

    def _load_clip(self, entry: SignEntry) -> SignClip:
        try:
            data = self._read(entry.clip_key)
        except KeyError:
            raise self._corrupt(entry, "is missing from the lexicon") from None
        except ValueError as exc:
            # The table checked the key's syntax; this is e.g. a symlink leaving a local store's root.
            raise self._corrupt(entry, f"cannot be read: {exc}") from exc
        frames, clip_fps = decode_clip(data, entry.clip_key)
        if entry.end_frame >= len(frames):
            raise CorruptClip(
                f"sign {display_sign_id(entry.sign_id)} wants frames {entry.start_frame}..{entry.end_frame} "
                f"of clip {entry.clip_key!r}, which has only {len(frames)}; re-run `signstream ingest` for it",
                sign_id=display_sign_id(entry.sign_id),
            )
        if abs(clip_fps - entry.fps) > 1e-3:
            # The table is authoritative (it is what ingest measured for this sign); say so once per load.
            log.warning("sign %s: table fps %.3f differs from clip %s fps %.3f; using the table's",
                        display_sign_id(entry.sign_id), entry.fps, entry.clip_key, clip_fps)
        # Copy: the slice would otherwise keep the whole (possibly long, shared) video alive.
        frames = frames[entry.start_frame:entry.end_frame + 1].copy()
        frames.setflags(write=False)   # cached and shared between sessions: nobody may edit it
        return SignClip(entry.sign_id, frames, entry.fps, entry.gloss)

    def missing(self, raw_ids: Iterable[str]) -> list[str]:
        """Display IDs (¶x) of the given signs that the table lacks, in order, without repeats.
        Every ID is validated first: one invalid ID raises InvalidSignId."""
        canonical = [canonical_sign_id(raw) for raw in raw_ids]
        entries = self.table.entries
        return [display_sign_id(s) for s in dict.fromkeys(canonical) if s not in entries]

    def list_signs(self, prefix: str = "", limit: int = 0) -> list[str]:
        """Canonical IDs in sorted order starting with `prefix` (¶ optional); limit 0 = all."""
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        if prefix.startswith(SIGN_MARK):
            prefix = prefix[1:]
        ids = sorted(s for s in self.table.entries if s.startswith(prefix))
        return ids[:limit] if limit else ids

    def cache_stats(self) -> dict[str, int]:
        return self._cache.stats()


def open_lexicon(settings: Settings) -> Lexicon:
    """The lexicon the settings point at (directory or s3://); nothing is read until first use.
    An S3 lexicon fails fast for `settings.s3.retry_after_s` after a read failed (see Lexicon)."""
    store = open_store(settings.lexicon, settings.s3)
    retry_after = settings.s3.retry_after_s if settings.lexicon.startswith("s3://") else 0.0
    return Lexicon(store, settings.cache_mib * 1024 * 1024, retry_after_s=retry_after)


def default_clip_key(sign_id: str, data: bytes) -> str:
    """`clips/<id>-<content hash>.npz` for plain ASCII IDs; a hash of the ID otherwise, so no ID can
    make an odd file name.

    The content hash makes keys immutable: re-writing a sign puts its new clip beside the old one,
    and the live table keeps pointing at the old clip until `commit()` switches it. (It also keeps
    `Hello` and `hello` apart on case-insensitive file systems unless their clips are identical.)"""
    content = hashlib.sha256(data).hexdigest()[:16]
    if _PLAIN_KEY_ID.match(sign_id):
        return f"clips/{sign_id}-{content}.npz"
    digest = hashlib.sha256(sign_id.encode("utf-8")).hexdigest()[:32]
    return f"clips/sha256-{digest}-{content}.npz"


class LexiconWriter:
    """Builds or extends a lexicon: clips are written at once, `signs.json` only on `commit()`.

    Readers therefore never see a table naming clips that are not there yet.
    """

    def __init__(self, store: Store):
        self.store = store
        self._pending: dict[str, SignEntry] = {}

    def write_clip(self, clip_key: str, frames: np.ndarray, fps: float) -> None:
        """Store one clip (e.g. a whole source video that several signs will slice)."""
        self.store.put(clip_key, encode_clip(frames, fps))

    def add_entry(self, entry: SignEntry) -> None:
        """Record a sign whose clip is already in the store (see write_clip)."""
        self._pending[entry.sign_id] = entry

    def add_sign(self, sign_id: str, frames: np.ndarray, fps: float, gloss: str | None = None,
                 clip_key: str | None = None, words: tuple[str, ...] = ()) -> SignEntry:
        """Store `frames` (T, K, 3) as the whole clip of one sign and record its entry."""
        canonical = canonical_sign_id(sign_id)
        data = encode_clip(frames, fps)      # validates frames and fps before anything is written
        key = clip_key if clip_key is not None else default_clip_key(canonical, data)
        entry = SignEntry(canonical, key, 0, len(frames) - 1, fps, gloss, tuple(words))
        self.store.put(key, data)
        self.add_entry(entry)
        return entry

    def commit(self) -> SignTable:
        """Merge pending entries into the stored table (new entries win) and write it atomically."""
        try:
            existing = SignTable.from_json_bytes(self.store.get(TABLE_KEY))
        except KeyError:
            existing = SignTable()
        if existing.rejected:
            log.warning("%d unreadable rows of the existing %s in %s are dropped on rewrite",
                        len(existing.rejected), TABLE_KEY, self.store.describe())
        table = existing.merged(self._pending.values())
        self.store.put(TABLE_KEY, table.to_json_bytes())
        log.info("lexicon %s: committed %d new/updated signs, %d in total",
                 self.store.describe(), len(self._pending), len(table.entries))
        self._pending.clear()
        return table
