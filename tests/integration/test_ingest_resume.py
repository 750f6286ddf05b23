"""Ingest is idempotent and resumable: re-runs extract only what changed, an interrupted run (error,
cancellation, or a kill at any store write) loses nothing, corrupts nothing and redoes nothing finished.

Runs go through the real extractor behind a per-image cache (see ingest_media.CachingExtractor), so
results can be compared byte for byte with the reference lexicon `cached_lexicon`.
"""
from __future__ import annotations

import asyncio
import json
import random
import shutil

import numpy as np
import pytest

from signstream.ingest.runner import ingest
from signstream.ingest.state import MANIFEST_KEY
from signstream.ingest.table import parse_sign_table
from signstream.ingest.video import decode_frames
from signstream.lexicon import LocalStore, SignTable, decode_clip
from signstream.lexicon.table import TABLE_KEY
from tests.support.ingest_media import (
    CLIP_LENGTHS,
    DISTINCT_FRAMES,
    MAIN_TABLE,
    SHOTS,
    CountingExtractor,
    copy_tree,
    shot_frames,
    tree_bytes,
    write_video,
)

TABLE = parse_sign_table(MAIN_TABLE, "signs.csv")


def run(videos, lexicon, extractor, table=TABLE, **kwargs):
    kwargs.setdefault("progress", False)
    return asyncio.run(ingest(LocalStore(videos), table, LocalStore(lexicon), extractor, **kwargs))


def assert_consistent(root):
    """What a reader may rely on at any moment: signs.json parses and names only existing clips; the
    manifest only claims signs that signs.json holds with the same clip."""
    if not (root / TABLE_KEY).exists():
        assert not (root / MANIFEST_KEY).exists()
        return {}
    table = SignTable.from_json_bytes((root / TABLE_KEY).read_bytes())
    assert table.rejected == []
    for entry in table.entries.values():
        assert (root / entry.clip_key).is_file(), entry
    if (root / MANIFEST_KEY).exists():
        manifest = json.loads((root / MANIFEST_KEY).read_text())["signs"]
        for sign_id, record in manifest.items():
            assert table.entries[sign_id].clip_key == record["clip_key"]
    return table.entries


@pytest.fixture()
def lexicon(cached_lexicon, tmp_path):
    return copy_tree(cached_lexicon, tmp_path / "lexicon")


def test_second_run_extracts_nothing_and_writes_nothing(video_dir, lexicon, cached_extractor):
    before = tree_bytes(lexicon)
    counter = CountingExtractor(cached_extractor())
    report = run(video_dir, lexicon, counter)
    assert counter.calls == 0 and report.frames_extracted == 0
    assert report.built == [] and sorted(report.up_to_date) == sorted(CLIP_LENGTHS) and report.ok
    assert tree_bytes(lexicon) == before


def test_changed_video_bytes_rebuild_only_its_signs(video_dir, lexicon, cached_extractor, tmp_path):
    videos = copy_tree(video_dir, tmp_path / "videos")
    # Same pictures, new encoding at 30 fps: new bytes, new frames.
    write_video(videos / "videos" / "astronaut.mp4", shot_frames(SHOTS["astronaut"]), fps=30.0)
    counter = CountingExtractor(cached_extractor())
    report = run(videos, lexicon, counter)
    assert sorted(report.built) == ["hello", "thank-you"] and sorted(report.up_to_date) == ["camera", "grace"]
    assert counter.calls == 12                   # astronaut frames 0..11, each once
    entries = assert_consistent(lexicon)
    assert entries["hello"].fps == 30.0 and entries["camera"].fps == 25.0


def test_changed_extractor_version_rebuilds_everything(video_dir, lexicon, cached_extractor):
    counter = CountingExtractor(cached_extractor(version="holistic/test-retrained/2"))
    report = run(video_dir, lexicon, counter)
    assert sorted(report.built) == sorted(CLIP_LENGTHS) and report.up_to_date == []
    assert counter.calls == DISTINCT_FRAMES
    manifest = json.loads((lexicon / MANIFEST_KEY).read_text())["signs"]
    assert {r["extractor_version"] for r in manifest.values()} == {"holistic/test-retrained/2"}


def test_changed_range_rebuilds_that_sign_and_gloss_edits_need_no_extraction(video_dir, lexicon, cached_extractor):
    table = parse_sign_table(MAIN_TABLE.replace("camera,videos/camera.mp4,2,-1,", "camera,videos/camera.mp4,3,7,CAM")
                             .replace("0,5,HELLO", "0,5,HI"))
    counter = CountingExtractor(cached_extractor())
    report = run(video_dir, lexicon, counter, table=table)
    assert report.built == ["camera"] and counter.calls == 5
    entries = assert_consistent(lexicon)
    assert entries["camera"].num_frames == 5 and entries["camera"].gloss == "CAM"
    assert entries["hello"].gloss == "HI"
    counter = CountingExtractor(cached_extractor())
    assert run(video_dir, lexicon, counter, table=table).built == [] and counter.calls == 0


def unfinished_frames(done: set[str]) -> int:
    """Distinct frames the signs outside `done` need (per video, ranges as in MAIN_TABLE)."""
    need = {"hello": ("a", range(0, 6)), "thank-you": ("a", range(4, 12)),
            "camera": ("c", range(2, 12)), "grace": ("g", range(0, 12))}
    return len({(video, i) for sign, (video, frames) in need.items() if sign not in done for i in frames})


@pytest.mark.parametrize("commit_every", [1, 100])     # 100: only the final commit saves the finished signs
@pytest.mark.parametrize("how", ["error", "cancel"])
def test_interrupted_run_resumes_without_redoing_finished_signs(video_dir, cached_lexicon, cached_extractor,
                                                                tmp_path, how, commit_every):
    lexicon = tmp_path / "lexicon"
    limit = 16                                   # astronaut done (12 frames), camera midway
    if how == "error":
        failing = CountingExtractor(cached_extractor(), limit=limit, fail_with=RuntimeError("extractor died"))
        with pytest.raises(RuntimeError, match="extractor died"):
            run(video_dir, lexicon, failing, commit_every=commit_every)
    else:
        parking = CountingExtractor(cached_extractor(), limit=limit)

        async def cancel_midway():
            task = asyncio.create_task(ingest(LocalStore(video_dir), TABLE, LocalStore(lexicon), parking,
                                              commit_every=commit_every, progress=False))
            await parking.reached.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(cancel_midway())
    entries = assert_consistent(lexicon)
    assert set(entries) == {"hello", "thank-you"}            # finished before the interruption

    counter = CountingExtractor(cached_extractor())
    report = run(video_dir, lexicon, counter)
    assert sorted(report.up_to_date) == ["hello", "thank-you"] and sorted(report.built) == ["camera", "grace"]
    assert counter.calls == unfinished_frames({"hello", "thank-you"})
    assert tree_bytes(lexicon) == tree_bytes(cached_lexicon)


class Killed(BaseException):
    """The process dies: nothing after it runs (not even `except Exception` handlers)."""


class DyingStore(LocalStore):
    """Dies at the n-th put (that put does not happen, nor anything after it), checking the
    lexicon's consistency before every write it lets through."""

    def __init__(self, root, die_at: int):
        super().__init__(root)
        self.die_at = die_at
        self.puts = 0
        self.dead = False

    def put(self, key, data):
        if self.dead or self.puts == self.die_at:
            self.dead = True
            raise Killed(key)
        assert_consistent(self.root)
        self.puts += 1
        super().put(key, data)
        assert_consistent(self.root)


SMALL_TABLE = parse_sign_table("\n".join(MAIN_TABLE.splitlines()[:3] + [MAIN_TABLE.splitlines()[4]]))


def test_a_kill_at_any_store_write_is_recovered_exactly(video_dir, cached_extractor, tmp_path):
    reference = tmp_path / "reference"
    healthy = DyingStore(reference, die_at=-1)
    assert asyncio.run(ingest(LocalStore(video_dir), SMALL_TABLE, healthy, cached_extractor(),
                              commit_every=1, progress=False)).ok
    total_puts = healthy.puts
    assert total_puts == 9                       # 3 x (clip, signs.json, manifest)
    expected = tree_bytes(reference)
    for die_at in range(total_puts):
        lexicon = tmp_path / f"killed-{die_at}"
        with pytest.raises(Killed):
            asyncio.run(ingest(LocalStore(video_dir), SMALL_TABLE, DyingStore(lexicon, die_at),
                               cached_extractor(), commit_every=1, progress=False))
        entries = assert_consistent(lexicon)
        manifest = json.loads((lexicon / MANIFEST_KEY).read_text())["signs"] if (lexicon / MANIFEST_KEY).exists() else {}
        counter = CountingExtractor(cached_extractor())
        report = run(video_dir, lexicon, counter, table=SMALL_TABLE)
        assert sorted(report.up_to_date) == sorted(manifest), die_at
        assert set(report.built) == {"hello", "thank-you", "grace"} - set(manifest), die_at
        assert set(entries) >= set(manifest)
        assert tree_bytes(lexicon) == expected, die_at
        shutil.rmtree(lexicon)


class ScramblingExtractor:
    """Finishes calls in random order and records how many are in flight at once."""

    def __init__(self, inner, seed: int = 0):
        self._inner = inner
        self.version = inner.version
        self._random = random.Random(seed)
        self.in_flight = 0
        self.max_in_flight = 0

    async def extract(self, rgb):
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self._random.uniform(0, 0.01))
            return await self._inner.extract(rgb)
        finally:
            self.in_flight -= 1

    async def close(self):
        pass


def test_concurrency_is_bounded_and_frames_come_back_in_order(video_dir, cached_extractor, tmp_path):
    extractor = ScramblingExtractor(cached_extractor())
    report = run(video_dir, tmp_path / "lexicon", extractor, concurrency=3)
    assert report.ok and extractor.max_in_flight == 3
    store = LocalStore(tmp_path / "lexicon")
    table = SignTable.from_json_bytes(store.get(TABLE_KEY))
    clip, _ = decode_clip(store.get(table.entries["thank-you"].clip_key), "thank-you")
    frames, _, _ = decode_frames((video_dir / "videos/astronaut.mp4").read_bytes(), "a", [(4, 11)])

    async def in_order():
        inner = cached_extractor()
        return np.stack([await inner.extract(frames[i]) for i in range(4, 12)])

    np.testing.assert_array_equal(clip, asyncio.run(in_order()))
