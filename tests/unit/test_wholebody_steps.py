"""YOLOX and DWPose pre/post-processing (letterbox, top-down affine, SimCC decode), each step against hand-computed numbers."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from signstream.extract.wholebody import (
    box_to_center_scale,
    crop_for_dwpose,
    decode_simcc,
    decode_yolox,
    letterbox,
    nms,
    select_person,
    whole_image_box,
)
from tests.support.onnx_models import put_yolox_box

MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


# ---- letterbox ----

@pytest.mark.parametrize(
    "rows, cols, ratio, new_w, new_h",
    [
        (slice(None), slice(None), 1.25, 640, 640),          # 512 x 512: fills the canvas
        (slice(None), slice(100, 400), 1.25, 375, 640),       # 512 high, 300 wide: right border
        (slice(100, 300), slice(None), 1.25, 640, 250),       # 200 high, 512 wide: bottom border
        (slice(0, 100), slice(0, 50), 6.4, 320, 640),         # small images are enlarged
    ],
)
def test_letterbox_pastes_the_resized_photo_top_left_on_grey(rows, cols, ratio, new_w, new_h):
    rgb = np.ascontiguousarray(skimage.data.astronaut()[rows, cols])
    chw, got_ratio = letterbox(rgb)
    assert chw.shape == (3, 640, 640) and chw.dtype == np.float32
    assert got_ratio == pytest.approx(ratio)
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    # YOLOX gets BGR with raw 0-255 values: channel 0 is blue.
    for channel, rgb_channel in enumerate((2, 1, 0)):
        np.testing.assert_array_equal(chw[channel, :new_h, :new_w], resized[:, :, rgb_channel])
    assert np.all(chw[:, new_h:, :] == 114) and np.all(chw[:, :, new_w:] == 114)
    assert chw[:, :new_h, :new_w].std() > 10              # the photo is there, not padding


def test_letterbox_refuses_what_is_not_an_rgb_image():
    with pytest.raises(ValueError, match="RGB"):
        letterbox(np.zeros((10, 10), dtype=np.uint8))


# ---- YOLOX decoding ----

def _row(table, row, raw, obj=1.0, person=0.9):
    table[row, :4] = raw
    table[row, 4] = obj
    table[row, 5] = person


def test_cells_are_in_yolox_order_stride_8_first_row_major():
    table = np.zeros((8400, 85), dtype=np.float32)
    _row(table, 80 + 3, (0.5, 0.5, np.log(4), np.log(2)), person=0.9)              # stride 8, x 3, y 1
    _row(table, 6400 + 40 * 2 + 5, (0.5, 0.5, 0.0, 0.0), person=0.8)              # stride 16, x 5, y 2
    _row(table, 8399, (0.5, 0.5, np.log(2), np.log(3)), person=0.7)               # stride 32, x 19, y 19
    boxes, scores = decode_yolox(table, 1.0)
    np.testing.assert_allclose(scores, [0.9, 0.8, 0.7], rtol=1e-6)
    np.testing.assert_allclose(boxes, [
        [28 - 16, 12 - 8, 28 + 16, 12 + 8],       # centre (3.5, 1.5) * 8, size (4, 2) * 8
        [88 - 8, 40 - 8, 88 + 8, 40 + 8],         # centre (5.5, 2.5) * 16, size 16
        [624 - 32, 624 - 48, 624 + 32, 624 + 48],  # centre 19.5 * 32, size (2, 3) * 32
    ], atol=1e-3)


def test_decode_keeps_confident_persons_after_nms_in_original_pixels():
    # A 1000 x 500 image: ratio = min(640 / 500, 640 / 1000) = 0.64.
    ratio = 0.64
    table = np.zeros((8400, 85), dtype=np.float32)
    best = (100, 100, 300, 400)
    put_yolox_box(table, best, 0.9, stride=32)
    put_yolox_box(table, (110, 110, 310, 410), 0.8, stride=16)       # overlaps `best`: suppressed
    put_yolox_box(table, (400, 50, 600, 300), 0.2, stride=16)        # not confident enough
    put_yolox_box(table, (400, 350, 600, 600), 0.95, stride=32, cls=5)  # a bus, not a person
    second = (450, 320, 620, 630)                                     # overlaps only the bus: kept
    put_yolox_box(table, second, 0.5, stride=8)
    boxes, scores = decode_yolox(table, ratio)
    np.testing.assert_allclose(scores, [0.9, 0.5], rtol=1e-6)
    np.testing.assert_allclose(boxes, np.array([best, second]) / ratio, atol=1e-2)


def test_objectness_multiplies_the_class_score():
    table = np.zeros((8400, 85), dtype=np.float32)
    _row(table, 100, (0.5, 0.5, 1.0, 1.0), obj=0.5, person=0.9)       # 0.45: kept
    _row(table, 7000, (0.5, 0.5, 1.0, 1.0), obj=0.5, person=0.5)      # 0.25: dropped
    _, scores = decode_yolox(table, 1.0)
    np.testing.assert_allclose(scores, [0.45], rtol=1e-6)


def test_decode_yolox_rejects_wrong_shapes_and_ratios():
    with pytest.raises(ValueError, match="8400"):
        decode_yolox(np.zeros((100, 85), dtype=np.float32), 1.0)
    with pytest.raises(ValueError, match="ratio"):
        decode_yolox(np.zeros((8400, 85), dtype=np.float32), 0.0)


def test_nms_drops_boxes_overlapping_a_better_one_beyond_the_threshold():
    boxes = np.array([
        [0, 0, 10, 10],
        [0, 0, 10, 8],      # the best box
        [0, 0, 10, 5],      # IoU with box 1: 50 / 80 = 0.625
        [5, 0, 15, 10],     # IoU with box 1: 40 / 140 = 0.29; with box 2: 25 / 125 = 0.2
        [20, 20, 30, 30],   # disjoint
    ], dtype=np.float32)
    scores = np.array([0.9, 0.95, 0.5, 0.6, 0.4], dtype=np.float32)
    # Box 0 overlaps box 1 by 80 / 100 = 0.8: dropped at either threshold. Kept boxes come best first.
    np.testing.assert_array_equal(nms(boxes, scores, 0.45), [1, 3, 4])
    np.testing.assert_array_equal(nms(boxes, scores, 0.7), [1, 3, 2, 4])


def test_select_person_takes_the_best_box_or_none():
    assert select_person(np.zeros((0, 4), np.float32), np.zeros(0, np.float32)) is None
    boxes = np.array([[0, 0, 1, 1], [5, 5, 9, 9], [2, 2, 3, 3]], dtype=np.float32)
    np.testing.assert_array_equal(select_person(boxes, np.array([0.4, 0.8, 0.6])), [5, 5, 9, 9])


# ---- DWPose crop ----

def test_center_scale_pads_and_fixes_the_aspect_to_288_by_384():
    center, scale = box_to_center_scale(np.array([0, 0, 100, 400]))     # tall: widen
    np.testing.assert_allclose(center, [50, 200])
    np.testing.assert_allclose(scale, [375, 500])                       # 400 * 1.25 = 500, * 0.75
    center, scale = box_to_center_scale(np.array([10, 20, 410, 120]))   # wide: heighten
    np.testing.assert_allclose(center, [210, 70])
    np.testing.assert_allclose(scale, [500, 500 / 0.75], rtol=1e-6)
    # No person: the whole 640 x 480 image, padded and fixed the same way.
    center, scale = box_to_center_scale(whole_image_box(640, 480))
    np.testing.assert_allclose(center, [320, 240])
    np.testing.assert_allclose(scale, [800, 800 / 0.75], rtol=1e-6)


def test_crop_is_normalized_rgb():
    red = np.zeros((100, 80, 3), dtype=np.uint8)
    red[..., 0] = 255
    crop = crop_for_dwpose(red, np.array([40.0, 50.0]), np.array([60.0, 80.0]))   # inside the image
    assert crop.shape == (3, 384, 288) and crop.dtype == np.float32
    expected = [(255 - MEAN[0]) / STD[0], (0 - MEAN[1]) / STD[1], (0 - MEAN[2]) / STD[2]]
    for channel in range(3):
        np.testing.assert_allclose(crop[channel], expected[channel], rtol=1e-5)


def test_crop_and_decode_are_inverse_maps():
    # A white dot at (200, 150) of a black 500 x 300 image; crop centred at (250, 150), 300 x 400.
    image = np.zeros((300, 500, 3), dtype=np.uint8)
    image[149:152, 199:202] = 255
    center, scale = np.array([250.0, 150.0]), np.array([300.0, 400.0])
    crop = crop_for_dwpose(image, center, scale)
    y, x = np.unravel_index(np.argmax(crop[0]), crop[0].shape)
    # Expected place in the crop: (p - center) * 288 / 300 + 144 = 96, (p - center) * 384 / 400 + 192 = 192.
    assert abs(x - 96) <= 1 and abs(y - 192) <= 1
    simcc_x = np.zeros((133, 576), dtype=np.float32)
    simcc_y = np.zeros((133, 768), dtype=np.float32)
    simcc_x[0, 2 * x] = simcc_y[0, 2 * y] = 1.0
    keypoints, _ = decode_simcc(simcc_x, simcc_y, center, scale)
    assert np.hypot(*(keypoints[0] - (200, 150))) <= 1.5


def test_crop_outside_the_image_is_black_before_normalization():
    image = np.full((50, 50, 3), 200, dtype=np.uint8)
    crop = crop_for_dwpose(image, np.array([25.0, 25.0]), np.array([300.0, 400.0]))
    np.testing.assert_allclose(crop[0, 0, 0], (0 - MEAN[0]) / STD[0], rtol=1e-5)
    np.testing.assert_allclose(crop[0, 192, 144], (200 - MEAN[0]) / STD[0], rtol=1e-5)


# ---- SimCC decoding ----

def test_simcc_peaks_map_back_to_image_pixels():
    simcc_x = np.zeros((133, 576), dtype=np.float32)
    simcc_y = np.zeros((133, 768), dtype=np.float32)
    simcc_x[0, 100], simcc_y[0, 200] = 0.8, 0.6       # crop (50, 100)
    simcc_x[3, 101], simcc_y[3, 0] = 0.9, 0.7          # crop (50.5, 0): half-pixel bins
    simcc_x[2] = simcc_y[2] = -0.5                     # nothing found, negative everywhere
    # keypoint 1 stays all zero: score 0
    for k in range(4, 133):
        simcc_x[k, 2 * k], simcc_y[k, 2 * k] = 0.5, 0.5
    center, scale = np.array([500.0, 300.0]), np.array([576.0, 768.0])   # two image pixels per crop pixel
    keypoints, scores = decode_simcc(simcc_x, simcc_y, center, scale)
    assert keypoints.shape == (133, 2) and scores.shape == (133,)
    # x = 50 / 288 * 576 + 500 - 288 = 312; y = 100 / 384 * 768 + 300 - 384 = 116.
    np.testing.assert_allclose(keypoints[0], [312, 116], atol=1e-4)
    np.testing.assert_allclose(keypoints[3], [313, -84], atol=1e-4)
    assert scores[0] == pytest.approx(0.6) and scores[3] == pytest.approx(0.7)
    for missing in (1, 2):
        np.testing.assert_array_equal(keypoints[missing], [-1, -1])
        assert scores[missing] <= 0
    np.testing.assert_allclose(keypoints[10], [10 * 2 + 212, 10 * 2 - 84], atol=1e-4)


def test_simcc_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="SimCC"):
        decode_simcc(np.zeros((133, 768)), np.zeros((133, 576)), np.zeros(2), np.ones(2))
