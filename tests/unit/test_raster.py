"""The numba rasterizer draws cv2's pixels: each primitive against the cv2 call it replaces, and whole
frames against the cv2 renderer (`render_frame_cv2`), on demo-lexicon frames and on random frames that
run off the canvas, carry NaN/inf, or sit far away (which must fall back to cv2)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from signstream.kernels import layout, raster, raster_shapes
from signstream.config import Settings
from signstream.lexicon import open_lexicon
from signstream.render.skeleton import _PALETTES, render_frame, render_frame_cv2

COLOR = (40, 200, 90)
COLOR_U8 = np.array(COLOR, dtype=np.uint8)
SIZES = [(64, 48), (37, 91), (512, 512)]


def _scratch(vx_len: int = 362) -> tuple[np.ndarray, np.ndarray]:
    return np.empty(vx_len, dtype=np.int64), np.empty(vx_len, dtype=np.int64)


def _pairs(rng, n, width, height, spread=1.5):
    """Random integer points, about a third of them off the canvas."""
    xs = rng.integers(int(-spread * width), int((1 + spread) * width), size=(n, 2))
    ys = rng.integers(int(-spread * height), int((1 + spread) * height), size=(n, 2))
    near = rng.random(n) < 0.6        # most near and inside the canvas, where real frames are
    xs[near] = rng.integers(-5, width + 5, size=(int(near.sum()), 2))
    ys[near] = rng.integers(-5, height + 5, size=(int(near.sum()), 2))
    return xs, ys


@pytest.mark.parametrize("width,height", SIZES)
def test_line8_is_cv2_line(width, height):
    rng = np.random.default_rng(1)
    xs, ys = _pairs(rng, 400, width, height)
    for (x0, x1), (y0, y1) in zip(xs, ys):
        ours = np.zeros((height, width, 3), np.uint8)
        ref = np.zeros_like(ours)
        raster_shapes.line8(ours, x0, y0, x1, y1, COLOR_U8)
        cv2.line(ref, (int(x0), int(y0)), (int(x1), int(y1)), COLOR, 1, cv2.LINE_8)
        assert np.array_equal(ours, ref), ((x0, y0), (x1, y1))


@pytest.mark.parametrize("width,height", SIZES)
def test_thick_line_is_cv2_line_thickness_2(width, height):
    rng = np.random.default_rng(2)
    xs, ys = _pairs(rng, 400, width, height)
    vx, vy = _scratch()
    for (x0, x1), (y0, y1) in zip(xs, ys):
        ours = np.zeros((height, width, 3), np.uint8)
        ref = np.zeros_like(ours)
        raster_shapes.thick_line(ours, x0, y0, x1, y1, 2, COLOR_U8, vx, vy)
        cv2.line(ref, (int(x0), int(y0)), (int(x1), int(y1)), COLOR, thickness=2)
        assert np.array_equal(ours, ref), ((x0, y0), (x1, y1))


@pytest.mark.parametrize("radius", [1, 3, 4, 9])
def test_circle_is_cv2_filled_circle(radius):
    rng = np.random.default_rng(3)
    width, height = 40, 30
    for _ in range(300):
        cx, cy = int(rng.integers(-12, width + 12)), int(rng.integers(-12, height + 12))
        ours = np.zeros((height, width, 3), np.uint8)
        ref = np.zeros_like(ours)
        raster_shapes.circle(ours, cx, cy, radius, COLOR_U8)
        cv2.circle(ref, (cx, cy), radius, COLOR, thickness=-1)
        assert np.array_equal(ours, ref), (cx, cy)


@pytest.mark.parametrize("width,height", SIZES)
def test_ellipse_is_cv2_fill_convex_poly_of_ellipse2poly(width, height):
    rng = np.random.default_rng(4)
    vx, vy = _scratch()
    for _ in range(300):
        cx, cy = int(rng.integers(-width // 2, width * 3 // 2)), int(rng.integers(-height // 2, height * 3 // 2))
        a = int(rng.choice([0, 1, 2, rng.integers(0, 2 * max(width, height))]))
        angle = int(rng.integers(-180, 181))
        ours = np.zeros((height, width, 3), np.uint8)
        ref = np.zeros_like(ours)
        raster_shapes.ellipse(ours, cx, cy, a, 4, angle, COLOR_U8, vx, vy)
        cv2.fillConvexPoly(ref, cv2.ellipse2Poly((cx, cy), (a, 4), angle, 0, 360, 1), COLOR)
        assert np.array_equal(ours, ref), ((cx, cy), a, angle)


def test_cv_color_rounds_as_cv2_does():
    for color in [(127.5, 128.5, 0.4999), (255.6, -3.0, 12.0), (0.5, 1.5, 2.5)]:
        ref = np.zeros((1, 1, 3), np.uint8)
        cv2.circle(ref, (0, 0), 0, color, -1)
        assert raster.cv_color(color) == tuple(int(v) for v in ref[0, 0])


@pytest.fixture(scope="module")
def lexicon_frames(demo_lexicon_dir) -> np.ndarray:
    lexicon = open_lexicon(Settings(lexicon=str(demo_lexicon_dir)))
    clips = [lexicon.get_clip(sign_id).frames for sign_id in lexicon.list_signs()[:6]]
    return np.concatenate(clips)[::3]


@pytest.mark.parametrize("channels", ["rgb", "bgr"])
@pytest.mark.parametrize("width,height", [(512, 512), (301, 207)])
def test_lexicon_frames_match_the_cv2_renderer(lexicon_frames, channels, width, height):
    for frame in lexicon_frames:
        assert np.array_equal(render_frame(frame, width, height, channels=channels),
                              render_frame_cv2(frame, width, height, channels=channels))


def test_random_frames_match_the_cv2_renderer(lexicon_frames):
    rng = np.random.default_rng(5)
    drawn = slice(0, layout.FACE.stop)
    for n in range(600):
        frame = lexicon_frames[rng.integers(len(lexicon_frames))].copy()
        scale = rng.choice([0.3, 1.0, 3.0])
        noise = rng.choice([0.0, 0.01, 0.2, 1.0])
        frame[drawn, :2] = (frame[drawn, :2] - 0.5) * scale + 0.5 + rng.normal(0, noise, (layout.FACE.stop, 2))
        frame[drawn, 2] = (rng.random(layout.FACE.stop) > 0.1).astype(np.float32)
        if n % 7 == 0:
            frame[rng.integers(layout.FACE.stop), rng.integers(2)] = rng.choice([np.nan, np.inf, -np.inf])
        width, height = int(rng.integers(8, 700)), int(rng.integers(8, 700))
        assert np.array_equal(render_frame(frame, width, height), render_frame_cv2(frame, width, height)), n


def test_far_off_canvas_falls_back_to_cv2_and_leaves_the_canvas_alone(lexicon_frames):
    frame = lexicon_frames[0].copy()
    frame[layout.LEFT_HAND.start + 3, :2] = (40.0, 0.5)       # 40 canvas widths to the right
    canvas = np.full((64, 64, 3), 7, np.uint8)
    pts = np.ascontiguousarray(frame[: layout.FACE.stop])
    assert not raster.draw_skeleton(pts, canvas, *_PALETTES["rgb"].kernel_args)
    assert (canvas == 7).all()
    assert np.array_equal(render_frame(frame, 64, 64), render_frame_cv2(frame, 64, 64))


def test_float64_and_read_only_frames(lexicon_frames):
    frame = lexicon_frames[1]
    ref = render_frame_cv2(frame, 128, 96)
    wide = frame.astype(np.float64)
    locked = frame.copy()
    locked.setflags(write=False)
    assert np.array_equal(render_frame(wide, 128, 96), ref)
    assert np.array_equal(render_frame(locked, 128, 96), ref)
