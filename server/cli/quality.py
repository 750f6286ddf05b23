"""`signstream quality RESULTS_DIR ...`: motion-quality report of `signstream generate` outputs.

Reads each folder's normalized_keypoints.npz, prints one table row per folder (figures defined in
signstream/quality.py) and writes quality.json and quality.png: both wrists' x and y over time, one row
of panels per folder, transitions shaded and signs named, so two methods can be compared by eye.
"""
from __future__ import annotations

import argparse
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from signstream.errors import InvalidArgument
from signstream.pipeline import FrameKind
from signstream.quality import WRISTS, SentenceQuality, assess_results, find_junctions
from signstream.results import NPZ_NAME, load_results_npz

REQUIRED_KEYS = ("keypoints", "kinds", "sign_ids", "fps", "width", "height")
JSON_NAME, PNG_NAME = "quality.json", "quality.png"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "quality",
        help="motion-quality report of results folders (bone lengths, transition steps, jerk, hands)",
        description="Measure each results folder written by `signstream generate`: bone-length CV per limb, "
                    "the largest joint step in transitions against the in-sign 95th percentile, wrist jerk, "
                    "frames with missing hands, and checks (NaN, missing points drawn). Prints a table and "
                    f"writes {JSON_NAME} and {PNG_NAME} (wrist trajectories across sign boundaries).",
    )
    p.add_argument("results", nargs="+", metavar="RESULTS_DIR", help=f"folders holding {NPZ_NAME}")
    p.add_argument("--out", default=None, metavar="DIR",
                   help=f"folder for {JSON_NAME} and {PNG_NAME} (default: the first RESULTS_DIR)")
    p.add_argument("--labels", nargs="+", default=None, metavar="NAME",
                   help="one name per RESULTS_DIR for the table and plot (default: the folder names)")
    p.set_defaults(run=run)


# --------------------------------------------------------------------------- input

def load_results_dir(folder: str | Path) -> dict[str, np.ndarray]:
    """The arrays of folder/normalized_keypoints.npz, or InvalidArgument saying what is wrong."""
    path = Path(folder)
    if not path.is_dir():
        raise InvalidArgument(f"{path} is not a folder: pass folders written by `signstream generate`",
                              field="results")
    npz = path / NPZ_NAME
    if not npz.is_file():
        raise InvalidArgument(f"{path} is not a results folder: it has no {NPZ_NAME} "
                              "(written by `signstream generate --out DIR`)", field="results")
    try:
        data = load_results_npz(npz)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InvalidArgument(f"cannot read {npz}: {exc}", field="results") from exc
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise InvalidArgument(f"{npz} lacks {', '.join(missing)}: it was not written by `signstream generate`",
                              field="results")
    return data


def assess_dir(data: dict[str, np.ndarray], folder: str | Path) -> SentenceQuality:
    """assess_results, with a bad array reported as bad input naming the folder."""
    try:
        return assess_results(data)
    except ValueError as exc:
        raise InvalidArgument(f"{Path(folder) / NPZ_NAME}: {exc}", field="results") from exc


# --------------------------------------------------------------------------- output

def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f} %"


def _num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.{digits}f}"


def table_lines(labels: Sequence[str], qualities: Sequence[SentenceQuality]) -> list[str]:
    """Markdown table, one row per sentence."""
    lines = ["| results | frames | arm CV sign / all frames | worst wrist step / p95 (junction) | "
             "worst wrist step / both wrists' p95 in the signs joined | worst body joint step / p95 | "
             "wrist jerk p95 sign / transition (px/s³) | missing hand | "
             "NaN/inf | missing drawn |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, q in zip(labels, qualities):
        d = q.to_dict()
        ww, wa, wj = d["worst_wrist"], d["worst_wrist_adjacent"], d["worst_joint"]
        jerk, checks = d["jerk"], d["checks"]
        where = f" ({ww['joint']}, {ww['from']} → {ww['to']})" if ww["joint"] else ""
        lines.append(
            f"| {label} | {d['frames']} | {_pct(d['arm_cv']['sign_frames'])} / {_pct(d['arm_cv']['all_frames'])} | "
            f"{_num(ww['ratio'])}{where} | {_num(wa['ratio'])} | {_num(wj['ratio'])} ({wj['joint'] or '–'}) | "
            f"{_num(jerk['sign']['p95'])} / {_num(jerk['transition']['p95'])} | "
            f"{_pct(d['missing_hands']['all_frames']['either'])} | {checks['non_finite_values']} | "
            f"{checks['missing_drawn_frames']} |")
    return lines


def _sign_spans(sign_ids: np.ndarray, kinds: np.ndarray) -> list[tuple[str, int, int]]:
    """(sign, first, last) frame of each sign's own frames, in order."""
    own = np.flatnonzero(np.asarray(kinds) != FrameKind.TRANSITION)
    spans: list[tuple[str, int, int]] = []
    for k in own:
        if spans and spans[-1][0] == sign_ids[k] and spans[-1][2] == k - 1:
            spans[-1] = (spans[-1][0], spans[-1][1], int(k))
        else:
            spans.append((str(sign_ids[k]), int(k), int(k)))
    return spans


def joint_track(data: dict[str, np.ndarray], joint: int, axis: int) -> np.ndarray:
    """(N,) float64: a body joint's x (axis 0) or y (axis 1) in pixels, NaN where it is missing, so a
    plot leaves a gap instead of drawing a missing point."""
    frames = data["keypoints"]
    size = float(data["width"]) if axis == 0 else float(data["height"])
    v = frames[:, joint, axis].astype(np.float64) * size
    v[~(frames[:, joint, 2] > 0) | ~np.isfinite(v)] = np.nan
    return v


def _draw_panel(axes, data: dict[str, np.ndarray], label: str, name_signs: bool) -> None:
    """Wrist x (left axis) and y (right axis) in pixels over time on one row of two axes."""
    kinds, ids, fps = data["kinds"], np.asarray(data["sign_ids"]).astype(str), float(data["fps"])
    t = np.arange(kinds.shape[0]) / fps
    for col, ax in enumerate(axes):
        for name, j in WRISTS.items():
            ax.plot(t, joint_track(data, j, col), lw=1.2, label=name.replace("_", "-"))
        for jn in find_junctions(kinds, ids):
            ax.axvspan(jn.first / fps, jn.last / fps, color="tab:orange", alpha=0.18, lw=0)
            ax.axvline((jn.first + jn.last) / 2 / fps, color="grey", lw=0.6, ls="--")
        ax.set_ylabel(f"{label}\nwrist {'xy'[col]} (px)" if col == 0 else f"wrist {'xy'[col]} (px)")
        if col == 1:
            ax.invert_yaxis()                                              # image y grows downwards
    if name_signs:
        for sign, first, last in _sign_spans(ids, kinds):
            axes[0].annotate(sign, ((first + last) / 2 / fps, 1.0), xycoords=("data", "axes fraction"),
                             ha="center", va="bottom", fontsize=7)


def plot_trajectories(path: str | Path, panels: Sequence[tuple[str, dict[str, np.ndarray]]]) -> Path:
    """PNG with one row per (label, results arrays): wrist x and y over time, transitions shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(panels), 2, figsize=(14, 2.6 * len(panels) + 0.8), squeeze=False)
    try:
        for row, (label, data) in enumerate(panels):
            _draw_panel(axes[row], data, label, name_signs=True)
        for ax in axes[-1]:
            ax.set_xlabel("time (s)")
        axes[0][1].legend(loc="upper right", fontsize=7)
        fig.suptitle("wrist trajectories across sign boundaries (shaded: junctions, transition frames)", fontsize=10)
        fig.tight_layout()
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=110)
        return out
    finally:
        plt.close(fig)


def write_json(path: str | Path, doc: dict) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    return out


# --------------------------------------------------------------------------- command

def _labels(args: argparse.Namespace) -> list[str]:
    if args.labels is None:
        return [Path(r).resolve().name or str(r) for r in args.results]
    if len(args.labels) != len(args.results):
        raise InvalidArgument(f"--labels gives {len(args.labels)} names for {len(args.results)} results folders: "
                              "give one name per folder", field="labels")
    return list(args.labels)


def run(args: argparse.Namespace) -> int:
    labels = _labels(args)
    loaded = [load_results_dir(r) for r in args.results]
    qualities = [assess_dir(d, r) for d, r in zip(loaded, args.results)]
    out = Path(args.out if args.out is not None else args.results[0])
    doc = {"report": "quality",
           "results": [{"label": label, "path": str(r), **q.to_dict()}
                       for label, r, q in zip(labels, args.results, qualities)]}
    print("\n".join(table_lines(labels, qualities)))
    print(write_json(out / JSON_NAME, doc))
    print(plot_trajectories(out / PNG_NAME, list(zip(labels, loaded))))
    return 0
