"""MediaPipe Holistic extraction: the one function that turns an RGB image into keypoints.

The in-process CLI uses it now; the Triton `holistic` model wraps the same functions later.
MediaPipe 0.10.21 bundles the Holistic models (pose_landmark_full, face_landmark_with_attention
with 478 points when refine_face_landmarks=True, hand_landmark_full).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from signstream.kernels.mappings import holistic_to_frame
from signstream.render.encode import check_rgb

log = logging.getLogger(__name__)

# Bumped whenever the in-process extraction's output changes; ingest rebuilds clips when it does.
HOLISTIC_VERSION = "holistic/mediapipe-0.10.21/static/1"


@dataclass(frozen=True)
class HolisticArrays:
    """Holistic output in image-normalized coordinates; zeros where a part was not found.
    pose (33, 4) x, y, z, visibility; face (478, 3); left_hand, right_hand (21, 3) (subject's sides)."""

    pose: np.ndarray
    face: np.ndarray
    left_hand: np.ndarray
    right_hand: np.ndarray

    def to_frame(self) -> np.ndarray:
        """Packed frame (K, 3) float32."""
        return holistic_to_frame(self.pose, self.face, self.left_hand, self.right_hand)


def _landmarks(landmark_list, n: int, with_visibility: bool = False) -> np.ndarray:
    width = 4 if with_visibility else 3
    out = np.zeros((n, width), dtype=np.float32)
    if landmark_list is None:
        return out
    points = landmark_list.landmark
    for i in range(min(n, len(points))):
        p = points[i]
        out[i, :3] = (p.x, p.y, p.z)
        if with_visibility:
            out[i, 3] = p.visibility
    return out


def results_to_arrays(results) -> HolisticArrays:
    """MediaPipe Holistic results object -> fixed-shape arrays (post-processing)."""
    return HolisticArrays(
        pose=_landmarks(results.pose_landmarks, 33, with_visibility=True),
        face=_landmarks(results.face_landmarks, 478),
        left_hand=_landmarks(results.left_hand_landmarks, 21),
        right_hand=_landmarks(results.right_hand_landmarks, 21),
    )


class HolisticExtractor:
    """A MediaPipe Holistic graph. Not thread-safe inside MediaPipe, so calls are serialized.

    static_image_mode=True treats every image independently (style images, ExtractKeypoints,
    Triton's `holistic`); False tracks across consecutive video frames and is faster.

    MediaPipe 0.10.21's Holistic carries the face region from call to call even in static image
    mode, so a face's landmarks move by up to ~0.015 (normalized) depending on which images came
    before. In static mode a tiny blank image goes through first, which clears that state: every
    call then gives exactly what a fresh graph gives (tested), for ~10 ms of pose detection.
    """

    _BLANK = np.zeros((8, 8, 3), dtype=np.uint8)

    def __init__(self, static_image_mode: bool = True, model_complexity: int = 1):
        import mediapipe as mp  # heavy import, only where extraction is used

        self._graph = mp.solutions.holistic.Holistic(
            static_image_mode=static_image_mode,
            model_complexity=model_complexity,
            refine_face_landmarks=True,
        )
        self._lock = threading.Lock()
        self._static = static_image_mode

    def __call__(self, rgb: np.ndarray) -> HolisticArrays:
        """rgb (H, W, 3) uint8 -> HolisticArrays."""
        image = np.ascontiguousarray(check_rgb(rgb)).view()   # a view: the caller's array keeps its flags
        image.flags.writeable = False  # lets MediaPipe avoid a copy
        with self._lock:
            if self._static:
                self._graph.process(self._BLANK)      # forget the previous image's face region
            results = self._graph.process(image)
        return results_to_arrays(results)

    def close(self) -> None:
        self._graph.close()

    def __enter__(self) -> "HolisticExtractor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def extract_frame(rgb: np.ndarray, extractor: HolisticExtractor | None = None) -> np.ndarray:
    """RGB image -> packed frame (K, 3). Opens a one-off static extractor when none is given."""
    if extractor is not None:
        return extractor(rgb).to_frame()
    with HolisticExtractor(static_image_mode=True) as one_off:
        return one_off(rgb).to_frame()
