"""Fixtures for the ingest tests: photo videos, the real extractor, and two reference lexicons."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from signstream.ingest.runner import ingest
from signstream.ingest.table import parse_sign_table
from signstream.lexicon import LocalStore
from tests.support.ingest_media import CLIP_LENGTHS, MAIN_TABLE, SHOTS, CachingExtractor, run_cli, shot_frames, write_video


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory) -> Path:
    """A video store folder: videos/<photo>.mp4 (25 fps, moving camera) and signs.csv. Read-only:
    tests that change it work on a copy."""
    root = tmp_path_factory.mktemp("video_store")
    for name, shot in SHOTS.items():
        write_video(root / "videos" / f"{name}.mp4", shot_frames(shot))
    (root / "signs.csv").write_text(MAIN_TABLE, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def local_extractor():
    """One real in-process MediaPipe extractor for the session (loading it takes ~0.5 s)."""
    from signstream.extract.base import LocalExtractor

    extractor = LocalExtractor()
    yield extractor
    asyncio.run(extractor.close())


@pytest.fixture(scope="session")
def extraction_cache() -> dict:
    return {}


@pytest.fixture()
def cached_extractor(local_extractor, extraction_cache):
    """Factory: the real extractor behind the session's per-image cache, optionally renamed."""
    def make(version: str | None = None) -> CachingExtractor:
        return CachingExtractor(local_extractor, extraction_cache, version)
    return make


@pytest.fixture(scope="session")
def clean_lexicon(video_dir, tmp_path_factory) -> Path:
    """`signstream ingest` run once, as a user would, with the bare in-process extractor."""
    lexicon = tmp_path_factory.mktemp("clean_lexicon")
    code = run_cli(["ingest", "--videos", str(video_dir), "--table", "signs.csv",
                    "--lexicon", str(lexicon), "--no-progress"])
    assert code == 0
    return lexicon


@pytest.fixture(scope="session")
def cached_lexicon(video_dir, local_extractor, extraction_cache, tmp_path_factory) -> Path:
    """The main table ingested through the per-image cache: the reference that interrupted,
    resumed and repeated runs must reproduce byte for byte. Do not modify; copy it."""
    lexicon = tmp_path_factory.mktemp("cached_lexicon")
    table = parse_sign_table(MAIN_TABLE, "signs.csv")
    report = asyncio.run(ingest(LocalStore(video_dir), table, LocalStore(lexicon),
                                CachingExtractor(local_extractor, extraction_cache), progress=False))
    assert report.ok and sorted(report.built) == sorted(CLIP_LENGTHS)
    return lexicon
