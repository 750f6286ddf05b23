"""Skeleton renderer: golden image, exact pixels, missing points, DWPose parity, eps rule.

Regenerate the golden image (only after a deliberate change of the look) with:
    python tests/unit/test_render.py --regenerate
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from signstream.kernels import layout
from signstream.kernels import skeleton as sk
from signstream.render import decode_image, encode_png, render_clip, render_frame

W, H = 256, 192   # non-square on purpose: a W/H swap changes the picture
GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden_skeleton_256x192.png"
# The golden image was drawn by this very renderer with opencv-contrib-python 4.11.0.86 and must match
# exactly with that pin. A future OpenCV may rasterise circle/polygon edges a pixel differently, so the
# comparison tolerates at most 0.1% differing pixels; the exact-colour pixel checks below stay strict.
GOLDEN_MAX_DIFF_FRACTION = 0.001

BODY_XY = {
    layout.NOSE: (0.50, 0.25), layout.NECK: (0.50, 0.45),
    layout.R_SHOULDER: (0.35, 0.47), layout.R_ELBOW: (0.28, 0.68), layout.R_WRIST: (0.33, 0.85),
    layout.L_SHOULDER: (0.65, 0.47), layout.L_ELBOW: (0.72, 0.68), layout.L_WRIST: (0.68, 0.84),
    layout.R_HIP: (0.42, 0.97), layout.L_HIP: (0.58, 0.97),
    layout.R_EYE: (0.47, 0.21), layout.L_EYE: (0.53, 0.21), layout.R_EAR: (0.43, 0.23),
}   # knees, ankles and the left ear are missing (upper-body framing, turned head)


def _hand(wrist: tuple[float, float], side: float) -> np.ndarray:
    """21 points of an open hand pointing up from `wrist`; side +1 / -1 mirrors the finger fan."""
    pts = [wrist]
    for finger in range(5):
        a = math.radians(side * (-60.0 + 30.0 * finger))
        for k in range(1, 5):
            r = 0.03 + 0.045 * k
            pts.append((wrist[0] + r * math.sin(a) * H / W, wrist[1] - r * math.cos(a)))
    return np.array(pts, dtype=np.float32)


def _face(cx: float = 0.5, cy: float = 0.22) -> np.ndarray:
    """68 points in iBUG order: jaw, brows, nose, eyes, outer and inner lips."""
    rx, ry = 0.07, 0.10
    pts = []
    for j in range(17):
        t = math.pi - math.pi * j / 16
        pts.append((cx + rx * math.cos(t), cy + ry * math.sin(t)))
    for side in (-1, 1):
        for j in range(5):
            pts.append((cx + side * (0.01 + 0.01 * (4 - j if side < 0 else j)), cy - 0.05))
    for j in range(4):
        pts.append((cx, cy - 0.03 + 0.016 * j))
    for j in range(5):
        pts.append((cx - 0.016 + 0.008 * j, cy + 0.03))
    for side in (-1, 1):
        for j in range(6):
            t = 2 * math.pi * j / 6
            pts.append((cx + side * 0.03 + 0.012 * math.cos(t), cy - 0.02 + 0.008 * math.sin(t)))
    for n, (rxm, rym) in ((12, (0.026, 0.013)), (8, (0.015, 0.006))):
        for j in range(n):
            t = math.pi + 2 * math.pi * j / n
            pts.append((cx + rxm * math.cos(t), cy + 0.06 + rym * math.sin(t)))
    return np.array(pts, dtype=np.float32)


def make_test_frame() -> np.ndarray:
    """The deterministic packed frame behind the golden image."""
    frame = layout.empty_frames(1)[0]
    for i, (x, y) in BODY_XY.items():
        frame[i] = (x, y, 1.0)
    left = _hand(BODY_XY[layout.L_WRIST], +1.0)
    right = _hand(BODY_XY[layout.R_WRIST], -1.0)
    frame[layout.LEFT_HAND, :2] = left
    frame[layout.LEFT_HAND, 2] = 1.0
    frame[layout.RIGHT_HAND, :2] = right
    frame[layout.RIGHT_HAND, 2] = 1.0
    frame[layout.LEFT_HAND.start + 20] = (-1.0, -1.0, 0.0)        # a missing fingertip
    frame[layout.FACE, :2] = _face()
    frame[layout.FACE, 2] = 1.0
    frame[layout.FACE.start + 67, 2] = 0.0                       # a missing lip point, coordinates kept
    return frame


def _pix(frame: np.ndarray, k: int) -> tuple[int, int]:
    """(row, col) of point k as DWPose computes it: int(x * W), int(y * H) in float64."""
    return int(float(frame[k, 1]) * H), int(float(frame[k, 0]) * W)


# ---------------------------------------------------------------------------------------------------
# A direct transcription of DWPose's draw_pose (annotator/dwpose/util.py) on the seed's dict, including
# the draw-in-full-colour-then-multiply-by-0.6 step, matplotlib colours, and no validity flags (missing
# points are -1 as in the seed). The renderer must be bit-identical to it.
# ---------------------------------------------------------------------------------------------------
def _to_seed_dict(frame: np.ndarray) -> dict:
    f = frame.astype(np.float64)
    def part(s: slice) -> np.ndarray:
        xy = f[s, :2].copy()
        xy[f[s, 2] <= 0] = -1.0
        return xy
    body = part(layout.BODY)
    subset = np.where(f[layout.BODY, 2] > 0, np.arange(18), -1).astype(np.float64)[None]
    return {
        "bodies": {"candidate": body, "subset": subset},
        "hands": np.stack([part(layout.LEFT_HAND), part(layout.RIGHT_HAND)]),
        "faces": part(layout.FACE)[None],
    }


def _dwpose_draw_pose(pose: dict, H: int, W: int) -> np.ndarray:
    import matplotlib.colors

    canvas = np.zeros(shape=(H, W, 3), dtype=np.uint8)
    candidate, subset = pose["bodies"]["candidate"], pose["bodies"]["subset"]
    limb_seq = [[2, 3], [2, 6], [3, 4], [4, 5], [6, 7], [7, 8], [2, 9], [9, 10], [10, 11], [2, 12], [12, 13],
                [13, 14], [2, 1], [1, 15], [15, 17], [1, 16], [16, 18], [3, 17], [6, 18]]
    colors = [[255, 0, 0], [255, 85, 0], [255, 170, 0], [255, 255, 0], [170, 255, 0], [85, 255, 0],
              [0, 255, 0], [0, 255, 85], [0, 255, 170], [0, 255, 255], [0, 170, 255], [0, 85, 255],
              [0, 0, 255], [85, 0, 255], [170, 0, 255], [255, 0, 255], [255, 0, 170], [255, 0, 85]]
    for i in range(17):
        for n in range(len(subset)):
            index = subset[n][np.array(limb_seq[i]) - 1]
            if -1 in index:
                continue
            Y = candidate[index.astype(int), 0] * float(W)
            X = candidate[index.astype(int), 1] * float(H)
            mX, mY = np.mean(X), np.mean(Y)
            length = ((X[0] - X[1]) ** 2 + (Y[0] - Y[1]) ** 2) ** 0.5
            angle = math.degrees(math.atan2(X[0] - X[1], Y[0] - Y[1]))
            polygon = cv2.ellipse2Poly((int(mY), int(mX)), (int(length / 2), 4), int(angle), 0, 360, 1)
            cv2.fillConvexPoly(canvas, polygon, colors[i])
    canvas = (canvas * 0.6).astype(np.uint8)
    for i in range(18):
        for n in range(len(subset)):
            index = int(subset[n][i])
            if index == -1:
                continue
            x, y = candidate[index][0:2]
            cv2.circle(canvas, (int(x * W), int(y * H)), 4, colors[i], thickness=-1)
    eps = 0.01
    edges = [[0, 1], [1, 2], [2, 3], [3, 4], [0, 5], [5, 6], [6, 7], [7, 8], [0, 9], [9, 10], [10, 11],
             [11, 12], [0, 13], [13, 14], [14, 15], [15, 16], [0, 17], [17, 18], [18, 19], [19, 20]]
    for peaks in pose["hands"]:
        for ie, e in enumerate(edges):
            x1, y1 = peaks[e[0]]
            x2, y2 = peaks[e[1]]
            x1, y1, x2, y2 = int(x1 * W), int(y1 * H), int(x2 * W), int(y2 * H)
            if x1 > eps and y1 > eps and x2 > eps and y2 > eps:
                color = matplotlib.colors.hsv_to_rgb([ie / float(len(edges)), 1.0, 1.0]) * 255
                cv2.line(canvas, (x1, y1), (x2, y2), color, thickness=2)
        for x, y in peaks:
            x, y = int(x * W), int(y * H)
            if x > eps and y > eps:
                cv2.circle(canvas, (x, y), 4, (0, 0, 255), thickness=-1)
    for lmks in pose["faces"]:
        for x, y in lmks:
            x, y = int(x * W), int(y * H)
            if x > eps and y > eps:
                cv2.circle(canvas, (x, y), 3, (255, 255, 255), thickness=-1)
    return canvas


def _random_frame(rng: np.random.Generator, p_valid: float = 0.8) -> np.ndarray:
    frame = layout.empty_frames(1)[0]
    n = layout.FACE.stop
    frame[:n, :2] = rng.uniform(-0.1, 1.1, size=(n, 2))
    frame[:n, 2] = rng.random(n) < p_valid
    frame[layout.POSE_MP.start:] = rng.uniform(0, 1, size=(layout.NUM_POINTS - layout.POSE_MP.start, 3))
    return frame


def _colour_mask(img: np.ndarray, colour) -> np.ndarray:
    return np.all(img == np.array(colour, dtype=np.uint8), axis=-1)


# ---------------------------------------------------------------------------------------------------
def test_golden_image():
    img = render_frame(make_test_frame(), W, H)
    assert img.shape == (H, W, 3) and img.dtype == np.uint8
    golden = decode_image(GOLDEN.read_bytes())
    assert golden.shape == img.shape
    differing = np.any(img != golden, axis=-1).mean()
    assert differing <= GOLDEN_MAX_DIFF_FRACTION, f"{differing:.4%} of pixels differ from {GOLDEN.name}"


def test_exact_pixels_and_rgb_order():
    frame = make_test_frame()
    img = render_frame(frame, W, H)
    # Neck joint: BODY_COLORS[1] = (255, 85, 0) in RGB; BGR would read (0, 85, 255).
    assert tuple(img[_pix(frame, layout.NECK)]) == sk.BODY_COLORS[1] == (255, 85, 0)
    # Limb: the middle of R-shoulder -> R-elbow (limb 2) in floor(0.6 * colour).
    expected = tuple(int(math.floor(0.6 * c)) for c in sk.BODY_COLORS[2])
    assert expected == (153, 102, 0)
    mid = frame[[layout.R_SHOULDER, layout.R_ELBOW], :2].astype(np.float64).mean(axis=0)
    assert tuple(img[int(mid[1] * H), int(mid[0] * W)]) == expected
    # Hand joint (last one drawn for the right hand): (0, 0, 255) is blue in RGB.
    r, c = _pix(frame, layout.RIGHT_HAND.start + 20)
    assert tuple(img[r, c]) == (0, 0, 255)
    assert img[r, c, 2] == 255 and img[r, c, 0] == 0
    # Hand edges: HSV colours as cv2 rounds them; the fan leaves most edges partly visible.
    edge_colours = {tuple(int(v) for v in np.rint(c)) for c in sk.HAND_EDGE_COLORS}
    seen = {tuple(p) for p in img.reshape(-1, 3).tolist()} & edge_colours
    assert len(seen) >= 10, sorted(seen)
    # Face dot (chin): white.
    assert tuple(img[_pix(frame, layout.FACE.start + 8)]) == (255, 255, 255)


def test_golden_frame_matches_dwpose():
    frame = make_test_frame()
    assert np.array_equal(render_frame(frame, W, H), _dwpose_draw_pose(_to_seed_dict(frame), H, W))


def test_dimmed_colours_are_floor_of_0_6():
    for full, dimmed in zip(sk.BODY_COLORS, sk.BODY_LIMB_COLORS_DIMMED):
        assert dimmed == tuple(int(math.floor(0.6 * c)) for c in full)


@pytest.mark.parametrize("width,height", [(256, 192), (97, 131), (512, 512)])
def test_prescaled_limb_colours_bit_identical_to_draw_then_multiply(width, height):
    """The renderer draws limbs in pre-dimmed colours; DWPose draws then multiplies the canvas by 0.6."""
    rng = np.random.default_rng(width * 1000 + height)
    for _ in range(25):
        frame = _random_frame(rng)
        ours = render_frame(frame, width, height)
        naive = _dwpose_draw_pose(_to_seed_dict(frame), height, width)
        assert np.array_equal(ours, naive)
    # All points valid too (every limb drawn, maximum overlap).
    frame = _random_frame(rng, p_valid=1.0)
    assert np.array_equal(render_frame(frame, width, height), _dwpose_draw_pose(_to_seed_dict(frame), height, width))


def test_everything_missing_renders_black():
    assert not render_frame(layout.empty_frames(1)[0], W, H).any()
    # Missing by flag only: in-range coordinates kept, MediaPipe parts full of data -> still all black.
    frame = make_test_frame()
    frame[: layout.FACE.stop, 2] = 0.0
    frame[layout.POSE_MP.start:] = 0.5
    assert not render_frame(frame, W, H).any()


def test_missing_arm_draws_none_of_its_colours():
    body_only = layout.empty_frames(1)[0]
    for i, (x, y) in BODY_XY.items():
        body_only[i] = (x, y, 1.0)
    arm_colours = [sk.BODY_LIMB_COLORS_DIMMED[2], sk.BODY_LIMB_COLORS_DIMMED[3],   # limbs 2-3, 3-4 (1-based)
                   sk.BODY_COLORS[layout.R_ELBOW], sk.BODY_COLORS[layout.R_WRIST]]
    img = render_frame(body_only, W, H)
    assert all(_colour_mask(img, c).any() for c in arm_colours)      # control: present when the arm is
    body_only[[layout.R_ELBOW, layout.R_WRIST], 2] = 0.0             # coordinates kept, flags cleared
    img = render_frame(body_only, W, H)
    assert not any(_colour_mask(img, c).any() for c in arm_colours)
    assert _colour_mask(img, sk.BODY_COLORS[layout.R_SHOULDER]).any()


def test_hand_and_face_points_on_pixel_zero_are_skipped():
    def frame_with(x0: float) -> np.ndarray:
        f = layout.empty_frames(1)[0]
        f[layout.RIGHT_HAND.start + 0] = (x0, 0.5, 1.0)
        f[layout.RIGHT_HAND.start + 1] = (0.5, 0.5, 1.0)
        return f

    red = sk.HAND_EDGE_COLORS[0]
    assert tuple(round(c) for c in red) == (255, 0, 0)
    for x0 in (0.0, 0.5 / W):                          # int(x * W) == 0 -> not > eps -> skipped
        img = render_frame(frame_with(x0), W, H)
        assert not _colour_mask(img, (255, 0, 0)).any()      # edge 0-1 not drawn
        assert not img[:, :5].any()                          # no joint at column 0
        assert tuple(img[96, 128]) == (0, 0, 255)            # the other joint is
    img = render_frame(frame_with(1.0 / W), W, H)       # pixel column 1 -> drawn
    assert _colour_mask(img, (255, 0, 0)).any()
    assert tuple(img[96, 1]) == (0, 0, 255)
    # Face: same rule. Body: no eps rule (DWPose draws any body joint in the subset).
    f = layout.empty_frames(1)[0]
    f[layout.FACE.start] = (0.0, 0.5, 1.0)
    assert not render_frame(f, W, H).any()
    f[layout.NOSE] = (0.0, 0.5, 1.0)
    assert tuple(render_frame(f, W, H)[96, 0]) == sk.BODY_COLORS[layout.NOSE]


def test_out_buffer_is_reused_and_zeroed():
    frame = make_test_frame()
    out = np.full((H, W, 3), 7, dtype=np.uint8)
    result = render_frame(frame, W, H, out=out)
    assert result is out
    assert np.array_equal(out, render_frame(frame, W, H))
    with pytest.raises(ValueError):
        render_frame(frame, W, H, out=np.zeros((W, H, 3), dtype=np.uint8))
    with pytest.raises(ValueError):
        render_frame(frame, W, H, out=np.zeros((H, W, 3), dtype=np.float32))


def test_invalid_inputs():
    with pytest.raises(ValueError):
        render_frame(np.zeros((10, 3), np.float32), W, H)
    with pytest.raises(ValueError):
        render_frame(make_test_frame(), 0, H)
    with pytest.raises(ValueError):
        render_clip(np.zeros((0, layout.NUM_POINTS, 3), np.float32), W, H)   # raises at call, not next()
    # Non-finite and far-off-canvas coordinates don't crash; a NaN point counts as missing.
    frame = make_test_frame()
    frame[layout.NECK, 0] = np.nan
    frame[layout.R_ELBOW, :2] = (1e12, -1e12)
    frame[layout.RIGHT_HAND.start + 3, :2] = (np.inf, 0.5)
    img = render_frame(frame, W, H)
    assert not _colour_mask(img, sk.BODY_COLORS[layout.NECK]).any()


def test_render_clip_matches_render_frame():
    frames = np.stack([make_test_frame(), layout.empty_frames(1)[0], make_test_frame() * 0.9])
    rendered = list(render_clip(frames, W, H))
    assert len(rendered) == 3
    for frame, img in zip(frames, rendered):
        assert np.array_equal(img, render_frame(frame, W, H))
    assert rendered[0] is not rendered[2]


def _regenerate() -> None:
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_bytes(encode_png(render_frame(make_test_frame(), W, H), compression=9))
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    if "--regenerate" in sys.argv[1:]:
        _regenerate()
    else:
        print(__doc__)
