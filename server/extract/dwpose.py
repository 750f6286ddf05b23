"""DWPose-LL (RTMPose-style, SimCC head) wholebody keypoints: crop pre-processing and decoding.

The network (`dw-ll_ucoco_384.onnx`) maps one person crop to 133 COCO-WholeBody keypoints:
    input (N, 3, 384, 288) float32  ->  simcc_x (N, 133, 576), simcc_y (N, 133, 768) float32
SimCC gives, per keypoint, a 1-D score over x and over y at twice the input resolution.
The crop is described, as in mmpose, by a centre and a scale (the crop's width and height in image
pixels); the same pair maps the decoded keypoints back to the image.
"""
from __future__ import annotations

import cv2
import numpy as np

from signstream.render.encode import check_rgb

INPUT_NAME = "input"
OUTPUT_NAMES = ("simcc_x", "simcc_y")
INPUT_WIDTH, INPUT_HEIGHT = 288, 384
ASPECT_RATIO = INPUT_WIDTH / INPUT_HEIGHT      # 0.75, crop width / height
NUM_KEYPOINTS = 133
SIMCC_SPLIT_RATIO = 2.0                        # SimCC bins per input pixel
BOX_PADDING = 1.25                             # the crop is the person box enlarged by this
# ImageNet statistics in RGB order. mmpose trained the model on RGB (its data preprocessor converts
# cv2's BGR to RGB before normalizing), so we crop from the RGB image. The seed fed BGR.
MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)


def whole_image_box(width: int, height: int) -> np.ndarray:
    """The box used when no person is detected: the whole image, (4,) float32 [0, 0, W, H]
    (rtmlib and DWPose do the same, then pad and fix the aspect like any box)."""
    return np.array([0.0, 0.0, width, height], dtype=np.float32)


def fix_aspect_ratio(scale: np.ndarray, aspect_ratio: float = ASPECT_RATIO) -> np.ndarray:
    """scale (2,) w, h -> (2,) float32 with w / h == aspect_ratio, enlarging the short side."""
    w, h = float(scale[0]), float(scale[1])
    if w > h * aspect_ratio:
        return np.array([w, w / aspect_ratio], dtype=np.float32)
    return np.array([h * aspect_ratio, h], dtype=np.float32)


def box_to_center_scale(box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """box (4,) x1, y1, x2, y2 in image pixels -> center (2,) float32, scale (2,) float32.

    center = the box centre; scale = box size * 1.25, then widened or heightened to 288:384.
    """
    x1, y1, x2, y2 = (float(v) for v in np.asarray(box).reshape(4))
    center = np.array([(x1 + x2) / 2, (y1 + y2) / 2], dtype=np.float32)
    scale = fix_aspect_ratio(np.array([x2 - x1, y2 - y1]) * BOX_PADDING)
    return center, scale


def crop_matrix(center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(2, 3) float64 affine map from image pixels to crop pixels: the scale box centred on
    `center` fills the 288 x 384 crop (no rotation)."""
    sx, sy = INPUT_WIDTH / float(scale[0]), INPUT_HEIGHT / float(scale[1])
    return np.array(
        [[sx, 0.0, INPUT_WIDTH / 2 - sx * float(center[0])],
         [0.0, sy, INPUT_HEIGHT / 2 - sy * float(center[1])]],
    )


def crop_for_dwpose(rgb: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """RGB image (H, W, 3) uint8 -> network input (3, 384, 288) float32.

    The scale box is warped (INTER_LINEAR, black outside the image) to 288 x 384, then each RGB
    channel is normalized as (x - MEAN) / STD. Channel 0 is red: the model was trained on RGB.
    """
    rgb = np.ascontiguousarray(check_rgb(rgb))   # cv2 needs a plain layout (views may be strided)
    crop = cv2.warpAffine(rgb, crop_matrix(center, scale), (INPUT_WIDTH, INPUT_HEIGHT), flags=cv2.INTER_LINEAR)
    normalized = (crop.astype(np.float32) - MEAN) / STD
    return np.ascontiguousarray(normalized.transpose(2, 0, 1))


def decode_simcc(
    simcc_x: np.ndarray, simcc_y: np.ndarray, center: np.ndarray, scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """simcc_x (133, 576), simcc_y (133, 768) of one crop -> keypoints (133, 2) float32 in image
    pixels and scores (133,) float32.

    Location = argmax bin / 2 in crop pixels, score = min(max_x, max_y). Back to the image:
    x = x_crop / 288 * scale_w + center_x - scale_w / 2 (y alike with 384). A keypoint whose score is
    <= 0 has no location: it stays (-1, -1) instead of being mapped (DWPose would map the -1).
    """
    sx = np.asarray(simcc_x, dtype=np.float32)
    sy = np.asarray(simcc_y, dtype=np.float32)
    x_bins, y_bins = int(INPUT_WIDTH * SIMCC_SPLIT_RATIO), int(INPUT_HEIGHT * SIMCC_SPLIT_RATIO)
    if sx.shape != (NUM_KEYPOINTS, x_bins) or sy.shape != (NUM_KEYPOINTS, y_bins):
        raise ValueError(f"SimCC outputs must have shapes ({NUM_KEYPOINTS}, {x_bins}) and "
                         f"({NUM_KEYPOINTS}, {y_bins}), got {sx.shape} and {sy.shape}")
    crop_xy = np.stack([sx.argmax(axis=1), sy.argmax(axis=1)], axis=1) / SIMCC_SPLIT_RATIO
    scores = np.minimum(sx.max(axis=1), sy.max(axis=1))
    center = np.asarray(center, dtype=np.float64).reshape(2)
    scale = np.asarray(scale, dtype=np.float64).reshape(2)
    image_xy = crop_xy / (INPUT_WIDTH, INPUT_HEIGHT) * scale + center - scale / 2
    image_xy[scores <= 0] = -1.0
    return image_xy.astype(np.float32), scores.astype(np.float32)
