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
from signstream.quality import SentenceQuality, assess_results
from signstream.quality_plot import plot_trajectories
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
