"""Conversion between packed frames (K, 3) and the seed's frame dict (the original pipeline's per-frame format).

The seed dict (what `normalized_keypoints.pickle` holds, one per frame):
    'bodies': {'candidate': float64 (18, 2), 'subset': float64 (1, 18)}  subset[0, j] = j or -1
    'hands':  float64 (2, 21, 2)   [0] left, [1] right; missing point = (-1, -1)
    'faces':  float64 (1, 68, 2)
    'pose_mp': (99,)  'face_mp': (1434,)  'left_hand_mp', 'right_hand_mp': (63,)   x, y, z flat

Coordinates are carried as they are (missing points keep whatever the dict held, normally -1), so
dict -> packed -> dict is exact up to float32 rounding and packed -> dict -> packed is exact.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from . import layout as L

SEED_KEYS = ("bodies", "hands", "faces", "pose_mp", "face_mp", "left_hand_mp", "right_hand_mp")
_MP_SIZES = {"pose_mp": 33, "face_mp": 478, "left_hand_mp": 21, "right_hand_mp": 21}


def _missing_2d(points: np.ndarray) -> np.ndarray:
    """(N, 2) -> bool (N,): the seed marks a missing hand/face point as exactly (-1, -1)."""
    return (points[:, 0] == -1.0) & (points[:, 1] == -1.0)


def to_seed_frame(frame: np.ndarray) -> dict:
    """Packed (K, 3) -> seed frame dict with float64 arrays."""
    f = np.asarray(frame, dtype=np.float64)
    body = f[L.BODY]
    subset = np.where(body[:, 2] > 0, np.arange(18, dtype=np.float64), -1.0)[None, :]

    def xy(part: slice) -> np.ndarray:
        pts = f[part, :2].copy()
        pts[f[part, 2] <= 0] = -1.0
        return pts

    candidate = body[:, :2].copy()
    return {
        "bodies": {"candidate": candidate, "subset": subset},
        "hands": np.stack([xy(L.LEFT_HAND), xy(L.RIGHT_HAND)]),
        "faces": xy(L.FACE)[None],
        "pose_mp": f[L.POSE_MP].reshape(-1).copy(),
        "face_mp": f[L.FACE_MP].reshape(-1).copy(),
        "left_hand_mp": f[L.LEFT_HAND_MP].reshape(-1).copy(),
        "right_hand_mp": f[L.RIGHT_HAND_MP].reshape(-1).copy(),
    }


def _array(d: Mapping, key: str, shape: tuple[int, ...]) -> np.ndarray:
    try:
        arr = np.asarray(d[key], dtype=np.float64)
    except KeyError as exc:
        raise ValueError(f"seed frame is missing {key!r}") from exc
    except (TypeError, ValueError) as exc:
        raise ValueError(f"seed frame {key!r} is not numeric: {exc}") from exc
    if arr.shape != shape:
        raise ValueError(f"seed frame {key!r} must have shape {shape}, got {arr.shape}")
    return arr


def from_seed_frame(d: Mapping) -> np.ndarray:
    """Seed frame dict -> packed (K, 3) float32. Raises ValueError naming the bad field."""
    bodies = d.get("bodies")
    if not isinstance(bodies, Mapping):
        raise ValueError("seed frame 'bodies' must be a dict with 'candidate' and 'subset'")
    candidate = _array(bodies, "candidate", (18, 2))
    subset = _array(bodies, "subset", (1, 18))
    hands = _array(d, "hands", (2, 21, 2))
    faces = _array(d, "faces", (1, 68, 2))

    out = np.zeros((L.NUM_POINTS, 3), dtype=np.float32)
    out[L.BODY, :2] = candidate
    out[L.BODY, 2] = subset[0] >= 0
    for part, pts in ((L.LEFT_HAND, hands[0]), (L.RIGHT_HAND, hands[1]), (L.FACE, faces[0])):
        out[part, :2] = pts
        out[part, 2] = ~_missing_2d(pts)
    for key, n in _MP_SIZES.items():
        out[L.PARTS[key]] = _array(d, key, (n * 3,)).reshape(n, 3)
    return out


def to_seed_frames(frames: np.ndarray) -> list[dict]:
    """(T, K, 3) -> list of T seed dicts (the pickle's content)."""
    return [to_seed_frame(f) for f in frames]


def from_seed_frames(dicts: list[Mapping]) -> np.ndarray:
    """List of seed dicts -> (T, K, 3) float32."""
    if not dicts:
        raise ValueError("no seed frames given")
    return np.stack([from_seed_frame(d) for d in dicts])
