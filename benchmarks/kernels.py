"""numba kernels vs their NumPy references, per output frame, side by side in one run.

    python benchmarks/kernels.py [--signs 10 100] [--repeats 7] [--json benchmarks/results/kernels.json]

A sentence of N demo signs (cycled) goes through normalization, insert interpolation (m) and
transitions (n), by the seed's method (`signmail`, linear) and by the default one (`retarget`, smooth:
the join, the transition-length search and the transition); each stage is timed for the numba kernel
and for its NumPy reference on the same data, alternating, and the median of the repeats is divided
by the sentence's output frame count (the seed's formula, for both methods).
The renderer (numba rasterizer vs the cv2 reference renderer, 512² BGR into a reused canvas) is
timed the same way on an evenly spaced sample of RENDER_SAMPLE of the sentence's frames.
Machines here are noisy: read the ratio column, not the absolute microseconds.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from signstream.kernels.interpolate import insert_clip, insert_interpolation_reference, transition, transition_reference
from signstream.kernels import transition_smooth as smooth
from signstream.kernels.normalize import normalize_clip, normalize_signmail_reference
from signstream.kernels.retarget import link_lengths, retarget_clip, retarget_reference
from signstream.kernels.warmup import warm_up
from signstream.lexicon.demo import demo_signs
from signstream.pipeline import output_length
from signstream.render.skeleton import render_frame, render_frame_cv2
from signstream.style import DEFAULT_STYLE, default_style

STYLE = DEFAULT_STYLE.as_array()
SEED_TOTAL, DEFAULT_TOTAL = "normalize + insert + transition", "retarget + smooth join, length and frames"
RENDER_SAMPLE = 240
RENDER_SIZE = 512


def sentence(num_signs: int) -> list[np.ndarray]:
    signs = demo_signs()
    return [signs[i % len(signs)].frames for i in range(num_signs)]


def stages(clips: list[np.ndarray], n: int, m: int):
    """(name, numba callable, reference callable) for each stage over the whole sentence."""
    normalized = [normalize_clip(c, STYLE) for c in clips]
    inserted = [insert_clip(c, m) for c in normalized]
    pairs = [(a[-1], b[0]) for a, b in zip(inserted, inserted[1:])]
    return [
        ("normalize", lambda: [normalize_clip(c, STYLE) for c in clips],
         lambda: [normalize_signmail_reference(c, STYLE) for c in clips]),
        (f"insert (m={m})", lambda: [insert_clip(c, m) for c in normalized],
         lambda: [insert_interpolation_reference(c, m) for c in normalized]),
        (f"transition (n={n})", lambda: [transition(a, b, n) for a, b in pairs],
         lambda: [transition_reference(a, b, n) for a, b in pairs]),
    ]


def default_stages(clips: list[np.ndarray], n: int, m: int):
    """The same, for `retarget` and smooth transitions (join, length search at n, transition)."""
    skeleton = default_style().skeleton
    args = (link_lengths(np.array(skeleton.body), np.array(skeleton.hand)),
            np.array([skeleton.face_width, skeleton.face_length]), np.array([0.5, 0.25]), 1.0)
    inserted = [insert_clip(retarget_clip(c, *args), m) for c in clips]
    pairs = list(zip(inserted, inserted[1:]))
    ends = [(a[-1], b[0], {"before": a[-2], "after": b[1], "gap": m + 1}) for a, b in pairs]
    return [
        ("retarget", lambda: [retarget_clip(c, *args) for c in clips],
         lambda: [retarget_reference(c, *args) for c in clips]),
        ("smooth join", lambda: [smooth.choose_join(a, b) for a, b in pairs],
         lambda: [smooth.choose_join_reference(a, b) for a, b in pairs]),
        (f"smooth length probe (n={n})", lambda: [smooth.largest_steps(a, b, n, **e) for a, b, e in ends],
         lambda: [smooth.largest_steps_reference(a, b, n, **e) for a, b, e in ends]),
        (f"smooth transition (n={n})", lambda: [smooth.smooth_transition(a, b, n, **e) for a, b, e in ends],
         lambda: [smooth.smooth_transition_reference(a, b, n, **e) for a, b, e in ends]),
    ]


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def run(num_signs: int, n: int, m: int, repeats: int) -> dict:
    clips = sentence(num_signs)
    frames_out = output_length([c.shape[0] for c in clips], n, m)
    rows = []
    for total, stage_list in ((SEED_TOTAL, stages(clips, n, m)), (DEFAULT_TOTAL, default_stages(clips, n, m))):
        total_numba = total_ref = 0.0
        for name, ours, reference in stage_list:
            ours(), reference()  # first calls outside the timing (allocations, caches)
            t_ours, t_ref = [], []
            for _ in range(repeats):  # alternate so both see the same machine state
                t_ours.append(median_seconds(ours, 1))
                t_ref.append(median_seconds(reference, 1))
            a, b = statistics.median(t_ours), statistics.median(t_ref)
            total_numba += a
            total_ref += b
            rows.append({"stage": name, "numba_us_per_frame": 1e6 * a / frames_out,
                         "numpy_us_per_frame": 1e6 * b / frames_out, "speedup": b / a})
        rows.append({"stage": total, "numba_us_per_frame": 1e6 * total_numba / frames_out,
                     "numpy_us_per_frame": 1e6 * total_ref / frames_out, "speedup": total_ref / total_numba})
    rows.append(_render_row(clips, repeats))
    return {"signs": num_signs, "output_frames": frames_out, "n": n, "m": m, "rows": rows}


def _render_row(clips: list[np.ndarray], repeats: int) -> dict:
    """numba rasterizer vs the cv2 renderer (the reference), per rendered frame."""
    frames = np.concatenate([normalize_clip(c, STYLE) for c in clips])
    sample = frames[np.linspace(0, len(frames) - 1, min(RENDER_SAMPLE, len(frames))).astype(int)]
    canvas = np.empty((RENDER_SIZE, RENDER_SIZE, 3), np.uint8)

    def draw(fn):
        return lambda: [fn(f, RENDER_SIZE, RENDER_SIZE, out=canvas, channels="bgr") for f in sample]

    ours, reference = draw(render_frame), draw(render_frame_cv2)
    ours(), reference()
    t_ours, t_ref = [], []
    for _ in range(repeats):
        t_ours.append(median_seconds(ours, 1))
        t_ref.append(median_seconds(reference, 1))
    a, b = statistics.median(t_ours), statistics.median(t_ref)
    return {"stage": f"render {RENDER_SIZE}² (cv2 reference)", "numba_us_per_frame": 1e6 * a / len(sample),
            "numpy_us_per_frame": 1e6 * b / len(sample), "speedup": b / a}


def summary(signs: tuple[int, ...] = (10, 100), n: int = 8, m: int = 1, repeats: int = 7) -> dict:
    """The bench's kernel figures: per-frame costs for each sentence length, and the headline
    speed-up and normalize + transition cost on the longest sentence."""
    warm_up()
    runs = [run(s, n, m, repeats) for s in signs]
    longest = {row["stage"].split(" (")[0]: row for row in runs[-1]["rows"]}
    total = SEED_TOTAL
    per_frame = [next(row for row in r["rows"] if row["stage"] == total)["numba_us_per_frame"] for r in runs]
    render = next(row for row in runs[-1]["rows"] if row["stage"].startswith("render"))
    return {
        "render_speedup": round(render["speedup"], 2),
        "render_us": round(render["numba_us_per_frame"], 1),
        "speedup": round(longest[SEED_TOTAL]["speedup"], 2),
        "default_speedup": round(longest[DEFAULT_TOTAL]["speedup"], 2),
        "default_us": round(longest[DEFAULT_TOTAL]["numba_us_per_frame"], 3),
        "normalize_transition_us": round(longest["normalize"]["numba_us_per_frame"]
                                         + longest["transition"]["numba_us_per_frame"], 3),
        # per output frame, longest sentence / shortest: 1.0 when the cost grows linearly
        "per_frame_cost_ratio": round(per_frame[-1] / per_frame[0], 2),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--signs", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--n", type=int, default=8, help="num_interpolation")
    parser.add_argument("--m", type=int, default=1, help="num_insert_interpolation")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()

    warm_up()
    report = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}",
        "command": "python benchmarks/kernels.py --signs " + " ".join(map(str, args.signs)),
        "runs": [run(s, args.n, args.m, args.repeats) for s in args.signs],
    }
    print(f"# kernels, {report['date']}, {report['machine']}")
    for r in report["runs"]:
        print(f"\n{r['signs']} signs -> {r['output_frames']} output frames (n={r['n']}, m={r['m']})")
        print(f"{'stage':34s} {'numba µs/frame':>15s} {'NumPy µs/frame':>15s} {'speed-up':>9s}")
        for row in r["rows"]:
            print(f"{row['stage']:34s} {row['numba_us_per_frame']:15.2f} {row['numpy_us_per_frame']:15.2f} {row['speedup']:8.1f}x")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
