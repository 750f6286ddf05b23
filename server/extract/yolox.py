"""YOLOX-L person detection, the first half of DWPose: pre-processing and post-processing.

The network (Megvii's `yolox_l.onnx`, the detector DWPose ships with) maps
    images (N, 3, 640, 640) float32  ->  output (N, 8400, 85) float32
one row per anchor cell: x, y offsets and log w, h (raw, in stride units), objectness, then the 80
COCO class probabilities (objectness and classes come out of the export already sigmoid-ed).
Only class 0 (person) is used. Everything here is plain NumPy + cv2 on one image.
"""
from __future__ import annotations

import cv2
import numpy as np

from signstream.render.encode import check_rgb

INPUT_NAME = "images"
OUTPUT_NAME = "output"
INPUT_SIZE = 640                  # square network input, pixels
PAD_VALUE = 114                   # grey of the letterbox border, as in YOLOX's own pre-processing
# Channel order fed to the network, as indices into RGB. Megvii trained YOLOX on cv2-loaded (BGR)
# images with raw 0-255 values (their ONNX demo feeds cv2.imread's array as it is), so we swap.
CHANNELS_FROM_RGB = (2, 1, 0)
STRIDES = (8, 16, 32)             # one anchor-free cell per stride-sized square, strides in this order
NUM_CLASSES = 80
OUTPUT_WIDTH = 5 + NUM_CLASSES    # x, y, w, h, objectness, classes
PERSON_CLASS = 0
NMS_IOU = 0.45                    # a box overlapping a better one by more than this is dropped
NMS_MIN_SCORE = 0.1               # boxes below this do not take part in NMS at all
PERSON_MIN_SCORE = 0.3            # persons kept after NMS must score above this


def anchor_grid(size: int = INPUT_SIZE, strides: tuple[int, ...] = STRIDES) -> tuple[np.ndarray, np.ndarray]:
    """The cells of the output rows: grid (C, 2) float32 cell x, y indices and stride (C,) float32.

    Stride 8 first, each stride's cells row-major (y outer, x inner): for 640 that is 80², 40², 20²
    = 8400 cells, YOLOX's own order.
    """
    grids, cell_strides = [], []
    for stride in strides:
        n = size // stride
        ys, xs = np.mgrid[0:n, 0:n]
        grids.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        cell_strides.append(np.full(n * n, stride))
    return np.concatenate(grids).astype(np.float32), np.concatenate(cell_strides).astype(np.float32)


GRID, CELL_STRIDE = anchor_grid()
NUM_CELLS = len(GRID)             # 8400


def letterbox(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """RGB image (H, W, 3) uint8 -> network input (3, 640, 640) float32 and the resize ratio.

    The image is resized by ratio = min(640 / H, 640 / W) (INTER_LINEAR) and pasted at the top-left
    corner of a 640 x 640 canvas filled with 114; channels in CHANNELS_FROM_RGB order (BGR), raw
    0-255 values, no mean/std. A pixel (x, y) of the image lands at (x, y) * ratio.
    """
    rgb = np.ascontiguousarray(check_rgb(rgb))   # cv2 needs a plain layout (views may be strided)
    height, width = rgb.shape[:2]
    ratio = min(INPUT_SIZE / height, INPUT_SIZE / width)
    # max(1, ...) only matters for images thinner than 1/640 of their length.
    new_w, new_h = max(1, int(width * ratio)), max(1, int(height * ratio))
    canvas = np.full((INPUT_SIZE, INPUT_SIZE, 3), PAD_VALUE, dtype=np.uint8)
    canvas[:new_h, :new_w] = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    chw = canvas[:, :, list(CHANNELS_FROM_RGB)].transpose(2, 0, 1)
    return np.ascontiguousarray(chw, dtype=np.float32), float(ratio)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = NMS_IOU) -> np.ndarray:
    """Greedy non-maximum suppression: boxes (M, 4) x1, y1, x2, y2, scores (M,) -> kept indices (k,)
    int64, best first. A box is dropped when its IoU with a kept, better box exceeds the threshold."""
    x1, y1, x2, y2 = (boxes[:, i].astype(np.float64) for i in range(4))
    areas = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        inter_w = np.clip(np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]), 0, None)
        inter_h = np.clip(np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]), 0, None)
        inter = inter_w * inter_h
        union = areas[best] + areas[rest] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[iou <= iou_threshold]
    return np.array(keep, dtype=np.int64)


def decode_yolox(output: np.ndarray, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Raw output (8400, 85) of one image -> person boxes (M, 4) float32 x1, y1, x2, y2 in original
    image pixels and their scores (M,) float32, best first.

    Per cell: centre = (out[0:2] + cell) * stride, size = exp(out[2:4]) * stride (letterbox pixels),
    score = objectness * P(person). NMS (IoU 0.45) runs over boxes scoring >= 0.1; persons scoring
    > 0.3 are kept. YOLOX's NMS is per class, so the other 79 classes never affect persons and are
    not decoded. `ratio` is letterbox's: dividing by it gives original-image pixels.
    """
    out = np.asarray(output, dtype=np.float32)
    if out.shape != (NUM_CELLS, OUTPUT_WIDTH):
        raise ValueError(f"YOLOX output must have shape ({NUM_CELLS}, {OUTPUT_WIDTH}), got {out.shape}")
    if not ratio > 0:
        raise ValueError(f"letterbox ratio must be positive, got {ratio}")
    scores = out[:, 4] * out[:, 5 + PERSON_CLASS]
    candidates = np.flatnonzero(scores >= NMS_MIN_SCORE)
    rows, stride = out[candidates], CELL_STRIDE[candidates, None]
    centre = (rows[:, 0:2] + GRID[candidates]) * stride
    size = np.exp(rows[:, 2:4]) * stride
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1) / np.float32(ratio)
    scores = scores[candidates]
    keep = nms(boxes, scores)
    keep = keep[scores[keep] > PERSON_MIN_SCORE]
    return boxes[keep].astype(np.float32), scores[keep].astype(np.float32)


def select_person(boxes: np.ndarray, scores: np.ndarray) -> np.ndarray | None:
    """boxes (M, 4), scores (M,) -> the best-scoring box (4,) float32, or None when M == 0.

    We keep one person per image: the seed's frames hold a single body, and a signer is the most
    confident person in the shot.
    """
    if len(scores) == 0:
        return None
    return np.asarray(boxes[int(np.argmax(scores))], dtype=np.float32)
