"""Packed keypoint frames (kernels/layout.py) <-> the v1 `Keypoints` message, for both sides of the
wire: the gateway streams them, clients (e.g. `remote_generate`) read them back.

Only the generated messages are used here, no grpc.
"""
from __future__ import annotations

import numpy as np

from signstream.errors import InvalidArgument
from signstream.kernels import layout as L
from signstream.v1 import signstream_pb2 as pb

__all__ = ["KEYPOINT_FIELD_SIZES", "keypoints_to_bytes", "keypoints_to_proto", "keypoints_from_proto"]

# Proto field -> (packed point indices in field order, flagged?). Flagged parts carry x, y per point
# (missing = -1, -1; validity is channel 2 in the packed frame); MediaPipe parts carry x, y, z.
_KEYPOINT_FIELDS: dict[str, tuple[np.ndarray, bool]] = {
    "body": (np.arange(L.BODY.start, L.BODY.stop), True),
    "hands": (np.r_[L.LEFT_HAND, L.RIGHT_HAND], True),              # seed hands[0] = left, [1] = right
    "face": (np.arange(L.FACE.start, L.FACE.stop), True),
    **{name: (np.arange(L.PARTS[name].start, L.PARTS[name].stop), False) for name in L.MEDIAPIPE_PARTS},
}
KEYPOINT_FIELD_SIZES: dict[str, int] = {
    field: len(index) * (2 if flagged else 3) for field, (index, flagged) in _KEYPOINT_FIELDS.items()
}   # body 36, hands 84, face 136, pose_mp 99, face_mp 1434, left_hand_mp 63, right_hand_mp 63


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        bits, value = value & 0x7F, value >> 7
        out.append(bits | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _wire_layout() -> tuple[np.ndarray, np.ndarray, list[tuple[bytes, int, int]]]:
    """Where each float of the Keypoints message comes from, field after field: the flat index into a
    packed (K, 3) frame, the point whose flag decides it (-1 for MediaPipe values), and per field its
    packed-repeated header (tag, byte length) and value range."""
    sources, flags, fields = [], [], []
    descriptor = pb.Keypoints.DESCRIPTOR
    for field, (index, flagged) in _KEYPOINT_FIELDS.items():
        width = 2 if flagged else 3
        start = sum(len(s) for s in sources)
        source = (index[:, None] * 3 + np.arange(width)[None, :]).ravel()
        sources.append(source)
        flags.append(np.repeat(index, width) if flagged else np.full(len(source), -1))
        number = descriptor.fields_by_name[field].number
        header = _varint(number << 3 | 2) + _varint(4 * len(source))       # wire type 2: packed floats
        fields.append((header, start, start + len(source)))
    return np.concatenate(sources), np.concatenate(flags), fields


_SOURCE, _FLAG_POINT, _WIRE_FIELDS = _wire_layout()
_FLAGGED = _FLAG_POINT >= 0


def keypoints_to_bytes(frame: np.ndarray) -> bytes:
    """Packed frame (K, 3) -> a serialized Keypoints message (the seed's flat layout, missing 2-D points
    at (-1, -1)), built with one gather instead of per-field Python lists: this runs for every
    streamed frame that carries keypoints."""
    f = np.asarray(frame, dtype=np.float32)
    if f.shape != (L.NUM_POINTS, 3):
        raise ValueError(f"a keypoint frame must have shape ({L.NUM_POINTS}, 3), got {f.shape}")
    values = f.reshape(-1)[_SOURCE]
    missing = np.zeros(len(values), dtype=bool)
    missing[_FLAGGED] = f[_FLAG_POINT[_FLAGGED], 2] <= 0
    values[missing] = -1.0
    data = values.astype("<f4", copy=False).tobytes()
    return b"".join(header + data[4 * a:4 * b] for header, a, b in _WIRE_FIELDS)


def keypoints_to_proto(frame: np.ndarray) -> pb.Keypoints:
    """Packed frame (K, 3) -> Keypoints in the seed's flat layout; missing 2-D points become (-1, -1)."""
    return pb.Keypoints.FromString(keypoints_to_bytes(frame))


def keypoints_from_proto(keypoints: pb.Keypoints) -> np.ndarray:
    """Keypoints -> packed frame (K, 3) float32; the exact inverse of `keypoints_to_proto` for frames whose
    missing 2-D points sit at (-1, -1) with channel 2 = 0 and valid ones have channel 2 = 1 (all of ours).

    A 2-D point is missing exactly when it is (-1, -1). Raises InvalidArgument naming the field
    (e.g. "keypoints.face") when a field has the wrong number of values or a non-finite one.
    """
    out = np.zeros((L.NUM_POINTS, 3), dtype=np.float32)
    for field, (index, flagged) in _KEYPOINT_FIELDS.items():
        raw = getattr(keypoints, field)
        size = KEYPOINT_FIELD_SIZES[field]
        if len(raw) != size:
            raise InvalidArgument(f"keypoints.{field} must have {size} values, got {len(raw)}",
                                  field=f"keypoints.{field}")
        width = 2 if flagged else 3
        points = np.fromiter(raw, dtype=np.float32, count=size).reshape(-1, width)
        if not np.all(np.isfinite(points)):
            raise InvalidArgument(f"keypoints.{field} contains NaN or infinite values", field=f"keypoints.{field}")
        out[index, :width] = points
        if flagged:
            out[index, 2] = ~((points[:, 0] == -1.0) & (points[:, 1] == -1.0))
    return out
