"""The sign table: sign ID -> (clip key, frame range, fps, gloss), stored as `signs.json`.

    {"format": "signstream-lexicon", "version": 1,
     "signs": [{"sign_id": "hello", "clip": "clips/hello.npz", "start_frame": 0,
                "end_frame": 41, "fps": 30.0, "gloss": "HELLO", "words": ["hi", "hey"]}, ...]}

`words` is optional (rows without it read as before, and a table without any is written byte for
byte as before): English words or phrases the sign also translates, for glossing text
(signstream.text); the gloss and the sign ID are looked up anyway.

Frame ranges are INCLUSIVE at both ends, as in the seed's sign table (`frames[start:end + 1]`).
A bad row never hides the good ones: it is skipped, logged once and kept in `SignTable.rejected`.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from signstream.errors import CorruptClip, InvalidSignId
from signstream.lexicon.clip import check_fps
from signstream.lexicon.sign_id import canonical_sign_id, display_sign_id
from signstream.lexicon.store import check_store_key

log = logging.getLogger(__name__)

TABLE_KEY = "signs.json"
TABLE_FORMAT = "signstream-lexicon"
TABLE_VERSION = 1
MAX_WORDS = 64                  # gloss words per sign
MAX_WORD_LENGTH = 64            # characters of one gloss word or phrase


@dataclass(frozen=True)
class SignEntry:
    """One sign: frames `start_frame..end_frame` (both inclusive) of the clip at `clip_key`."""

    sign_id: str            # canonical (no ¶)
    clip_key: str           # store key of the clip .npz, e.g. "clips/hello.npz"
    start_frame: int        # first frame of the sign, inclusive, >= 0
    end_frame: int          # last frame of the sign, INCLUSIVE, >= start_frame
    fps: float
    gloss: str | None = None
    words: tuple[str, ...] = ()     # gloss words or phrases the sign also translates (optional)

    def __post_init__(self):
        # Validate on construction so the writer can never record what the reader would reject.
        if canonical_sign_id(self.sign_id) != self.sign_id:
            raise ValueError(f"sign_id {self.sign_id!r} is not canonical (strip the ¶, NFC)")
        check_store_key(self.clip_key)
        for name in ("start_frame", "end_frame"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an integer, got {type(value).__name__}")
        if self.start_frame < 0:
            raise ValueError(f"start_frame must be >= 0, got {self.start_frame}")
        if self.end_frame < self.start_frame:
            raise ValueError(f"end_frame {self.end_frame} is before start_frame {self.start_frame}")
        object.__setattr__(self, "fps", check_fps(self.fps))
        if self.gloss is not None and not isinstance(self.gloss, str):
            raise ValueError(f"gloss must be a string or null, got {type(self.gloss).__name__}")
        object.__setattr__(self, "words", check_words(self.words))

    @property
    def num_frames(self) -> int:
        return self.end_frame - self.start_frame + 1


def check_words(words: object) -> tuple[str, ...]:
    """The gloss words as a tuple, or ValueError saying what a row's "words" must be."""
    if isinstance(words, str) or not isinstance(words, (list, tuple)):
        raise ValueError(f"words must be a list of strings, got {type(words).__name__}")
    if len(words) > MAX_WORDS:
        raise ValueError(f"words has {len(words)} entries, at most {MAX_WORDS} are allowed")
    for word in words:
        if not isinstance(word, str) or not word.strip() or len(word) > MAX_WORD_LENGTH:
            raise ValueError(f"each of words must be a non-empty string of at most {MAX_WORD_LENGTH} "
                             f"characters, got {word!r:.80}")
    return tuple(words)


def _entry_from_row(row: object) -> SignEntry:
    """One JSON row -> SignEntry, or ValueError/InvalidSignId saying what is wrong."""
    if not isinstance(row, dict):
        raise ValueError(f"a row must be an object, got {type(row).__name__}")
    missing = [k for k in ("sign_id", "clip", "start_frame", "end_frame", "fps") if k not in row]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)}")
    return SignEntry(
        sign_id=canonical_sign_id(row["sign_id"]),
        clip_key=row["clip"],
        start_frame=row["start_frame"],
        end_frame=row["end_frame"],
        fps=row["fps"],
        gloss=row.get("gloss"),
        words=row.get("words", ()),
    )


def _row_sign_id(row: object) -> str | None:
    """The canonical sign ID a bad row was meant for, when it has a usable one."""
    try:
        return canonical_sign_id(row["sign_id"]) if isinstance(row, dict) else None
    except (InvalidSignId, KeyError):
        return None


def _row_label(index: int, row: object) -> str:
    sign_id = row.get("sign_id") if isinstance(row, dict) else None
    return f"row {index} ({sign_id!r:.60})" if isinstance(sign_id, str) else f"row {index}"


@dataclass(frozen=True)
class SignTable:
    """All signs of a lexicon by canonical ID, plus why any stored rows were skipped."""

    entries: dict[str, SignEntry] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    rejected_ids: dict[str, str] = field(default_factory=dict)     # sign ID of a skipped row -> why

    @classmethod
    def from_entries(cls, entries: Iterable[SignEntry]) -> "SignTable":
        """Later entries with the same sign_id replace earlier ones."""
        return cls({entry.sign_id: entry for entry in entries})

    def merged(self, newer: Iterable[SignEntry]) -> "SignTable":
        """A new table with `newer` added; on the same sign_id the newer entry wins."""
        entries = dict(self.entries)
        entries.update((entry.sign_id, entry) for entry in newer)
        return SignTable(entries)

    @classmethod
    def from_json_bytes(cls, data: bytes) -> "SignTable":
        """Parse signs.json. A file that is not this format raises CorruptClip; bad rows are
        skipped (logged at WARNING, listed in `rejected`)."""
        try:
            document = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CorruptClip(f"{TABLE_KEY} is not valid UTF-8 JSON ({exc}); "
                              "rebuild it with `signstream ingest`") from exc
        if not isinstance(document, dict) or document.get("format") != TABLE_FORMAT:
            raise CorruptClip(f"{TABLE_KEY} is not a SignStream sign table "
                              f"(expected \"format\": \"{TABLE_FORMAT}\"); rebuild it with `signstream ingest`")
        if document.get("version") != TABLE_VERSION:
            raise CorruptClip(f"{TABLE_KEY} has version {document.get('version')!r:.20}, this server reads "
                              f"version {TABLE_VERSION}; upgrade SignStream or re-run `signstream ingest`")
        rows = document.get("signs")
        if not isinstance(rows, list):
            raise CorruptClip(f"{TABLE_KEY} has no \"signs\" list; rebuild it with `signstream ingest`")

        entries: dict[str, SignEntry] = {}
        rejected: list[str] = []
        rejected_ids: dict[str, str] = {}
        for index, row in enumerate(rows):
            try:
                entry = _entry_from_row(row)
                if entry.sign_id in entries:
                    raise ValueError(f"duplicate of sign {display_sign_id(entry.sign_id)}; the first row is kept")
            except (ValueError, InvalidSignId) as exc:
                reason = f"{TABLE_KEY} {_row_label(index, row)} skipped: {getattr(exc, 'message', exc)}"
                log.warning("%s", reason)
                rejected.append(reason)
                if (sign_id := _row_sign_id(row)) is not None and sign_id not in entries:
                    rejected_ids.setdefault(sign_id, reason)
                continue
            entries[entry.sign_id] = entry
        return cls(entries, rejected, {k: v for k, v in rejected_ids.items() if k not in entries})

    def to_json_bytes(self) -> bytes:
        """Deterministic UTF-8 JSON: rows sorted by sign_id, fixed field order."""
        rows = [
            {"sign_id": e.sign_id, "clip": e.clip_key, "start_frame": e.start_frame,
             "end_frame": e.end_frame, "fps": e.fps, "gloss": e.gloss, **({"words": list(e.words)} if e.words else {})}
            for _, e in sorted(self.entries.items())
        ]
        document = {"format": TABLE_FORMAT, "version": TABLE_VERSION, "signs": rows}
        return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, sign_id: str) -> bool:
        return sign_id in self.entries
