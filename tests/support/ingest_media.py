"""Test media and extractor wrappers for the ingest tests.

Videos are made at test time (never committed) from photos that ship in packages, with a moving
camera: a crop box that slides and zooms linearly from `start` to `end` across the photo.
"""
from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from signstream.render.video import Mp4Writer
from tests.support.photos import PHOTOS


@dataclass(frozen=True)
class Shot:
    """A camera move over a photo: crop boxes (x, y, w, h) in photo pixels, output size, length."""

    photo: str
    start: tuple[int, int, int, int]
    end: tuple[int, int, int, int]
    size: tuple[int, int]             # output (width, height)
    frames: int


SHOTS = {   # every frame keeps the person's head and shoulders in view
    "astronaut": Shot("astronaut", (30, 10, 450, 450), (80, 40, 360, 360), (320, 320), 12),
    "camera": Shot("camera", (0, 0, 500, 500), (40, 10, 420, 420), (288, 288), 12),
    "grace_hopper": Shot("grace_hopper", (0, 0, 480, 600), (50, 20, 400, 500), (256, 320), 12),
}


# Two signs share the astronaut video with overlapping ranges; two run "to the end" (-1 and empty).
MAIN_TABLE = """sign_id,video,start_frame,end_frame,gloss
\u00b6hello,videos/astronaut.mp4,0,5,HELLO
thank-you,videos/astronaut.mp4,4,11,THANK-YOU
camera,videos/camera.mp4,2,-1,
grace,videos/grace_hopper.mp4,0,,GRACE
"""
CLIP_LENGTHS = {"hello": 6, "thank-you": 8, "camera": 10, "grace": 12}
DISTINCT_FRAMES = 12 + 10 + 12          # astronaut 0..11, camera 2..11, grace 0..11


def shot_frames(shot: Shot) -> list[np.ndarray]:
    photo = PHOTOS[shot.photo]()
    out = []
    for i in range(shot.frames):
        t = i / max(1, shot.frames - 1)
        x, y, w, h = (round(a + (b - a) * t) for a, b in zip(shot.start, shot.end))
        out.append(cv2.resize(photo[y:y + h, x:x + w], shot.size, interpolation=cv2.INTER_AREA))
    return out


def write_video(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> bytes:
    """Encode RGB frames as H.264 MP4 at `path`; returns the file's bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames[0].shape[:2]
    with Mp4Writer(path, width, height, fps=fps) as writer:
        for frame in frames:
            writer.write(frame)
    return path.read_bytes()


class CachingExtractor:
    """The real extractor, called once per distinct image; repeats get the first answer.

    Every answer is a real MediaPipe result. Caching makes runs comparable byte for byte whatever
    the extractor's own run-to-run determinism (MediaPipe 0.10.21's Holistic used to carry face state
    from image to image), and keeps the test set fast. The cache is shared through `cache`."""

    def __init__(self, inner, cache: dict[bytes, np.ndarray], version: str | None = None):
        self._inner = inner
        self._cache = cache
        self.version = version or inner.version

    async def extract(self, rgb: np.ndarray) -> np.ndarray:
        key = hashlib.sha1(np.ascontiguousarray(rgb).tobytes() + repr(rgb.shape).encode()).digest()
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache.setdefault(key, await self._inner.extract(rgb))
        return hit.copy()

    async def close(self) -> None:       # the inner extractor belongs to the session fixture
        pass


class CountingExtractor:
    """Counts extract() calls; optionally fails (raises `fail_with`) or signals `reached` after
    `limit` calls, to interrupt a run midway."""

    def __init__(self, inner, *, limit: int | None = None, fail_with: BaseException | None = None):
        self._inner = inner
        self.version = inner.version
        self.calls = 0
        self.limit = limit
        self.fail_with = fail_with
        self.reached = asyncio.Event()

    async def extract(self, rgb: np.ndarray) -> np.ndarray:
        if self.limit is not None and self.calls >= self.limit:
            self.reached.set()
            if self.fail_with is not None:
                raise self.fail_with
            await asyncio.sleep(3600)        # parked until the test cancels the run
        self.calls += 1
        return await self._inner.extract(rgb)

    async def close(self) -> None:
        pass


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under root (relative POSIX path -> bytes), for comparing two lexicons."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def copy_tree(src: Path, dst: Path) -> Path:
    for rel, data in tree_bytes(src).items():
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return dst


def run_cli(argv: list[str]) -> int:
    """`signstream ARGV` in this process; its exit code."""
    from signstream import cli

    return cli.main(argv)
