"""Keypoint clips on disk: one `.npz` per clip (never pickle, so loading runs no code).

An encoded clip is a compressed NumPy archive (`np.savez_compressed`) holding three arrays:

    keypoints       float32 (T, K, 3)   packed layout, see signstream.kernels.layout
    fps             float64 ()          frames per second of the source video
    layout_version  int64 ()            layout.LAYOUT_VERSION at the time of writing

A clip may hold a whole source video that several signs share; the sign table slices it.
"""
from __future__ import annotations

import io
import math
import zipfile
import zlib

import numpy as np

from signstream.errors import CorruptClip
from signstream.kernels import layout

MAX_FPS = 240.0
_ARRAYS = ("keypoints", "fps", "layout_version")


def check_fps(fps: object) -> float:
    """Return fps as float if it is a finite number in (0, MAX_FPS], else raise ValueError."""
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating)):
        raise ValueError(f"fps must be a number, got {type(fps).__name__}")
    value = float(fps)
    if not (math.isfinite(value) and 0.0 < value <= MAX_FPS):
        raise ValueError(f"fps must be a finite number in (0, {MAX_FPS:g}], got {value!r}")
    return value


def encode_clip(frames: np.ndarray, fps: float) -> bytes:
    """(T, K, 3) float32 frames + fps -> `.npz` bytes. Raises ValueError on bad input."""
    keypoints = layout.check_frames(frames)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        keypoints=keypoints,
        fps=np.float64(check_fps(fps)),
        layout_version=np.int64(layout.LAYOUT_VERSION),
    )
    return buffer.getvalue()


def _scalar(archive, name: str, kind: str) -> np.ndarray:
    value = archive[name]
    if value.shape != () or value.dtype.kind not in kind:
        raise ValueError(f"array {name!r} must be a numeric scalar, got {value.dtype} {value.shape}")
    return value


def _read(data: bytes) -> tuple[np.ndarray, float]:
    """Parse and validate; raises ValueError/OSError/zip errors that decode_clip wraps."""
    # allow_pickle=False: object arrays and pickled payloads raise instead of running code.
    loaded = np.load(io.BytesIO(data), allow_pickle=False)
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ValueError("it is a bare .npy array, not an .npz archive")
    with loaded as archive:
        missing = [name for name in _ARRAYS if name not in archive.files]
        if missing:
            raise ValueError(f"it lacks the array(s) {', '.join(missing)}")
        version = int(_scalar(archive, "layout_version", "iu"))
        if version != layout.LAYOUT_VERSION:
            raise ValueError(
                f"its keypoint layout version is {version}, this server reads version {layout.LAYOUT_VERSION}"
            )
        fps = check_fps(float(_scalar(archive, "fps", "iuf")))
        keypoints = archive["keypoints"]
        if keypoints.dtype.kind != "f":
            raise ValueError(f"keypoints must be floating point, got {keypoints.dtype}")
        return layout.check_frames(keypoints), fps


def decode_clip(data: bytes, key: str) -> tuple[np.ndarray, float]:
    """`.npz` bytes -> (frames float32 (T, K, 3) C-contiguous, fps).

    `key` is only used in messages. Any problem raises CorruptClip naming the key.
    """
    try:
        return _read(data)
    # np.load reports damage through many types: bad zip directory, truncated deflate stream,
    # short reads (EOFError), missing members (KeyError), and ValueError for everything else.
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise CorruptClip(
            f"keypoint clip {key!r} cannot be read: {exc}; re-run `signstream ingest` for it"
        ) from exc
