"""YOLOX + DWPose wholebody keypoints: the whole chain on one image, and its mapping to a packed frame.

    rgb ─letterbox─▶ yolox ─decode_yolox─▶ select_person ─box_to_center_scale─▶ crop_for_dwpose
        ─▶ dwpose ─decode_simcc─▶ keypoints (133, 2) pixels, scores (133,) ─wholebody_to_frame─▶ parts

The steps live in `yolox.py` and `dwpose.py` and are re-exported here. Triton runs the same chain as
the `wholebody` ensemble (`wholebody_pre` → `yolox` → `wholebody_crop` → `dwpose` →
`wholebody_decode`); the three python models call the `*_batch` functions below.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np

from signstream.extract import dwpose, yolox
from signstream.extract.dwpose import (
    box_to_center_scale,
    crop_for_dwpose,
    decode_simcc,
    fix_aspect_ratio,
    whole_image_box,
)
from signstream.extract.yolox import decode_yolox, letterbox, nms, select_person
from signstream.kernels import layout as L
from signstream.kernels import skeleton as sk
from signstream.render.encode import check_rgb

__all__ = [
    "box_to_center_scale", "crop_for_dwpose", "decode_simcc", "fix_aspect_ratio", "whole_image_box",
    "decode_yolox", "letterbox", "nms", "select_person",
    "locate_person", "estimate_wholebody", "wholebody_to_openpose134", "wholebody_to_frame",
    "merge_wholebody", "wholebody_frame", "preprocess_batch", "crop_batch", "decode_batch",
]

# Tensor names of the ensemble's python steps (model_repository/README.md); the networks' own names are in
# yolox.INPUT_NAME / OUTPUT_NAME and dwpose.INPUT_NAME / OUTPUT_NAMES.
IMAGE, RATIO, CENTER, SCALE, KEYPOINTS, SCORES = "IMAGE", "RATIO", "CENTER", "SCALE", "KEYPOINTS", "SCORES"

# new[j] = old[_REORDER[j]] on the 134-point array: DWPose's mmpose -> OpenPose body reorder.
_REORDER = np.arange(134)
_REORDER[list(sk.WHOLEBODY_OPENPOSE_ORDER)] = sk.WHOLEBODY_MMPOSE_ORDER


class BatchModel(Protocol):
    """A network run on a batch: input name -> array in, output name -> array out (OnnxBatchModel)."""

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...


# ---- the chain on one image ----

def locate_person(yolox_output: np.ndarray, ratio: float, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """YOLOX output (8400, 85) of a W x H image -> the DWPose crop: center (2,), scale (2,) float32.

    The best person's box, or the whole image when nobody is detected (as DWPose/rtmlib do).
    """
    box = select_person(*decode_yolox(yolox_output, ratio))
    return box_to_center_scale(whole_image_box(width, height) if box is None else box)


def estimate_wholebody(rgb: np.ndarray, detector: BatchModel, pose: BatchModel) -> tuple[np.ndarray, np.ndarray]:
    """RGB (H, W, 3) uint8 -> keypoints (133, 2) float32 in image pixels, scores (133,) float32,
    running the two networks in this process (e.g. OnnxBatchModel on yolox_l / dw-ll_ucoco_384)
    through the very steps the `wholebody` ensemble runs in Triton."""
    images = check_rgb(rgb)[None]
    pre = preprocess_batch(images)
    detections = detector.run({yolox.INPUT_NAME: pre[yolox.INPUT_NAME]})[yolox.OUTPUT_NAME]
    crop = crop_batch(images, detections, pre[RATIO])
    simcc = pose.run({dwpose.INPUT_NAME: crop[dwpose.INPUT_NAME]})
    out = decode_batch(*(simcc[name] for name in dwpose.OUTPUT_NAMES), crop[CENTER], crop[SCALE])
    return out[KEYPOINTS][0], out[SCORES][0]


# ---- COCO-WholeBody 133 -> packed frame (kernels/layout.py) ----

def wholebody_to_openpose134(keypoints: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """keypoints (133, 2), scores (133,) -> (134, 2), (134,) float32 in DWPose's draw order.

    A neck (mean of the shoulders, score 1 if both score > 0.3 else 0) is inserted at index 17,
    then the body is reordered from mmpose to OpenPose-18: body [0:18], feet [18:24], face [24:92],
    left hand [92:113], right hand [113:134].
    """
    points = np.asarray(keypoints, dtype=np.float32).reshape(133, 2)
    scores = np.asarray(scores, dtype=np.float32).reshape(133)
    a, b = sk.WHOLEBODY_NECK_FROM
    neck = (points[a] + points[b]) / 2
    neck_score = np.float32(scores[a] > sk.WHOLEBODY_MIN_SCORE and scores[b] > sk.WHOLEBODY_MIN_SCORE)
    points = np.insert(points, sk.WHOLEBODY_NECK_AT, neck, axis=0)
    scores = np.insert(scores, sk.WHOLEBODY_NECK_AT, neck_score)
    return points[_REORDER], scores[_REORDER]


def _flagged(points: np.ndarray, scores: np.ndarray, width: int, height: int, body: bool) -> np.ndarray:
    """(n, 2) pixels, (n,) scores -> (n, 3) x / W, y / H, flag; (-1, -1) where score < 0.3.

    The seed's two rules, kept exactly: coordinates become -1 below 0.3, while a body point counts
    as present only above 0.3 (DWPose's `subset`); hand and face points are present unless -1.
    """
    out = np.empty((len(points), 3), dtype=np.float32)
    out[:, :2] = points / np.array([width, height], dtype=np.float32)
    out[scores < sk.WHOLEBODY_MIN_SCORE, :2] = -1.0
    present = scores > sk.WHOLEBODY_MIN_SCORE if body else scores >= sk.WHOLEBODY_MIN_SCORE
    out[:, 2] = present
    return out


def wholebody_to_frame(keypoints: np.ndarray, scores: np.ndarray, width: int, height: int) -> dict[str, np.ndarray]:
    """keypoints (133, 2) in pixels of a W x H image, scores (133,) -> the packed frame's flagged
    parts: {"body": (18, 3), "face": (68, 3), "left_hand": (21, 3), "right_hand": (21, 3)} float32.

    COCO-WholeBody's left hand (points 91-111) is the subject's left, like the packed LEFT_HAND
    (MediaPipe Holistic's left_hand) and the seed's hands[0].
    """
    if not (width > 0 and height > 0):
        raise ValueError(f"image size must be positive, got {width} x {height}")
    points, point_scores = wholebody_to_openpose134(keypoints, scores)
    return {
        name: _flagged(points[part], point_scores[part], width, height, body=name == "body")
        for name, part in sk.WHOLEBODY_SLICES.items()
    }


def merge_wholebody(frame: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, width: int, height: int) -> np.ndarray:
    """Packed frame (K, 3) -> a new (K, 3) float32 frame whose body, hands and face are DWPose's.

    The MediaPipe parts of `frame` (e.g. one made from Holistic) are kept as they are.
    """
    merged = np.array(frame, dtype=np.float32, copy=True)
    if merged.shape != (L.NUM_POINTS, 3):
        raise ValueError(f"a packed frame must have shape ({L.NUM_POINTS}, 3), got {merged.shape}")
    for name, points in wholebody_to_frame(keypoints, scores, width, height).items():
        merged[L.PARTS[name]] = points
    return merged


def wholebody_frame(keypoints: np.ndarray, scores: np.ndarray, width: int, height: int) -> np.ndarray:
    """A packed frame (K, 3) from DWPose alone: its flagged parts, MediaPipe parts absent (zeros)."""
    return merge_wholebody(L.empty_frames(1)[0], keypoints, scores, width, height)


# ---- the ensemble's python steps, one request's batch at a time ----

def _same_batch(*arrays: np.ndarray) -> int:
    sizes = {len(a) for a in arrays}
    if len(sizes) != 1:
        raise ValueError(f"inputs of one request must share their batch size, got sizes {sorted(sizes)}")
    return sizes.pop()


def preprocess_batch(images: np.ndarray) -> dict[str, np.ndarray]:
    """`wholebody_pre`: IMAGE (B, H, W, 3) uint8 RGB -> images (B, 3, 640, 640), RATIO (B, 1) float32."""
    letterboxed = [letterbox(image) for image in images]
    return {
        yolox.INPUT_NAME: np.stack([chw for chw, _ in letterboxed]),
        RATIO: np.array([[ratio] for _, ratio in letterboxed], dtype=np.float32).reshape(-1, 1),
    }


def crop_batch(images: np.ndarray, detections: np.ndarray, ratios: np.ndarray) -> dict[str, np.ndarray]:
    """`wholebody_crop`: IMAGE (B, H, W, 3), output (B, 8400, 85), RATIO (B, 1) ->
    input (B, 3, 384, 288), CENTER (B, 2), SCALE (B, 2) float32."""
    _same_batch(images, detections, ratios)
    crops, centers, scales = [], [], []
    for image, output, ratio in zip(images, detections, np.asarray(ratios).reshape(-1)):
        image = check_rgb(image)
        center, scale = locate_person(output, float(ratio), image.shape[1], image.shape[0])
        crops.append(crop_for_dwpose(image, center, scale))
        centers.append(center)
        scales.append(scale)
    return {dwpose.INPUT_NAME: np.stack(crops), CENTER: np.stack(centers), SCALE: np.stack(scales)}


def decode_batch(simcc_x: np.ndarray, simcc_y: np.ndarray, centers: np.ndarray, scales: np.ndarray) -> dict[str, np.ndarray]:
    """`wholebody_decode`: simcc_x (B, 133, 576), simcc_y (B, 133, 768), CENTER (B, 2), SCALE (B, 2)
    -> KEYPOINTS (B, 133, 2) in image pixels, SCORES (B, 133) float32."""
    _same_batch(simcc_x, simcc_y, centers, scales)
    decoded = [decode_simcc(*item) for item in zip(simcc_x, simcc_y, centers, scales)]
    return {KEYPOINTS: np.stack([k for k, _ in decoded]), SCORES: np.stack([s for _, s in decoded])}
