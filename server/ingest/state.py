"""What ingest has already built, so a re-run only does what changed and a killed run resumes.

The ingest manifest lives in the lexicon store beside `signs.json`:

    ingest/manifest.json
    {"format": "signstream-ingest-manifest", "version": 1,
     "signs": {"hello": {"video": "videos/a.mp4", "video_sha256": "<64 hex>", "start_frame": 0,
                         "end_frame": 41, "extractor_version": "holistic/...", "clip_key": "clips/hello-….npz"},
               ...}}

`end_frame` is the table's value (null = "to the end of the video"), so editing the range rebuilds
the sign. A sign is DONE only if all three agree: its manifest record matches what the table asks
for now, the live `signs.json` has the sign with that record's clip key, and that clip exists.

Writes happen in this order, each one atomic (Store.put): clips -> `signs.json`
(LexiconWriter.commit) -> manifest. A kill between any two leaves a lexicon that readers can use
(the table never names a missing clip) and, at worst, a sign that the next run rebuilds: the
manifest never claims a sign that `signs.json` lacks, and the three-way check catches the rest.
A kill inside a put leaves only a hidden temp file (never a partial file under a final name);
the next run deletes those first (`remove_leftovers`). Clip keys hash the clip's content, so a
rebuilt sign overwrites an orphan clip of the killed run with the same bytes.
"""
from __future__ import annotations

import json
import logging
import posixpath
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from signstream.errors import CorruptClip
from signstream.lexicon.lexicon import LexiconWriter
from signstream.lexicon.store import Store
from signstream.lexicon.table import TABLE_KEY, SignTable

log = logging.getLogger(__name__)

MANIFEST_KEY = "ingest/manifest.json"
MANIFEST_FORMAT = "signstream-ingest-manifest"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class SignSource:
    """Everything a sign's clip is computed from: equal sources give equal clips."""

    video: str
    video_sha256: str
    start_frame: int
    end_frame: int | None          # as the table gives it; None = to the end of the video
    extractor_version: str


@dataclass(frozen=True)
class BuildRecord:
    """A built sign: its source and the clip that holds it."""

    source: SignSource
    clip_key: str

    def to_json(self) -> dict:
        return {**asdict(self.source), "clip_key": self.clip_key}

    @classmethod
    def from_json(cls, row: object) -> "BuildRecord":
        if not isinstance(row, dict):
            raise ValueError(f"a record must be an object, got {type(row).__name__}")
        try:
            source = SignSource(row["video"], row["video_sha256"], row["start_frame"], row["end_frame"],
                                row["extractor_version"])
            clip_key = row["clip_key"]
        except KeyError as exc:
            raise ValueError(f"missing field {exc}") from None
        for name in ("video", "video_sha256", "extractor_version"):
            if not isinstance(getattr(source, name), str):
                raise ValueError(f"{name} must be a string")
        if not isinstance(clip_key, str):
            raise ValueError("clip_key must be a string")
        if not _is_int(source.start_frame) or not (source.end_frame is None or _is_int(source.end_frame)):
            raise ValueError("start_frame/end_frame must be integers (end_frame may be null)")
        return cls(source, clip_key)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def manifest_from_json_bytes(data: bytes) -> dict[str, BuildRecord]:
    """Parse the manifest. It is only a cache of what was built: anything unreadable is dropped
    (with a warning) and the signs it described are simply rebuilt."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("%s is unreadable (%s); every sign will be rebuilt", MANIFEST_KEY, exc)
        return {}
    if (not isinstance(document, dict) or document.get("format") != MANIFEST_FORMAT
            or document.get("version") != MANIFEST_VERSION or not isinstance(document.get("signs"), dict)):
        log.warning("%s is not a version-%d ingest manifest; every sign will be rebuilt",
                    MANIFEST_KEY, MANIFEST_VERSION)
        return {}
    records: dict[str, BuildRecord] = {}
    for sign_id, row in document["signs"].items():
        try:
            records[sign_id] = BuildRecord.from_json(row)
        except ValueError as exc:
            log.warning("%s: record of %r dropped (%s); that sign will be rebuilt", MANIFEST_KEY, sign_id, exc)
    return records


def manifest_to_json_bytes(records: dict[str, BuildRecord]) -> bytes:
    """Deterministic UTF-8 JSON, signs sorted."""
    document = {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION,
                "signs": {sign_id: records[sign_id].to_json() for sign_id in sorted(records)}}
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def remove_leftovers(lexicon: Store) -> list[str]:
    """Delete what a killed run left half-written: the temp files of a LocalStore's unfinished puts
    (S3 puts are all-or-nothing and leave none). Returns the keys removed. Ingest assumes it is its
    lexicon's only writer (two writers at once would lose each other's signs.json entries anyway),
    so no live put owns them. Blocks."""
    remove = getattr(lexicon, "remove_partials", None)
    removed = remove() if remove is not None else []
    if removed:
        log.warning("removed %d half-written file(s) a stopped run left in %s: %s", len(removed),
                    lexicon.describe(), ", ".join(removed[:5]) + (" ..." if len(removed) > 5 else ""))
    return removed


class IngestState:
    """The manifest, the live sign table and which recorded clips exist, as loaded at the start
    of a run (and kept current by `commit_batch`). Every method that touches the store blocks."""

    def __init__(self, lexicon: Store, records: dict[str, BuildRecord], table: SignTable,
                 existing_clips: set[str]):
        self.lexicon = lexicon
        self.records = records
        self.table = table
        self._existing_clips = existing_clips

    @classmethod
    def load(cls, lexicon: Store) -> "IngestState":
        """Read manifest and table, and list the directories the recorded clips live in (one listing
        per directory instead of one request per clip)."""
        try:
            records = manifest_from_json_bytes(lexicon.get(MANIFEST_KEY))
        except KeyError:
            records = {}
        try:
            table = SignTable.from_json_bytes(lexicon.get(TABLE_KEY))
        except KeyError:
            table = SignTable()
        except CorruptClip as exc:
            # LexiconWriter.commit would fail on it too; better to stop before any extraction.
            raise CorruptClip(f"the lexicon at {lexicon.describe()}: {exc.message}") from exc
        folders = {posixpath.dirname(r.clip_key) for r in records.values()}
        existing: set[str] = set()
        for folder in sorted(folders):
            existing.update(lexicon.list_keys(f"{folder}/" if folder else ""))
        return cls(lexicon, records, table, existing)

    def is_done(self, sign_id: str, source: SignSource) -> bool:
        """Built from exactly this source, live in signs.json, clip present."""
        record = self.records.get(sign_id)
        if record is None or record.source != source:
            return False
        entry = self.table.entries.get(sign_id)
        return entry is not None and entry.clip_key == record.clip_key and record.clip_key in self._existing_clips

    def commit_batch(self, writer: LexiconWriter, built: Iterable[tuple[str, BuildRecord]]) -> None:
        """After the batch's clips are stored: commit the writer's pending entries (signs.json),
        THEN record the batch in the manifest. Blocks."""
        built = list(built)
        self.table = writer.commit()
        if not built:
            return
        for sign_id, record in built:
            self.records[sign_id] = record
            self._existing_clips.add(record.clip_key)
        self.lexicon.put(MANIFEST_KEY, manifest_to_json_bytes(self.records))
