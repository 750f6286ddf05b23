"""signstream.quality on constructed sentences whose answers are known: a bone that changes length, a
jump inside a transition, a wrist on a cubic path, a missing hand, points that appear or are NaN."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from signstream.kernels import layout as L
from signstream.pipeline import FrameKind
from signstream.quality import MIN_MOTION_PX, assess, find_junctions, in_sign_steps, json_ready

W, H, FPS = 200, 100, 25.0
POSE = {L.NOSE: (0.5, 0.2), L.NECK: (0.5, 0.3), L.R_SHOULDER: (0.4, 0.3), L.L_SHOULDER: (0.6, 0.3), L.R_ELBOW: (0.4, 0.5),
        L.L_ELBOW: (0.6, 0.5), L.R_WRIST: (0.4, 0.7), L.L_WRIST: (0.6, 0.7), L.R_HIP: (0.45, 0.9),
        L.L_HIP: (0.55, 0.9)}
HAND_OFFSETS = np.stack([np.linspace(-0.02, 0.02, 21), np.linspace(0.0, 0.05, 21)], axis=1)


def still(n: int) -> np.ndarray:
    """n identical frames: upper body and both hands valid, the rest missing."""
    f = L.empty_frames(n)
    for j, (x, y) in POSE.items():
        f[:, j] = (x, y, 1.0)
    for part, wrist in ((L.LEFT_HAND, L.L_WRIST), (L.RIGHT_HAND, L.R_WRIST)):
        f[:, part, :2] = f[:, wrist, None, :2] + HAND_OFFSETS
        f[:, part, 2] = 1.0
    return f


def sentence(*parts: tuple[str, int, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sign_id, FrameKind, frames) pieces -> frames, kinds, sign_ids of a whole sentence."""
    frames = np.concatenate([p[2] for p in parts])
    kinds = np.concatenate([np.full(len(p[2]), p[1], dtype=np.uint8) for p in parts])
    ids = np.concatenate([np.full(len(p[2]), p[0]) for p in parts]).astype(str)
    return frames, kinds, ids


def moving_wrist(n: int, start_px: float, step_px: float, wrist: int = L.R_WRIST) -> np.ndarray:
    """still(n) with `wrist` (and its elbow, so the forearm keeps its length) moving right by step_px
    per frame from x = start_px."""
    f = still(n)
    x = (start_px + step_px * np.arange(n)) / W
    f[:, wrist, 0] = x
    f[:, wrist - 1, 0] = x
    return f


S, T = FrameKind.SIGN, FrameKind.TRANSITION


# --------------------------------------------------------------------------- structure

def test_junctions_are_transition_runs_and_sign_changes():
    _, kinds, ids = sentence(("a", S, still(3)), ("b", T, still(2)), ("b", S, still(2)), ("c", S, still(2)))
    found = find_junctions(kinds, ids)
    assert [(j.from_sign, j.to_sign, j.first, j.last, j.transition_frames) for j in found] == [
        ("a", "b", 2, 5, 2), ("b", "c", 6, 7, 0)]
    own = in_sign_steps(kinds, ids)
    assert own.tolist() == [True, True, False, False, False, True, False, True]


# --------------------------------------------------------------------------- bone lengths

def test_bone_cv_is_in_pixels_and_split_by_frame_kind():
    """A forearm of normalized length 0.1 that points sideways in transitions and down in signs:
    20 px then 10 px on a 200x100 canvas."""
    down = still(4)
    side = still(4)
    side[:, L.R_WRIST, :2] = side[:, L.R_ELBOW, :2] + [0.1, 0.0]
    down[:, L.R_WRIST, :2] = down[:, L.R_ELBOW, :2] + [0.0, 0.1]
    q = assess(*sentence(("a", S, down), ("b", T, side), ("b", S, down)), W, H, FPS)
    assert q.bone_cv["sign_frames"]["r_forearm"] == pytest.approx(0.0, abs=1e-6)
    lengths = np.array([10.0] * 8 + [20.0] * 4)
    assert q.bone_cv["all_frames"]["r_forearm"] == pytest.approx(lengths.std() / lengths.mean(), rel=1e-5)
    assert q.arm_cv["all_frames"] == pytest.approx(lengths.std() / lengths.mean(), rel=1e-5)
    assert q.bone_cv["all_frames"]["l_forearm"] == pytest.approx(0.0, abs=1e-6)
    square = assess(*sentence(("a", S, down), ("b", T, side), ("b", S, down)), H, H, FPS)
    assert square.bone_cv["all_frames"]["r_forearm"] == pytest.approx(0.0, abs=1e-6)


def test_bone_cv_of_a_known_length_change_and_of_the_hands():
    f = still(10)
    f[5:, L.L_ELBOW, 1] += 0.02                    # upper arm 20 -> 22 px, forearm 20 -> 18 px
    f[::2, L.LEFT_HAND.start + 1, :2] = -1.0       # a hand point missing in half the frames
    f[::2, L.LEFT_HAND.start + 1, 2] = 0.0
    q = assess(*sentence(("a", S, f)), W, H, FPS)
    assert q.bone_cv["sign_frames"]["l_upper_arm"] == pytest.approx(1 / 21, rel=1e-4)      # std 1, mean 21
    assert q.bone_cv["sign_frames"]["l_forearm"] == pytest.approx(1 / 19, rel=1e-4)
    assert q.arm_cv["sign_frames"] == pytest.approx(1 / 19, rel=1e-4)
    assert q.bone_cv["sign_frames"]["left_hand"] == {"median": pytest.approx(0.0, abs=1e-6),
                                                    "max": pytest.approx(0.0, abs=1e-6), "bones": 20}


# --------------------------------------------------------------------------- transition steps

def transition_path(xs_px: list[float]) -> np.ndarray:
    """Transition frames with the right wrist (and elbow) at these x positions."""
    tr = still(len(xs_px))
    tr[:, L.R_WRIST, 0] = tr[:, L.R_ELBOW, 0] = np.array(xs_px) / W
    return tr


def test_a_known_jump_in_a_transition_against_the_in_sign_p95():
    step = 2.0                                     # px per frame while signing, above MIN_MOTION_PX
    a = moving_wrist(10, 20.0, step)               # ends at 38 px
    b = moving_wrist(10, 54.0, step)
    q = assess(*sentence(("a", S, a), ("b", T, transition_path([40.0, 50.0, 52.0])), ("b", S, b)), W, H, FPS)
    ww = q.worst_wrist                             # 38 -> 40 -> 50 (the jump) -> 52 -> 54
    assert (ww["junction"], ww["from"], ww["to"], ww["joint"]) == (0, "a", "b", "r_wrist")
    assert ww["step_px"] == pytest.approx(10.0, rel=1e-5)
    assert ww["p95_px"] == pytest.approx(step, rel=1e-5)
    assert ww["ratio"] == pytest.approx(10.0 / step, rel=1e-5)
    assert q.junctions[0]["r_wrist_step_px"] == pytest.approx(10.0, rel=1e-5)
    assert q.joints["l_wrist"]["p95_px"] == pytest.approx(0.0, abs=1e-6)
    assert q.joints["l_wrist"]["ratio"] == pytest.approx(0.0, abs=1e-6)


def test_the_steps_into_and_out_of_the_transition_count():
    a, b = moving_wrist(10, 20.0, 2.0), moving_wrist(10, 54.0, 2.0)
    into = assess(*sentence(("a", S, a), ("b", T, transition_path([45.0, 50.0, 52.0])), ("b", S, b)), W, H, FPS)
    assert into.worst_wrist["step_px"] == pytest.approx(45.0 - 38.0, rel=1e-5)
    out = assess(*sentence(("a", S, a), ("b", T, transition_path([40.0, 42.0, 44.0])), ("b", S, b)), W, H, FPS)
    assert out.worst_wrist["step_px"] == pytest.approx(54.0 - 44.0, rel=1e-5)
    # without transition frames the step between the signs is the junction
    direct = assess(*sentence(("a", S, a), ("b", S, b)), W, H, FPS)
    assert direct.worst_wrist["step_px"] == pytest.approx(54.0 - 38.0, rel=1e-5)
    assert direct.worst_wrist["ratio"] == pytest.approx((54.0 - 38.0) / 2.0, rel=1e-5)


def test_a_still_joint_is_held_to_about_a_pixel():
    a, b = still(5), still(5)
    b[:, L.R_HIP, 0] += 3.0 / W                    # hips do not move in signs; 3 px jump between signs
    q = assess(*sentence(("a", S, a), ("b", S, b)), W, H, FPS)
    assert q.joints["r_hip"]["max_junction_step_px"] == pytest.approx(3.0, rel=1e-5)
    assert q.joints["r_hip"]["ratio"] == pytest.approx(3.0 / MIN_MOTION_PX, rel=1e-5)
    assert q.worst_joint["joint"] == "r_hip"


def test_adjacent_reference_pools_both_wrists_of_the_two_signs_only():
    """Sign a moves the right wrist 4 px/frame, the others 2 px/frame: the first junction's pooled
    p95 is over a and b (both wrists), the second's over b and c."""
    a = moving_wrist(21, 10.0, 4.0)
    b, c = moving_wrist(21, 100.0, 2.0), moving_wrist(21, 150.0, 2.0)
    q = assess(*sentence(("a", S, a), ("b", S, b), ("c", S, c)), W, H, FPS)
    first, second = q.junctions
    steps_ab = np.concatenate([np.full(20, 4.0), np.zeros(20), np.full(20, 2.0), np.zeros(20)])
    assert first["adjacent_wrist_p95_px"] == pytest.approx(np.percentile(steps_ab, 95), rel=1e-4)
    steps_bc = np.concatenate([np.full(40, 2.0), np.zeros(40)])
    assert second["adjacent_wrist_p95_px"] == pytest.approx(np.percentile(steps_bc, 95), rel=1e-4)
    assert second["adjacent_ratio"] == pytest.approx(10.0 / np.percentile(steps_bc, 95), rel=1e-5)


def test_pooled_reference_is_both_wrists_in_sign_p95_over_the_whole_sentence():
    """The done-when figure: the worst wrist step in any junction over one sentence-wide p95 of both
    wrists' in-sign steps."""
    a = moving_wrist(21, 10.0, 4.0)
    b, c = moving_wrist(21, 100.0, 2.0), moving_wrist(21, 150.0, 2.0)
    q = assess(*sentence(("a", S, a), ("b", S, b), ("c", S, c)), W, H, FPS)
    steps = np.concatenate([np.full(20, 4.0), np.zeros(20), np.full(40, 2.0), np.zeros(40)])
    pooled = q.worst_wrist_pooled
    assert pooled["p95_px"] == pytest.approx(np.percentile(steps, 95), rel=1e-4)
    largest = max(max(j["r_wrist_step_px"] or 0, j["l_wrist_step_px"] or 0) for j in q.junctions)
    assert pooled["ratio"] == pytest.approx(largest / np.percentile(steps, 95), rel=1e-4)


# --------------------------------------------------------------------------- jerk, hands, checks

def test_jerk_of_a_cubic_wrist_path_and_of_a_steady_one():
    """x(t) = c·t³ px has jerk 6c px/s³ everywhere; constant velocity has none."""
    c = 1000.0
    t = np.arange(12) / FPS
    f = still(12)
    f[:, L.R_WRIST, 0] = (20.0 + c * t ** 3) / W
    q = assess(*sentence(("a", S, f)), W, H, FPS)
    assert q.jerk["sign"]["samples"] == 2 * 9                  # both wrists, 12 - 3 windows each
    assert q.jerk["sign"]["p95"] == pytest.approx(6 * c, rel=2e-3)     # the still left wrist is the lower half
    assert q.jerk["sign"]["mean"] == pytest.approx(3 * c, rel=2e-3)
    steady = assess(*sentence(("a", S, moving_wrist(12, 10.0, 3.0))), W, H, FPS)
    assert steady.jerk["sign"]["p95"] == pytest.approx(0.0, abs=1.0)   # float32 rounding only
    assert steady.jerk["transition"]["samples"] == 0 and math.isnan(steady.jerk["transition"]["p95"])


def test_jerk_windows_touching_a_junction_are_transition_windows():
    q = assess(*sentence(("a", S, still(6)), ("b", T, still(2)), ("b", S, still(6))), W, H, FPS)
    # 14 frames -> 11 windows per wrist; those using only in-sign steps: 3 in a, 3 in b
    assert (q.jerk["sign"]["samples"], q.jerk["transition"]["samples"]) == (2 * 6, 2 * 5)


def test_missing_hand_shares():
    a, tr = still(10), still(2)
    a[:3, L.LEFT_HAND, 2] = 0.0                     # left hand missing in 3 of 10 sign frames
    tr[:, L.RIGHT_HAND, 2] = 0.0                    # right hand missing in both transition frames
    q = assess(*sentence(("a", S, a), ("b", T, tr), ("b", S, still(8))), W, H, FPS)
    m = q.missing_hands
    assert m["sign_frames"] == {"left": pytest.approx(3 / 18), "right": 0.0, "either": pytest.approx(3 / 18), "frames": 18}
    assert m["transition_frames"] == {"left": 0.0, "right": 1.0, "either": 1.0, "frames": 2}
    assert m["all_frames"]["either"] == pytest.approx(5 / 20)


def test_clean_sentence_passes_every_check():
    q = assess(*sentence(("a", S, still(4)), ("b", T, still(2)), ("b", S, still(4))), W, H, FPS)
    assert q.checks == {"non_finite_values": 0, "appeared": 0, "knees_ankles": 0, "out_of_range": 0,
                        "missing_drawn_frames": 0, "ok": True}


def test_a_point_missing_at_both_ends_that_appears_in_a_transition_is_counted():
    a, tr, b = still(4), still(3), still(4)
    a[-1, L.NOSE, 2] = b[0, L.NOSE, 2] = 0.0       # nose missing where the signs meet ...
    tr[:, L.NOSE, 2] = 0.0
    tr[1, L.NOSE] = (0.5, 0.2, 1.0)                # ... but drawn in the middle transition frame
    tr[2, L.R_KNEE] = (0.45, 0.95, 1.0)            # and a knee in the last one
    b[1, L.L_EYE] = (0.55, 0.2, 1.0)               # a point appearing inside a sign is not a transition's doing
    q = assess(*sentence(("a", S, a), ("b", T, tr), ("b", S, b)), W, H, FPS)
    assert q.checks["appeared"] == 2                # the nose and the knee (missing at both ends too)
    assert q.checks["knees_ankles"] == 1
    assert q.checks["missing_drawn_frames"] == 2
    assert q.checks["ok"] is False


def test_a_point_missing_at_one_end_only_may_show():
    a, tr, b = still(4), still(3), still(4)
    a[-1, L.NOSE, 2] = 0.0
    tr[:2, L.NOSE, 2] = 0.0                        # shown only in the half next to the end that has it
    q = assess(*sentence(("a", S, a), ("b", T, tr), ("b", S, b)), W, H, FPS)
    assert q.checks["appeared"] == 0 and q.checks["ok"]


def test_nan_and_wild_points_are_reported_and_do_not_poison_the_figures():
    f = still(6)
    f[2, L.R_WRIST, 0] = np.nan
    f[4, L.LEFT_HAND.start + 3, :2] = (3.0, 0.5)   # a valid hand point two canvases to the right
    q = assess(*sentence(("a", S, f)), W, H, FPS)
    assert q.checks["non_finite_values"] == 1
    assert q.checks["out_of_range"] == 1
    assert q.checks["missing_drawn_frames"] == 0 and q.checks["ok"] is False
    assert q.bone_cv["sign_frames"]["r_forearm"] == pytest.approx(0.0, abs=1e-6)   # the NaN frame left out
    assert q.jerk["sign"]["samples"] == 3              # every right-wrist window holds the NaN frame
    assert np.isfinite(q.jerk["sign"]["mean"])
    json.dumps(q.to_dict(), allow_nan=False)


# --------------------------------------------------------------------------- JSON and input checks

def test_to_dict_is_strict_json():
    q = assess(*sentence(("a", S, still(3))), W, H, FPS)          # no junction: ratios undefined
    d = q.to_dict()
    assert d["worst_wrist"]["ratio"] is None and d["junctions"] == []
    assert json.loads(json.dumps(d, allow_nan=False))["signs"] == ["a"]
    assert json_ready({"a": np.float32(np.inf), "b": (np.int64(2), np.bool_(True))}) == {"a": None, "b": [2, True]}


@pytest.mark.parametrize("bad", [
    lambda f, k, i: (f[:, :10], k, i, W, H, FPS),
    lambda f, k, i: (f, k[:-1], i, W, H, FPS),
    lambda f, k, i: (f, k, i, W, 0, FPS),
    lambda f, k, i: (f[:0], k[:0], i[:0], W, H, FPS),
])
def test_bad_input_is_a_value_error(bad):
    with pytest.raises(ValueError):
        assess(*bad(*sentence(("a", S, still(3)))))
