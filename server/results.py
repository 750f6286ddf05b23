"""Write a synthesized sentence the way the seed did, atomically.

    out_video.mp4                 H.264 (yuv420p) video: skeleton frames (RGB colours as DWPose draws
                                  them) or NEURAL ones
    normalized_keypoints.pickle   the seed's list of frame dicts (written, never read back by us)
    normalized_keypoints.npz      keypoints (N, K, 3) float32, kinds (N,), sign_ids (N,), fps, size

Everything is written into a hidden temporary folder inside the output folder and moved into place
only when all three files are complete, so a failure never leaves half-written results.
"""
from __future__ import annotations

import logging
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from signstream.frame_writer import write_all
from signstream.kernels import layout as L
from signstream.kernels.seedformat import to_seed_frames
from signstream.names import Renderer
from signstream.pipeline import Chunk
from signstream.render.encoder import Mp4FileEncoder
from signstream.render.renderer import Renderer as RendererSeam
from signstream.render.renderer import open_renderer

log = logging.getLogger(__name__)

VIDEO_NAME = "out_video.mp4"
PICKLE_NAME = "normalized_keypoints.pickle"
NPZ_NAME = "normalized_keypoints.npz"


@dataclass(frozen=True)
class SentenceFrames:
    """A whole sentence flattened: frames (N, K, 3), kinds (N,) uint8, sign_ids (N,) str."""

    frames: np.ndarray
    kinds: np.ndarray
    sign_ids: np.ndarray

    @classmethod
    def from_chunks(cls, chunks: Sequence[Chunk]) -> "SentenceFrames":
        if not chunks:
            raise ValueError("a sentence needs at least one sign")
        return cls(
            frames=np.concatenate([c.frames for c in chunks]),
            kinds=np.concatenate([c.kinds for c in chunks]),
            sign_ids=np.concatenate([c.frame_sign_ids() for c in chunks]).astype(str),
        )


def write_results(
    out_dir: str | Path,
    sentence: SentenceFrames,
    fps: float,
    width: int,
    height: int,
    progress: bool = True,
    renderer: str | RendererSeam = Renderer.SKELETON,
    video: Callable[[Path], object] | None = None,
) -> dict[str, Path]:
    """Render (through `renderer`, as streams do) and write the three result files into out_dir;
    returns their paths. `renderer` is a renderer's name (opened here on the width x height canvas)
    or a renderer already made for that canvas (a NEURAL one); either is closed here. `video`, when
    given, writes out_video.mp4 itself at the path it is handed (frames rendered and encoded
    elsewhere: a gateway's H.264 stream, muxed as it is) and nothing is rendered here."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".signstream-", dir=out))
    try:
        if video is not None:
            video(staging / VIDEO_NAME)
        else:
            drawer = open_renderer(renderer, width, height) if isinstance(renderer, str) else renderer
            try:
                write_all(drawer, Mp4FileEncoder(staging / VIDEO_NAME, width, height, fps), sentence.frames,
                          progress)
            finally:
                drawer.close()
        with open(staging / PICKLE_NAME, "wb") as fh:
            pickle.dump(to_seed_frames(sentence.frames), fh, protocol=pickle.HIGHEST_PROTOCOL)
        np.savez_compressed(
            staging / NPZ_NAME,
            keypoints=sentence.frames,
            kinds=sentence.kinds,
            sign_ids=sentence.sign_ids,
            fps=np.float64(fps),
            width=np.int64(width),
            height=np.int64(height),
            layout_version=np.int64(L.LAYOUT_VERSION),
        )
        paths = {}
        for name in (NPZ_NAME, PICKLE_NAME, VIDEO_NAME):
            os.replace(staging / name, out / name)
            paths[name] = out / name
        return paths
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load_results_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Read normalized_keypoints.npz back (no pickle involved)."""
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}
