"""`signstream quality` on two `signstream generate` results of the demo lexicon (the seed's method and
the new one, generated in-process through the CLI's own functions), its errors, and the side-by-side
benchmark `python -m signstream.bench.quality` on two sentences."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from signstream.bench import quality as bench
from signstream.cli import main
from signstream.kernels import layout as L
from signstream.config import Settings
from signstream.generate import GenerateRequest, generate
from signstream.lexicon import open_lexicon
from signstream.pipeline import SEED_METHOD, SynthesisOptions, synthesize
from signstream.quality import assess
from signstream.quality_plot import joint_track
from signstream.results import NPZ_NAME, SentenceFrames, load_results_npz
from signstream.style import default_style

SIGNS = ("hello", "thank-you", "please")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ARM_CV_MAX = 0.02                      # issue 7's target for `retarget`


def new_options() -> SynthesisOptions:
    """retarget with smooth transitions where the pipeline offers them, else with linear ones."""
    if "transition" in {f.name for f in dataclasses.fields(SynthesisOptions)}:
        return SynthesisOptions(8, 0, "retarget", transition="smooth")
    return SynthesisOptions(8, 0, "retarget")


@pytest.fixture(scope="module")
def results(demo_lexicon_dir, tmp_path_factory):
    """{"seed": folder, "new": folder} written by generate() as `signstream generate` does."""
    lexicon = open_lexicon(Settings(lexicon=str(demo_lexicon_dir)))
    root = tmp_path_factory.mktemp("quality")
    out = {}
    for label, options in (("seed", SynthesisOptions(8, 0, **SEED_METHOD)), ("new", new_options())):
        folder = root / label
        generate(GenerateRequest(sign_ids=SIGNS, options=options, out_dir=str(folder), progress=False), lexicon)
        out[label] = folder
    return out


def test_report_of_two_results_folders(results, tmp_path, capsys):
    out = tmp_path / "report"
    code = main(["quality", str(results["seed"]), str(results["new"]), "--labels", "seed", "new", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| seed |" in printed and "| new |" in printed
    doc = json.loads((out / "quality.json").read_text())
    seed, new = doc["results"]
    assert (seed["label"], new["label"]) == ("seed", "new")
    for r in (seed, new):
        assert r["signs"] == list(SIGNS)
        assert r["frames"] == len(load_results_npz(results[r["label"]] / NPZ_NAME)["keypoints"])
        assert r["checks"]["ok"], r["checks"]
        assert len(r["junctions"]) == len(SIGNS) - 1
        assert r["worst_wrist"]["ratio"] is not None and r["jerk"]["transition"]["samples"] > 0
    assert new["arm_cv"]["sign_frames"] <= ARM_CV_MAX
    assert new["arm_cv"]["sign_frames"] < seed["arm_cv"]["sign_frames"]
    png = (out / "quality.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000


def test_report_figures_are_those_of_the_synthesized_sentence(results, demo_lexicon_dir, tmp_path):
    """What the CLI reads back from the npz is measured exactly as the in-memory sentence."""
    main(["quality", str(results["seed"]), "--out", str(tmp_path)])
    reported = json.loads((tmp_path / "quality.json").read_text())["results"][0]
    lexicon = open_lexicon(Settings(lexicon=str(demo_lexicon_dir)))
    clips = [lexicon.get_clip(s) for s in SIGNS]
    style = default_style()
    sentence = SentenceFrames.from_chunks(synthesize(((c.sign_id, c.frames) for c in clips), style,
                                                     SynthesisOptions(8, 0, **SEED_METHOD)))
    direct = assess(sentence.frames, sentence.kinds, sentence.sign_ids, style.width, style.height, clips[0].fps)
    assert reported["label"] == "seed"
    assert reported["arm_cv"] == pytest.approx(direct.to_dict()["arm_cv"])
    assert reported["worst_wrist"]["ratio"] == pytest.approx(direct.worst_wrist["ratio"])


def test_default_out_is_the_first_results_folder(results, tmp_path):
    folder = tmp_path / "copy"
    folder.mkdir()
    (folder / NPZ_NAME).write_bytes((results["seed"] / NPZ_NAME).read_bytes())
    assert main(["quality", str(folder)]) == 0
    assert (folder / "quality.json").is_file() and (folder / "quality.png").is_file()


def test_plotted_tracks_leave_missing_wrists_out(results):
    data = dict(load_results_npz(results["seed"] / NPZ_NAME))
    frames = data["keypoints"].copy()
    frames[5, L.R_WRIST] = (0.25, 0.5, 0.0)           # flagged missing, coordinates still on the canvas
    frames[6, L.R_WRIST, 1] = np.nan
    data["keypoints"] = frames
    x, y = joint_track(data, L.R_WRIST, 0), joint_track(data, L.R_WRIST, 1)
    assert np.isnan(x[5]) and np.isnan(y[5]) and np.isnan(y[6])
    assert x[0] == pytest.approx(frames[0, L.R_WRIST, 0] * int(data["width"]))
    assert y[0] == pytest.approx(frames[0, L.R_WRIST, 1] * int(data["height"]))


def _npz_without_kinds(folder, source):
    data = load_results_npz(source / NPZ_NAME)
    np.savez(folder / NPZ_NAME, **{k: v for k, v in data.items() if k != "kinds"})


@pytest.mark.parametrize("case, message", [
    ("absent", "is not a folder"),
    ("empty", "is not a results folder"),
    ("corrupt", "cannot read"),
    ("incomplete", "lacks kinds"),
    ("labels", "give one name per folder"),
])
def test_bad_input_exits_2_with_a_clear_message(results, tmp_path, capsys, case, message):
    folder = tmp_path / "bad"
    if case != "absent":
        folder.mkdir()
    if case == "corrupt":
        (folder / NPZ_NAME).write_bytes(b"not a zip archive")
    if case == "incomplete":
        _npz_without_kinds(folder, results["seed"])
    args = ["quality", str(folder)] if case != "labels" else ["quality", str(results["seed"]), "--labels", "a", "b"]
    assert main([*args, "--out", str(tmp_path / "report")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "report").exists()


def test_benchmark_on_two_sentences(tmp_path):
    """Every method side by side, a photo style and the default style, targets marked met/missed."""
    assert bench.main(["--sentences", "2", "--photos", "grace_hopper", "--out", str(tmp_path)]) == 0
    doc = json.loads((tmp_path / "quality.json").read_text())
    assert doc["setup"]["sentences"][0] == list(bench.FIRST_SENTENCE) and len(doc["setup"]["sentences"]) == 2
    assert set(doc["styles"]) == {bench.PHOTO_STYLES, bench.DEFAULT_STYLE_NAME}
    names = [bench.method_name(m) for m in bench.METHODS]
    for style in doc["styles"].values():
        assert list(style) == names
        seed = style[names[0]]["worst"]
        assert seed["sentences"] == 2 and seed["non_finite_values"] == 0 and seed["missing_drawn_frames"] == 0
    retarget = doc["styles"][bench.PHOTO_STYLES]["retarget + linear"]["worst"]
    signmail = doc["styles"][bench.PHOTO_STYLES]["signmail + linear"]["worst"]
    assert retarget["arm_cv_sign_frames"] <= ARM_CV_MAX and retarget["arm_cv_sign_frames"] < signmail["arm_cv_sign_frames"]
    # the default style's first sentence is what assess() says of it directly
    first = doc["per_style"][bench.DEFAULT_STYLE_NAME]["signmail + linear"]["sentences"][0]
    assert first["signs"] == list(bench.FIRST_SENTENCE)
    md = (tmp_path / "quality.md").read_text()
    assert all(f"| {name} |" in md for name in names)
    assert "✓" in md and "| met |" in md
    assert (tmp_path / "quality.png").read_bytes().startswith(PNG_MAGIC)


def test_a_method_the_pipeline_does_not_offer_is_listed_not_run():
    reason = bench.method_options(("signmail", "no-such-transition"), 8, 0)
    assert isinstance(reason, str) and "no-such-transition" in reason
    lines = bench.method_table({"signmail + no-such-transition": {"available": False, "reason": reason}})
    assert "not available" in lines[-1] and lines[-1].count("|") == lines[0].count("|")


def _sentence_summary(wrist: float, adjacent: float, arm: float | None, nan: int) -> dict:
    return {"frames": 100 * nan, "transition_frames": [8] * nan + [12],
            "worst_wrist": {"ratio": wrist}, "worst_wrist_adjacent": {"ratio": adjacent},
            "worst_wrist_pooled": {"ratio": adjacent},
            "arm_cv": {"sign_frames": arm, "all_frames": arm}, "worst_joint": {"ratio": wrist},
            "jerk": {"sign": {"p95": wrist}, "transition": {"p95": None}}, "missing_hands": {"either": arm},
            "checks": {"non_finite_values": nan, "missing_drawn_frames": 0, "out_of_range": 0}}


def test_benchmark_figures_are_the_worst_over_sentences():
    w = bench.worst([_sentence_summary(1.0, 3.0, 0.01, 1), _sentence_summary(2.0, 1.0, None, 2)])
    assert (w["wrist_step_ratio"], w["wrist_step_ratio_adjacent"], w["arm_cv_sign_frames"]) == (2.0, 3.0, 0.01)
    assert w["jerk_p95_transition"] is None and w["non_finite_values"] == 3 and w["sentences"] == 2
    assert (w["transition_frames_mean"], w["transition_frames_max"], w["frames_mean"]) == (9.6, 12, 150.0)


def test_benchmark_sentences_are_fixed():
    ids = [f"s{i}" for i in range(14)]
    first = bench.choose_sentences(ids, 3, seed=7)
    assert first == bench.choose_sentences(list(reversed(ids)), 3, seed=7)
    assert first[0] == bench.FIRST_SENTENCE and all(len(set(s)) == bench.SENTENCE_LENGTH for s in first)
