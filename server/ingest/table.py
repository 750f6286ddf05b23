"""The ingest sign table: a CSV naming, for every sign, a video in the video store and a frame range.

    sign_id,video,start_frame,end_frame,gloss,words
    ¶hello,videos/hello.mp4,0,41,HELLO,hi|hey
    thank-you,videos/session1.mp4,120,,THANK-YOU      <- empty end_frame (or -1): to the end of the video

A header row is required; its column order is free and `gloss` and `words` are optional (extra
columns are ignored with a warning). `words` lists, separated by `|`, English words or phrases the
sign also translates (signs.json's `words`, used when glossing text). Frame ranges are INCLUSIVE at both ends, as in the lexicon's `signs.json`.

A bad row never hides the good ones: it is reported with its line number and reason and skipped.
When a sign ID appears twice, the later row wins (with a warning): a table that is appended to over
time keeps its newest definition.
"""
from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from signstream.errors import InvalidArgument, InvalidSignId
from signstream.lexicon.sign_id import canonical_sign_id, display_sign_id
from signstream.lexicon.store import check_store_key
from signstream.lexicon.table import check_words

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("sign_id", "video", "start_frame", "end_frame")
OPTIONAL_COLUMNS = ("gloss", "words")
TO_THE_END = -1          # the CSV spelling of an open end, besides an empty cell


@dataclass(frozen=True)
class TableRow:
    """One sign to ingest: frames start_frame..end_frame (INCLUSIVE) of `video`.

    `end_frame is None` means "to the last frame of the video"."""

    sign_id: str              # canonical (no ¶)
    video: str                # key in the video store
    start_frame: int
    end_frame: int | None
    gloss: str | None = None
    line: int = 0             # line of the CSV where the row starts (0: not from a CSV)
    words: tuple[str, ...] = ()   # gloss words or phrases for text input

    def __post_init__(self):
        if canonical_sign_id(self.sign_id) != self.sign_id:
            raise ValueError(f"sign_id {self.sign_id!r} is not canonical (strip the ¶, NFC)")
        check_store_key(self.video)
        if self.start_frame < 0:
            raise ValueError(f"start_frame must be >= 0, got {self.start_frame}")
        if self.end_frame is not None and self.end_frame < self.start_frame:
            raise ValueError(f"end_frame {self.end_frame} is before start_frame {self.start_frame}")


@dataclass(frozen=True)
class ParsedTable:
    """The good rows (one per sign ID, in table order) and what was wrong with the others."""

    rows: tuple[TableRow, ...] = ()
    problems: tuple[str, ...] = ()      # "signs.csv line 7: <reason>; row skipped"
    warnings: tuple[str, ...] = ()      # duplicates and ignored columns: the rows still count

    def __iter__(self) -> Iterator[TableRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def by_video(self) -> dict[str, list[TableRow]]:
        return group_by_video(self.rows)


def group_by_video(rows: Iterable[TableRow]) -> dict[str, list[TableRow]]:
    """Rows grouped by video key (videos in order of first appearance), so each video is decoded
    once. Given the same sign twice, the later row wins (the earlier one is dropped from its group)."""
    latest: dict[str, TableRow] = {}
    for row in rows:
        latest.pop(row.sign_id, None)          # re-insert: order follows the winning row
        latest[row.sign_id] = row
    groups: dict[str, list[TableRow]] = {}
    for row in latest.values():
        groups.setdefault(row.video, []).append(row)
    return groups


def _frame_number(text: str, name: str, allow_open: bool) -> int | None:
    text = text.strip()
    if not text:
        if allow_open:
            return None
        raise ValueError(f"{name} is empty")
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} {text[:20]!r} is not an integer") from None
    if allow_open and value == TO_THE_END:
        return None
    if value < 0:
        raise ValueError(f"{name} {value} is negative" + (" (only -1, meaning 'to the end', is allowed)"
                                                          if allow_open else ""))
    return value


def _row_from_cells(cells: dict[str, str], line: int) -> TableRow:
    """One CSV record -> TableRow, or ValueError / InvalidSignId saying what is wrong."""
    missing = [name for name in ("sign_id", "video", "start_frame") if not cells[name].strip()]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    sign_id = canonical_sign_id(cells["sign_id"].strip())
    video = cells["video"].strip()
    try:
        check_store_key(video)
    except ValueError as exc:
        raise ValueError(f"video: {exc}") from None
    start = _frame_number(cells["start_frame"], "start_frame", allow_open=False)
    end = _frame_number(cells["end_frame"], "end_frame", allow_open=True)
    if end is not None and end < start:
        raise ValueError(f"end_frame {end} is before start_frame {start} (ranges are inclusive)")
    gloss = cells.get("gloss", "").strip() or None
    try:
        words = check_words([w.strip() for w in cells.get("words", "").split("|") if w.strip()])
    except ValueError as exc:
        raise ValueError(f"words: {exc}") from None
    return TableRow(sign_id, video, start, end, gloss, line, words)


def _cells(record: list[str], columns: dict[str, int]) -> dict[str, str]:
    """Record -> {column: text}; short records read as empty cells, surplus non-empty cells are an error."""
    width = max(columns.values()) + 1
    if any(cell.strip() for cell in record[width:]):
        raise ValueError(f"{len(record)} fields, but the header names {width}")
    return {name: (record[i] if i < len(record) else "") for name, i in columns.items()}


def _header(record: list[str], source: str) -> dict[str, int]:
    names = [name.strip().lower() for name in record]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise InvalidArgument(
            f"{source} line 1 must be a header naming the columns {','.join(REQUIRED_COLUMNS)} "
            f"(and optionally gloss, words); it lacks {', '.join(missing)}", field="table")
    repeated = sorted({name for name in names if name and names.count(name) > 1})
    if repeated:
        raise InvalidArgument(f"{source} header names the column(s) {', '.join(repeated)} twice", field="table")
    return {name: index for index, name in enumerate(names) if name}


def parse_sign_table(text: str | bytes, source: str = "sign table") -> ParsedTable:
    """Parse the CSV. Raises InvalidArgument only when the whole file is unusable (not UTF-8, no
    header); every bad row is reported in `problems` (with its line number) and skipped."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")        # -sig: spreadsheets like to add a BOM
        except UnicodeDecodeError as exc:
            raise InvalidArgument(f"{source} is not UTF-8 text: {exc}", field="table") from None
    elif text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems: list[str] = []
    warnings: list[str] = []
    rows: dict[str, TableRow] = {}
    columns: dict[str, int] | None = None
    line = 1                                       # where the next record starts
    while True:
        start_line = line
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:                   # e.g. a stray quote; the reader resumes after it
            line = reader.line_num + 1
            problems.append(f"{source} line {start_line}: malformed CSV ({exc}); row skipped")
            continue
        line = reader.line_num + 1
        if not any(cell.strip() for cell in record):
            continue                               # blank lines are layout, not rows
        if columns is None:
            columns = _header(record, source)
            ignored = sorted(set(columns) - set(REQUIRED_COLUMNS) - set(OPTIONAL_COLUMNS))
            if ignored:
                warnings.append(f"{source}: column(s) {', '.join(ignored)} ignored")
            continue
        try:
            row = _row_from_cells(_cells(record, columns), start_line)
        except (ValueError, InvalidSignId) as exc:
            problems.append(f"{source} line {start_line}: {getattr(exc, 'message', exc)}; row skipped")
            continue
        previous = rows.pop(row.sign_id, None)     # re-insert: the order follows the winning row
        if previous is not None:
            warnings.append(f"{source} line {start_line}: sign {display_sign_id(row.sign_id)} "
                            f"was already defined on line {previous.line}; the later row wins")
        rows[row.sign_id] = row
    if columns is None:
        raise InvalidArgument(f"{source} is empty: it needs a header row "
                              f"{','.join(REQUIRED_COLUMNS)}[,gloss] and one row per sign", field="table")
    for message in (*warnings, *problems):
        log.warning("%s", message)
    return ParsedTable(tuple(rows.values()), tuple(problems), tuple(warnings))
