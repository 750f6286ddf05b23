"""`ingest`: videos in a store + a sign table -> keypoint clips + `signs.json` in the lexicon store.

Per video (each fetched and decoded once, the next one fetched while this one is extracted):

    store.get (thread) -> sha256 -> which signs are not done (state.py) -> decode wanted frames (PyAV,
    thread, one frame at a time) -> extractor.extract (<= `concurrency` calls in flight) -> a sign's
    frames, once all are in, reassembled in order -> clip (LexiconWriter.add_sign, thread)

and every `commit_every` built signs, and at the end (also on an exception or cancellation), the
batch is committed: signs.json, then the ingest manifest. Failures that belong to one video or one
sign (missing, corrupt, range past the end) are reported and skipped; failures of the extractor or
the lexicon store stop the run, after committing what was finished.
"""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import sys
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from tqdm import tqdm

from signstream.errors import CorruptVideo, StoreUnavailable
from signstream.ingest.frames import PendingSign, VideoFrames
from signstream.ingest.report import (
    BAD_KEYPOINTS,
    CORRUPT_VIDEO,
    MISSING_VIDEO,
    RANGE_PAST_END,
    UNREADABLE_VIDEO,
    IngestReport,
    SignFailure,
)
from signstream.ingest.state import BuildRecord, IngestState, SignSource, remove_leftovers
from signstream.ingest.table import ParsedTable, TableRow, group_by_video
from signstream.ingest.video import FrameSpans, VideoReader
from signstream.kernels import layout
from signstream.kernels.mappings import has_person
from signstream.lexicon.lexicon import LexiconWriter
from signstream.lexicon.sign_id import display_sign_id
from signstream.lexicon.store import Store

if TYPE_CHECKING:
    from signstream.extract.base import FrameExtractor

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 2
DEFAULT_COMMIT_EVERY = 25
_T = TypeVar("_T")


async def _in_thread(fn: Callable[..., _T], *args) -> _T:
    """asyncio.to_thread, except that a cancelled caller still waits for the thread to finish before
    the CancelledError goes on: no store write or decode step is left running behind our back."""
    future = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        if not future.cancelled() and future.exception() is not None:
            log.debug("a blocking call finished with %r after its caller was cancelled", future.exception())
        raise


def _read_video(store: Store, key: str) -> tuple[bytes, str]:
    """Blocking: the video's bytes and their sha256 (hex)."""
    data = store.get(key)
    return data, hashlib.sha256(data).hexdigest()


def _check_frame(frame: object, version: str) -> np.ndarray:
    array = np.asarray(frame, dtype=np.float32)
    if array.shape != (layout.NUM_POINTS, 3):
        raise ValueError(f"extractor {version!r} returned an array of shape {array.shape}; "
                         f"a packed frame is ({layout.NUM_POINTS}, 3)")
    return array


class _Run:
    """One ingest run's mutable state. Everything runs on one event loop; the blocking parts
    (store, decoding, writer) run in threads, and the writer only ever under `_write_lock`."""

    def __init__(self, videos: Store, lexicon: Store, extractor: FrameExtractor, state: IngestState,
                 report: IngestReport, bar: tqdm, concurrency: int, commit_every: int):
        self.videos = videos
        self.extractor = extractor
        self.version = str(extractor.version)
        self.state = state
        self.report = report
        self.bar = bar
        self.commit_every = commit_every
        self._writer = LexiconWriter(lexicon)
        self._batch: list[tuple[str, BuildRecord]] = []   # stored clips whose entries await commit
        self._uncommitted = 0                              # entries in the writer (clips + gloss edits)
        self._write_lock = asyncio.Lock()
        self._extract_slots = asyncio.Semaphore(concurrency)
        # Decoding may run ahead of extraction by this many frames, so a free extraction slot never
        # waits for the decoder, and memory stays bounded.
        self._decoded_slots = asyncio.Semaphore(2 * concurrency)

    # -- videos -----------------------------------------------------------------------------------

    async def run(self, groups: list[tuple[str, list[TableRow]]]) -> None:
        prefetch: asyncio.Future | None = None
        try:
            for i, (key, rows) in enumerate(groups):
                fetch = prefetch if prefetch is not None else self._fetch(key)
                prefetch = self._fetch(groups[i + 1][0]) if i + 1 < len(groups) else None
                await self._video(key, rows, fetch)
        finally:
            if prefetch is not None:
                prefetch.cancel()
                await asyncio.gather(prefetch, return_exceptions=True)

    def _fetch(self, key: str) -> asyncio.Future:
        return asyncio.ensure_future(asyncio.to_thread(_read_video, self.videos, key))

    async def _video(self, key: str, rows: list[TableRow], fetch: asyncio.Future) -> None:
        try:
            data, sha256 = await fetch
        except KeyError:
            self._fail(rows, MISSING_VIDEO, f"there is no video {key!r} in {self.videos.describe()}")
            return
        except (StoreUnavailable, ValueError) as exc:
            self._fail(rows, UNREADABLE_VIDEO, getattr(exc, "message", str(exc)))
            return
        todo: list[PendingSign] = []
        for row in rows:
            source = SignSource(key, sha256, row.start_frame, row.end_frame, self.version)
            if self.state.is_done(row.sign_id, source):
                self.report.up_to_date.append(row.sign_id)
                await self._refresh_gloss(row)
            else:
                todo.append(PendingSign(row, source))
        if todo:
            log.info("video %s: building %d sign(s), %d up to date", key, len(todo), len(rows) - len(todo))
            await self._build(key, data, todo)

    async def _build(self, key: str, data: bytes, signs: list[PendingSign]) -> None:
        try:
            reader = await _in_thread(VideoReader, data, key)
        except CorruptVideo as exc:
            self._fail([s.row for s in signs], CORRUPT_VIDEO, exc.message)
            return
        job = VideoFrames(signs)
        try:
            corrupt = await self._extract_video(reader, job)
        finally:
            await _in_thread(reader.close)
        if corrupt is not None:
            self._fail([s.row for s in job.pending], CORRUPT_VIDEO, corrupt.message)
            return
        length = reader.frames_decoded if reader.at_end else None
        if length is not None and reader.frames_in_index > length:
            self.report.warnings.append(f"video {key}: its index lists {reader.frames_in_index} frames but "
                                        f"only {length} decode; it may be truncated")
        complete, past_end = job.finish(length)
        for sign, frames in complete:
            await self._store_sign(sign, frames, reader.fps)
        for sign in past_end:
            row = sign.row
            wanted = f"{row.start_frame}..{row.end_frame if row.end_frame is not None else 'end'}"
            truncated = (f"; its index lists {reader.frames_in_index} frames, so it may be truncated"
                         if reader.frames_in_index > reader.frames_decoded else "")
            self._fail([row], RANGE_PAST_END, f"frames {wanted} wanted, but the video has "
                       f"{reader.frames_decoded} frames (0..{reader.frames_decoded - 1}){truncated}")

    async def _extract_video(self, reader: VideoReader, job: VideoFrames) -> CorruptVideo | None:
        """Decode and extract every wanted frame. A video that turns out corrupt midway is returned
        (after the frames already decoded are extracted); any other error propagates."""
        wanted = FrameSpans.of((s.row.start_frame, s.row.end_frame) for s in job.pending)
        expected = wanted.count(reader.frames_in_index or None)
        if expected:
            self.bar.total = (self.bar.total or 0) + expected
            self.bar.refresh()
        frames = reader.frames(wanted)
        tasks: set[asyncio.Task] = set()
        corrupt: CorruptVideo | None = None
        try:
            while True:
                await self._decoded_slots.acquire()
                try:
                    item = await _in_thread(next, frames, None)
                except CorruptVideo as exc:
                    corrupt = exc
                    item = None
                except BaseException:
                    self._decoded_slots.release()
                    raise
                if item is None:
                    self._decoded_slots.release()
                    break
                task = asyncio.create_task(self._extract_frame(job, reader.fps, *item))
                # A done-callback, not a finally: it also runs for a task cancelled before it started.
                task.add_done_callback(lambda _: self._decoded_slots.release())
                tasks.add(task)
                for finished in [t for t in tasks if t.done()]:
                    tasks.discard(finished)
                    finished.result()          # an extraction or store failure stops the run
            while tasks:
                done, tasks = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    task.result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            frames.close()                     # no thread is inside the generator any more
        return corrupt

    async def _extract_frame(self, job: VideoFrames, fps: float, index: int, rgb: np.ndarray) -> None:
        async with self._extract_slots:
            frame = await self.extractor.extract(rgb)
        del rgb
        frame = _check_frame(frame, self.version)
        self.report.frames_extracted += 1
        self.bar.update(1)
        for sign, frames in job.add(index, frame):
            await self._store_sign(sign, frames, fps)

    # -- writing ------------------------------------------------------------------------------------

    def _add_sign_blocking(self, sign: PendingSign, frames: np.ndarray, fps: float) -> None:
        """Store the clip and queue its entry and manifest record together (under _write_lock)."""
        entry = self._writer.add_sign(sign.row.sign_id, frames, fps, gloss=sign.row.gloss, words=sign.row.words)
        self._batch.append((sign.row.sign_id, BuildRecord(sign.source, entry.clip_key)))
        self._uncommitted += 1

    async def _store_sign(self, sign: PendingSign, frames: np.ndarray, fps: float) -> None:
        row = sign.row
        if not any(has_person(frame) for frame in frames):
            self.report.warnings.append(f"{display_sign_id(row.sign_id)} ({row.video}): no person found "
                                        f"in any of its {len(frames)} frames; kept as extracted")
            log.warning("%s", self.report.warnings[-1])
        async with self._write_lock:
            try:
                await _in_thread(self._add_sign_blocking, sign, frames, fps)
            except ValueError as exc:          # encode_clip's checks, e.g. NaN from the extractor
                self._fail([row], BAD_KEYPOINTS, str(exc))
                return
            self.report.built.append(row.sign_id)
            if self._uncommitted >= self.commit_every:
                await self._commit_locked()

    async def _refresh_gloss(self, row: TableRow) -> None:
        """An up-to-date sign whose gloss or words changed in the table needs a new entry, not a new clip."""
        entry = self.state.table.entries.get(row.sign_id)
        if entry is None or (entry.gloss, entry.words) == (row.gloss, row.words):
            return
        async with self._write_lock:
            self._writer.add_entry(dataclasses.replace(entry, gloss=row.gloss, words=row.words))
            self._uncommitted += 1
            if self._uncommitted >= self.commit_every:
                await self._commit_locked()

    async def _commit_locked(self) -> None:
        if not self._uncommitted:
            return
        batch, self._batch, self._uncommitted = self._batch, [], 0
        await _in_thread(self.state.commit_batch, self._writer, batch)

    async def commit(self) -> None:
        async with self._write_lock:
            await self._commit_locked()

    def _fail(self, rows: Iterable[TableRow], code: str, reason: str) -> None:
        for row in rows:
            failure = SignFailure(row.sign_id, row.video, code, reason)
            self.report.failed.append(failure)
            log.warning("skipped %s", failure)


async def ingest(
    videos: Store,
    table_rows: ParsedTable | Iterable[TableRow],
    lexicon: Store,
    extractor: FrameExtractor,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    commit_every: int = DEFAULT_COMMIT_EVERY,
    progress: bool = True,
) -> IngestReport:
    """Build or update the lexicon in `lexicon` from the videos in `videos`.

    `table_rows`: the parsed CSV (its problems are carried into the report) or any TableRows (the
    same sign twice: the later row wins). Signs already built from the same video bytes, range and
    extractor version are skipped. The extractor is not closed here: it belongs to the caller.
    Raises what the extractor or the lexicon store raise, after committing every finished sign.
    Each skipped sign and warning is logged once, when it is found, and kept in the report; callers
    show the report's summary, not its items again.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    if commit_every < 1:
        raise ValueError(f"commit_every must be >= 1, got {commit_every}")
    started = time.monotonic()
    report = IngestReport()
    if isinstance(table_rows, ParsedTable):
        report.table_problems.extend(table_rows.problems)
        report.warnings.extend(table_rows.warnings)
    groups = list(group_by_video(table_rows).items())
    await _in_thread(remove_leftovers, lexicon)          # a killed run's half-written temp files
    state = await _in_thread(IngestState.load, lexicon)
    bar = tqdm(total=None, unit="frame", desc="ingest", dynamic_ncols=True,
               disable=not (progress and sys.stderr.isatty()))
    run = _Run(videos, lexicon, extractor, state, report, bar, concurrency, commit_every)
    try:
        await run.run(groups)
    except BaseException:
        # Keep what is finished; a failing commit must not hide why the run stopped.
        try:
            await run.commit()
        except Exception:
            log.exception("could not commit the signs finished before the run stopped")
        else:
            log.warning("ingest stopped; %d signs built before it are committed", len(report.built))
        raise
    else:
        await run.commit()
    finally:
        bar.close()
        report.seconds = time.monotonic() - started
    return report                        # the caller shows its summary (the CLI prints it)
