"""Motion quality of the synthesis methods side by side on the demo lexicon (issue 7, item 4).

    python -m signstream.bench.quality [--sentences 4] [--photos astronaut camera grace_hopper] [--out DIR]

Every method (normalization, transition) in METHODS synthesizes the same fixed 6-sign sentences (the first
is the one tests/integration/test_retarget_photo.py uses, the others drawn with a fixed seed) from the demo
lexicon, with a style from each real photo (benchmarks/photos.py; MediaPipe in this process, as
`signstream generate` extracts it) and with the default style. signstream/quality.py measures each
sentence; a method's figure is the worst over the sentences (and, for "photo styles", over the photos).
Writes quality.json (every sentence's figures), quality.md (the side-by-side tables, each figure beside
its target from issue 7's done-when with met/missed) and quality.png (wrist trajectories of the first
sentence with the first photo's style, one row per method). A method the pipeline does not offer yet is
listed as not available.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from signstream.bench.report import document, rows_table, write_json
from signstream.config import Settings
from signstream.errors import InvalidArgument
from signstream.lexicon import open_lexicon
from signstream.lexicon.demo import write_demo_lexicon
from signstream.pipeline import SynthesisOptions, synthesize
from signstream.quality import SentenceQuality, assess
from signstream.quality_plot import plot_trajectories
from signstream.render import frame_rate_from_clips
from signstream.results import SentenceFrames
from signstream.style import Style, default_style, style_from_image

ROOT = Path(__file__).resolve().parents[1]
METHODS = (("signmail", "linear"), ("retarget", "linear"), ("retarget", "smooth"), ("signmail", "smooth"))
FIRST_SENTENCE = ("hello", "thank-you", "please", "yes", "no", "help")
SENTENCE_LENGTH = 6
ARM_CV_MAX, WRIST_RATIO_MAX = 0.02, 1.5        # issue 7's done-when
PHOTO_STYLES, DEFAULT_STYLE_NAME = "photo styles", "default style"


# --------------------------------------------------------------------------- inputs

def method_name(method: tuple[str, str]) -> str:
    return f"{method[0]} + {method[1]}"


def method_options(method: tuple[str, str], n: int, m: int) -> SynthesisOptions | str:
    """Validated options for (normalization, transition), or why the pipeline cannot run it."""
    normalization, transition = method
    names = {f.name for f in dataclasses.fields(SynthesisOptions)}
    if "transition" not in names:
        if transition != "linear":
            return "SynthesisOptions has no transition field (only linear transitions)"
        extra = {}
    else:
        extra = {"transition": transition}
    try:
        return SynthesisOptions(num_interpolation=n, num_insert_interpolation=m, normalization=normalization,
                                **extra).validated()
    except InvalidArgument as exc:
        return exc.message


def choose_sentences(sign_ids: Sequence[str], count: int, seed: int) -> list[tuple[str, ...]]:
    """FIRST_SENTENCE, then count - 1 draws of 6 different signs (fixed by seed)."""
    rng = np.random.default_rng(seed)
    pool = sorted(sign_ids)
    out = [FIRST_SENTENCE]
    while len(out) < count:
        out.append(tuple(str(s) for s in rng.choice(pool, SENTENCE_LENGTH, replace=False)))
    return out[:count]


def photo_styles(names: Sequence[str]) -> dict[str, Style]:
    """Style per photo name, keypoints extracted in this process (MediaPipe Holistic, as `generate`)."""
    from signstream.bench.photos import PHOTOS
    from signstream.extract.base import LocalExtractor, extract_once

    unknown = sorted(set(names) - set(PHOTOS))
    if unknown:
        raise SystemExit(f"unknown photos {unknown}; choose from {sorted(PHOTOS)}")
    styles = {}
    for name in names:
        rgb = PHOTOS[name]()
        frame, _ = asyncio.run(extract_once(rgb, LocalExtractor()))
        styles[name] = style_from_image(rgb, frame)
    return styles


# --------------------------------------------------------------------------- measuring

def measure(clips: list, style: Style, options: SynthesisOptions) -> tuple[SentenceQuality, dict]:
    """Synthesize one sentence and assess it: (quality, results arrays as the npz would hold them)."""
    chunks = synthesize(((c.sign_id, c.frames) for c in clips), style, options)
    sentence = SentenceFrames.from_chunks(chunks)
    fps = frame_rate_from_clips([c.fps for c in clips])
    data = {"keypoints": sentence.frames, "kinds": sentence.kinds, "sign_ids": sentence.sign_ids,
            "fps": fps, "width": style.width, "height": style.height}
    return assess(sentence.frames, sentence.kinds, sentence.sign_ids, style.width, style.height, fps), data


def summary(q: SentenceQuality) -> dict:
    """The per-sentence figures kept in quality.json."""
    d = q.to_dict()
    return {"signs": d["signs"], "frames": d["frames"], "arm_cv": d["arm_cv"],
            "bone_cv_sign_frames": d["bone_cv"]["sign_frames"], "worst_wrist": d["worst_wrist"],
            "worst_wrist_adjacent": d["worst_wrist_adjacent"], "worst_wrist_pooled": d["worst_wrist_pooled"],
            "worst_joint": d["worst_joint"], "jerk": d["jerk"],
            "transition_frames": [j["transition_frames"] for j in d["junctions"]],
            "missing_hands": d["missing_hands"]["all_frames"],
            "checks": d["checks"]}


def _max(values) -> float | None:
    kept = [v for v in values if v is not None]
    return max(kept) if kept else None


def worst(sentences: Sequence[dict]) -> dict:
    """A method's figures: the worst over sentence summaries (counts summed)."""
    wrist, adjacent, pooled = (
        max((s[key] for s in sentences if s[key]["ratio"] is not None), key=lambda w: w["ratio"], default={"ratio": None})
        for key in ("worst_wrist", "worst_wrist_adjacent", "worst_wrist_pooled"))
    return {
        "sentences": len(sentences),
        "arm_cv_sign_frames": _max(s["arm_cv"]["sign_frames"] for s in sentences),
        "arm_cv_all_frames": _max(s["arm_cv"]["all_frames"] for s in sentences),
        "wrist_step_ratio": wrist["ratio"], "wrist_step_where": wrist,
        "wrist_step_ratio_adjacent": adjacent["ratio"], "wrist_step_adjacent_where": adjacent,
        "wrist_step_ratio_pooled": pooled["ratio"], "wrist_step_pooled_where": pooled,
        "joint_step_ratio": _max(s["worst_joint"]["ratio"] for s in sentences),
        "transition_frames_mean": float(np.mean([n for s in sentences for n in s["transition_frames"]] or [0])),
        "transition_frames_max": max((n for s in sentences for n in s["transition_frames"]), default=0),
        "frames_mean": float(np.mean([s["frames"] for s in sentences])),
        "jerk_p95_sign": _max(s["jerk"]["sign"]["p95"] for s in sentences),
        "jerk_p95_transition": _max(s["jerk"]["transition"]["p95"] for s in sentences),
        "missing_hand_share": _max(s["missing_hands"]["either"] for s in sentences),
        "non_finite_values": sum(s["checks"]["non_finite_values"] for s in sentences),
        "missing_drawn_frames": sum(s["checks"]["missing_drawn_frames"] for s in sentences),
        "out_of_range": sum(s["checks"]["out_of_range"] for s in sentences),
    }


# --------------------------------------------------------------------------- report

def _met(value, ok: bool | None) -> str:
    mark = {True: " ✓", False: " **✗**", None: ""}[ok]
    return f"{value}{mark}"


def _le(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def _fmt(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "–"
    if pct:
        return f"{100 * value:.2f} %"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.2f}"


def method_table(methods: dict[str, dict]) -> list[str]:
    """Markdown: one row per method, targets in the header, ✓ / ✗ beside each figure that has one."""
    lines = [f"| method | arm CV, sign frames (≤ {ARM_CV_MAX:.0%} retarget) | arm CV, all frames (≤ {ARM_CV_MAX:.0%} "
             f"retarget) | worst wrist step in a transition / both wrists' in-sign p95 in the two signs joined "
             f"(≤ {WRIST_RATIO_MAX}) | the same / that wrist's in-sign p95 over the sentence | the same / both "
             "wrists' in-sign p95 over the sentence | worst "
             "body-joint step / its p95 | wrist jerk p95, signs / transitions (px/s³) | transition frames, "
             "mean / max | frames per sentence | frames missing a hand | NaN/inf (0) | missing drawn (0) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, m in methods.items():
        if not m.get("available", True):
            lines.append(f"| {name} | not available: {m['reason']} |" + " |" * (lines[0].count("|") - 3))
            continue
        w = m["worst"]
        arm_target = name.startswith("retarget")
        arm = [_met(_fmt(w[k], pct=True), _le(w[k], ARM_CV_MAX) if arm_target else None)
               for k in ("arm_cv_sign_frames", "arm_cv_all_frames")]
        lines.append(
            f"| {name} | {arm[0]} | {arm[1]} | "
            f"{_met(_fmt(w['wrist_step_ratio_adjacent']), _le(w['wrist_step_ratio_adjacent'], WRIST_RATIO_MAX))} | "
            f"{_fmt(w['wrist_step_ratio'])} | {_fmt(w['wrist_step_ratio_pooled'])} | "
            f"{_fmt(w['joint_step_ratio'])} | {_fmt(w['jerk_p95_sign'])} / {_fmt(w['jerk_p95_transition'])} | "
            f"{w['transition_frames_mean']:.1f} / {w['transition_frames_max']} | {w['frames_mean']:.0f} | "
            f"{_fmt(w['missing_hand_share'], pct=True)} | {_met(w['non_finite_values'], w['non_finite_values'] == 0)} | "
            f"{_met(w['missing_drawn_frames'], w['missing_drawn_frames'] == 0)} |")
    return lines


def target_rows(methods: dict[str, dict]) -> list[dict]:
    """Issue 7's done-when figures for the photo styles: rows for report.rows_table."""
    rows = []
    for name, m in methods.items():
        if not m.get("available", True):
            continue
        w = m["worst"]
        if name.startswith("retarget"):
            for key, frames in (("arm_cv_sign_frames", "sign frames"), ("arm_cv_all_frames", "all frames")):
                rows.append({"figure": f"{name}: arm bone-length CV, {frames}", "value": _fmt(w[key], pct=True),
                             "target": f"≤ {_fmt(ARM_CV_MAX, pct=True)}", "met": _le(w[key], ARM_CV_MAX)})
        rows.append({"figure": f"{name}: largest wrist step in a transition / both wrists' in-sign p95 in the "
                               "two signs joined", "value": _fmt(w["wrist_step_ratio_adjacent"]),
                     "target": f"≤ {WRIST_RATIO_MAX}", "met": _le(w["wrist_step_ratio_adjacent"], WRIST_RATIO_MAX)})
        rows.append({"figure": f"{name}: the same / that wrist's in-sign p95 over the whole sentence (reported; "
                               "a stream cannot bound it)", "value": _fmt(w["wrist_step_ratio"]),
                     "target": f"≤ {WRIST_RATIO_MAX}", "met": _le(w["wrist_step_ratio"], WRIST_RATIO_MAX)})
        rows.append({"figure": f"{name}: NaN/inf values + frames with a missing point drawn",
                     "value": w["non_finite_values"] + w["missing_drawn_frames"], "target": "0",
                     "met": w["non_finite_values"] + w["missing_drawn_frames"] == 0})
    return rows


def markdown(doc: dict) -> str:
    setup = doc["setup"]
    lines = [f"### Motion quality — {doc['date']}, {doc['machine']}", "",
             f"`{doc['command']}` · demo lexicon · {len(setup['sentences'])} sentences of {SENTENCE_LENGTH} signs · "
             f"num_interpolation {setup['num_interpolation']}, num_insert_interpolation "
             f"{setup['num_insert_interpolation']} · photos: {', '.join(setup['photos']) or 'none'}. "
             "Each figure is the worst over the sentences (and photos); definitions in server/quality.py. "
             "Wrist steps: the largest step of a wrist in a junction (transition frames plus the steps into and "
             "out of them) over both wrists' in-sign p95 in the two signs the junction joins (the done-when "
             "figure, which `smooth` bounds), over that wrist's in-sign p95 across the sentence, and over both "
             "wrists' in-sign p95 across the sentence (these two a stream cannot know while signs arrive).",
             ""]
    for style, methods in doc["styles"].items():
        lines += [f"**{style}**", "", *method_table(methods), ""]
    if PHOTO_STYLES in doc["styles"]:
        lines += [f"Done-when figures ({PHOTO_STYLES}):", "", *rows_table(target_rows(doc["styles"][PHOTO_STYLES])), ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- run

def run_benchmark(out_dir: Path, sentence_count: int, photos: Sequence[str], with_default: bool,
                  n: int, m: int, seed: int, command: str) -> dict:
    """Measure every method on every style and sentence; write quality.{json,md,png} into out_dir."""
    with tempfile.TemporaryDirectory(prefix="signstream-quality-") as tmp:
        write_demo_lexicon(tmp, letters=False)     # the word signs: the report compares sentences of them
        lexicon = open_lexicon(Settings(lexicon=tmp))
        sentences = choose_sentences(lexicon.list_signs(), sentence_count, seed)
        clips = [[lexicon.get_clip(s) for s in sentence] for sentence in sentences]
    styles = {f"photo:{k}": v for k, v in photo_styles(photos).items()}
    if with_default:
        styles[DEFAULT_STYLE_NAME] = default_style()
    per_style: dict[str, dict[str, dict]] = {}
    plot_panels = []
    for style_name, style in styles.items():
        per_style[style_name] = {}
        for method in METHODS:
            options = method_options(method, n, m)
            if isinstance(options, str):
                per_style[style_name][method_name(method)] = {"available": False, "reason": options}
                continue
            measured = [measure(c, style, options) for c in clips]
            if style_name == next(iter(styles)):
                plot_panels.append((method_name(method), measured[0][1]))
            per_style[style_name][method_name(method)] = {"sentences": [summary(q) for q, _ in measured]}
    grouped = group_styles(per_style)
    doc = document("quality", command, setup={"sentences": [list(s) for s in sentences], "photos": list(photos),
                                               "num_interpolation": n, "num_insert_interpolation": m,
                                               "seed": seed, "methods": [method_name(x) for x in METHODS]},
                   styles=grouped, per_style=per_style)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "quality.json", doc)
    (out_dir / "quality.md").write_text(markdown(doc) + "\n")
    if plot_panels:
        plot_trajectories(out_dir / "quality.png", plot_panels)
    return doc


def group_styles(per_style: dict[str, dict[str, dict]]) -> dict[str, dict[str, dict]]:
    """{PHOTO_STYLES | DEFAULT_STYLE_NAME: {method: {"worst": figures} or unavailable}}."""
    groups: dict[str, dict[str, dict]] = {}
    for group, members in ((PHOTO_STYLES, [s for s in per_style if s.startswith("photo:")]),
                           (DEFAULT_STYLE_NAME, [s for s in per_style if s == DEFAULT_STYLE_NAME])):
        if not members:
            continue
        groups[group] = {}
        for method, first in per_style[members[0]].items():
            if "reason" in first:
                groups[group][method] = first
                continue
            sentences = [s for style in members for s in per_style[style][method]["sentences"]]
            groups[group][method] = {"worst": worst(sentences)}
    return groups


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m signstream.bench.quality", description=__doc__.split("\n\n")[0])
    p.add_argument("--sentences", type=int, default=4, help="6-sign sentences per style (default 4)")
    p.add_argument("--photos", nargs="*", default=["astronaut", "camera", "grace_hopper"],
                   help="style photos from benchmarks/photos.py (default: all three)")
    p.add_argument("--no-default-style", action="store_true", help="skip the default style")
    p.add_argument("--num_interpolation", type=int, default=8)
    p.add_argument("--num_insert_interpolation", type=int, default=0)
    p.add_argument("--seed", type=int, default=7, help="seed of the sentence draws (default 7)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="folder for quality.{json,md,png}")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.sentences < 1:
        raise SystemExit("--sentences must be at least 1")
    command = "python -m signstream.bench.quality " + " ".join(argv if argv is not None else sys.argv[1:])
    doc = run_benchmark(Path(args.out), args.sentences, args.photos, not args.no_default_style,
                        args.num_interpolation, args.num_insert_interpolation, args.seed, command.strip())
    print(markdown(doc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
