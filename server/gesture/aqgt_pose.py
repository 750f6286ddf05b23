"""AQ-GT's 53 joints -> packed frames: positions from offsets (aqgt_post), then our layout on a fixed skeleton.

    rebuild_positions(out_dir_vec (B, 34, 159), mean (159,)) -> (B, 34, 53, 3)   (aqgt_post)
    GestureBody().frames(positions (T, 53, 3)) -> (T, 681, 3) packed, coordinates in [0, 1]

The packed frame starts from the demo signer's rest frame (signstream.lexicon.demo_body: every part
filled, MediaPipe parts included) and takes from AQ-GT, projected on the image plane (x right, y down,
as AQ-GT's data): the shoulders, elbows and wrists, both hands (21 points each, the same order) and the
nose, which carries the rest head (face, eyes, ears, MediaPipe face mesh) with it. The thorax is pinned
at the rest neck (the torso does not wander), the hips stay at rest. Then `retarget` puts the bone
directions on the rest figure's bones, so every body and hand bone keeps its length in every frame.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from signstream.gesture.aqgt_contract import BODY_JOINTS, LEFT_HAND_START, N_JOINTS, PARENT, RIGHT_HAND_START
from signstream.kernels import layout as L
from signstream.kernels.skeleton import MP_POSE_TO_OPENPOSE
from signstream.lexicon.demo_body import SignSpec, build_clip
from signstream.pipeline import retarget_normalizer
from signstream.style import DEFAULT_STYLE, Style, skeleton_from_frame

CANVAS = 1024                       # the rest figure's square canvas (aspect 1)
# The demo signer made smaller and higher, so a fully stretched arm (~0.4 of the frame) stays inside
# it in every direction: clipping to [0, 1] never has to shorten a bone.
FIGURE_SCALE, FIGURE_NECK = 0.7, (0.5, 0.45)
# OpenPose-18 point <- AQ-GT joint, for the arms and the nose.
_BODY_FROM = {L.NOSE: "nose", L.R_SHOULDER: "r_shoulder", L.R_ELBOW: "r_elbow", L.R_WRIST: "r_wrist",
              L.L_SHOULDER: "l_shoulder", L.L_ELBOW: "l_elbow", L.L_WRIST: "l_wrist"}
_J = {name: i for i, name in enumerate(BODY_JOINTS)}
_HEAD = np.concatenate([[L.NOSE, L.R_EYE, L.L_EYE, L.R_EAR, L.L_EAR], np.arange(L.FACE.start, L.FACE.stop),
                        np.arange(L.FACE_MP.start, L.FACE_MP.stop), np.arange(L.POSE_MP.start, L.POSE_MP.start + 11)])


def rebuild_positions(out_dir_vec: np.ndarray, mean_dir_vec: np.ndarray) -> np.ndarray:
    """(..., 159) offsets minus the mean -> (..., 53, 3) positions: add the mean, then each joint is
    its parent plus its offset (the root's offset is its position)."""
    offsets = (np.asarray(out_dir_vec, np.float64) + np.asarray(mean_dir_vec, np.float64).reshape(-1))
    offsets = offsets.reshape(offsets.shape[:-1] + (N_JOINTS, 3))
    positions = offsets.copy()
    for j in range(1, N_JOINTS):            # parents come first
        positions[..., j, :] += positions[..., PARENT[j], :]
    return positions.astype(np.float32)


def rest_frame() -> np.ndarray:
    """(681, 3) the demo signer at rest, arms down, scaled by FIGURE_SCALE about its neck, which is
    moved to FIGURE_NECK."""
    spec = SignSpec("aqgt-rest", "REST", 0.2, ((0.0, None, None, {}), (1.0, None, None, {})))
    frame = build_clip(spec, np.random.default_rng(0))[:1]
    valid = L.validity(frame)[0]
    neck = frame[0, L.NECK, :2].copy()
    frame = frame[0]
    frame[valid, :2] = (frame[valid, :2] - neck) * FIGURE_SCALE + np.array(FIGURE_NECK, np.float32)
    return frame


class GestureBody:
    """Maps AQ-GT positions onto the rest figure and retargets them onto its bones."""

    def __init__(self) -> None:
        self.rest = rest_frame()
        self.neck = self.rest[L.NECK, :2].astype(np.float64)
        self.shoulder_span = float(np.linalg.norm(self.rest[L.L_SHOULDER, :2] - self.rest[L.R_SHOULDER, :2]))
        style = Style(replace(DEFAULT_STYLE, x=float(self.neck[0]), y=float(self.neck[1])), CANVAS, CANVAS,
                      skeleton=skeleton_from_frame(self.rest, CANVAS, CANVAS))
        self._retarget = retarget_normalizer(style)

    def _image_xy(self, positions: np.ndarray) -> np.ndarray:
        """(T, 53, 3) -> (T, 53, 2): thorax on the rest neck, scaled so the shoulders span the rest's."""
        p = positions.astype(np.float64)
        span = np.linalg.norm(p[:, _J["l_shoulder"]] - p[:, _J["r_shoulder"]], axis=-1)
        scale = self.shoulder_span / np.where(span > 1e-6, span, 1.0)
        return self.neck + scale[:, None, None] * (p[..., :2] - p[:, _J["thorax"], None, :2])

    def source_frames(self, positions: np.ndarray) -> np.ndarray:
        """(T, 53, 3) -> (T, 681, 3) packed, before retarget (bone lengths as projected)."""
        xy = self._image_xy(positions)
        T = len(xy)
        out = np.repeat(self.rest[None].astype(np.float64), T, axis=0)
        nose_shift = xy[:, _J["nose"]] - self.rest[L.NOSE, :2]
        out[:, _HEAD, :2] += nose_shift[:, None]
        for k, name in _BODY_FROM.items():
            out[:, k, :2] = xy[:, _J[name]]
        for part, mp, start in ((L.LEFT_HAND, L.LEFT_HAND_MP, LEFT_HAND_START),
                                (L.RIGHT_HAND, L.RIGHT_HAND_MP, RIGHT_HAND_START)):
            hand = xy[:, start:start + 21]
            out[:, part, :2], out[:, part, 2] = hand, 1.0
            out[:, mp, :2] = hand
        for op, mp in enumerate(MP_POSE_TO_OPENPOSE):
            if mp >= 0 and op not in L.KNEES_AND_ANKLES:
                out[:, L.POSE_MP.start + mp, :2] = out[:, op, :2]
        for mp, side, point in ((17, L.LEFT_HAND, 17), (19, L.LEFT_HAND, 5), (21, L.LEFT_HAND, 2),
                                (18, L.RIGHT_HAND, 17), (20, L.RIGHT_HAND, 5), (22, L.RIGHT_HAND, 2)):
            out[:, L.POSE_MP.start + mp, :2] = out[:, side.start + point, :2]
        return out.astype(np.float32)

    def frames(self, positions: np.ndarray) -> np.ndarray:
        """(T, 53, 3) AQ-GT positions -> (T, 681, 3) packed frames on the rest figure's bones, in [0, 1]."""
        if len(positions) == 0:
            return np.zeros((0, L.NUM_POINTS, 3), np.float32)
        out = self._retarget(self.source_frames(positions))
        valid = L.validity(out)
        out[..., :2] = np.where(valid[..., None], np.clip(out[..., :2], 0.0, 1.0), out[..., :2])
        return out
