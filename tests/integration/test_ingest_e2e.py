"""`signstream ingest` end to end: photo videos -> real MediaPipe -> a lexicon `generate` can use."""
from __future__ import annotations

import json

import numpy as np
import pytest

from signstream.config import Settings
from signstream.ingest.state import MANIFEST_KEY
from signstream.kernels import layout as L
from signstream.lexicon import open_lexicon
from signstream.pipeline import output_length
from signstream.results import NPZ_NAME, VIDEO_NAME, load_results_npz
from tests.support.ingest_media import CLIP_LENGTHS, copy_tree, run_cli, tree_bytes


def test_every_sign_has_its_frames_and_a_person(clean_lexicon):
    lexicon = open_lexicon(Settings(lexicon=str(clean_lexicon)))
    assert lexicon.list_signs() == sorted(CLIP_LENGTHS)
    for sign_id, length in CLIP_LENGTHS.items():
        clip = lexicon.get_clip(sign_id)
        assert clip.frames.shape == (length, L.NUM_POINTS, 3), sign_id
        assert np.all(np.isfinite(clip.frames)), sign_id
        assert clip.fps == pytest.approx(25.0)
        body = clip.frames[:, L.BODY]
        # Every photo shows a person facing the camera: a neck (from both shoulders) in every frame,
        # inside the image, with the subject's right shoulder on the image's left.
        assert np.all(body[:, L.NECK, 2] > 0), sign_id
        assert np.all((body[:, L.NECK, :2] > 0) & (body[:, L.NECK, :2] < 1)), sign_id
        assert np.all(body[:, L.R_SHOULDER, 0] < body[:, L.L_SHOULDER, 0]), sign_id
    assert lexicon.get_clip("hello").gloss == "HELLO" and lexicon.get_clip("camera").gloss is None


def test_shared_video_frames_agree_between_signs(clean_lexicon):
    """hello = astronaut 0..5 and thank-you = astronaut 4..11 overlap in frames 4 and 5, which are
    extracted once and must be the same keypoints in both clips; the camera moves, so the neck moves."""
    lexicon = open_lexicon(Settings(lexicon=str(clean_lexicon)))
    hello, thanks = lexicon.get_clip("hello").frames, lexicon.get_clip("thank-you").frames
    np.testing.assert_array_equal(hello[4:6], thanks[0:2])
    neck = thanks[:, L.NECK, :2]
    assert np.linalg.norm(neck[-1] - neck[0]) > 0.02


def test_manifest_describes_every_built_sign(clean_lexicon, video_dir):
    import hashlib

    manifest = json.loads((clean_lexicon / MANIFEST_KEY).read_text())
    table = json.loads((clean_lexicon / "signs.json").read_text())
    clips = {row["sign_id"]: row["clip"] for row in table["signs"]}
    assert manifest["format"] == "signstream-ingest-manifest" and set(manifest["signs"]) == set(CLIP_LENGTHS)
    camera = manifest["signs"]["camera"]
    assert camera["video"] == "videos/camera.mp4" and camera["end_frame"] is None
    assert camera["video_sha256"] == hashlib.sha256((video_dir / "videos/camera.mp4").read_bytes()).hexdigest()
    for sign_id, record in manifest["signs"].items():
        assert record["clip_key"] == clips[sign_id] and (clean_lexicon / record["clip_key"]).is_file()


def test_generate_runs_on_the_ingested_lexicon(clean_lexicon, tmp_path):
    out = tmp_path / "results"
    code = run_cli(["generate", "--lexicon", str(clean_lexicon), "--out", str(out), "--no-progress",
                    "--num_interpolation", "2", "--transition", "linear", "--sign_ids", "\u00b6hello", "thank-you", "camera", "\u00b6grace"])
    assert code == 0
    npz = load_results_npz(out / NPZ_NAME)
    lengths = [CLIP_LENGTHS[s] for s in ("hello", "thank-you", "camera", "grace")]
    assert npz["keypoints"].shape[0] == output_length(lengths, 2, 0)
    assert np.all(np.isfinite(npz["keypoints"])) and (out / VIDEO_NAME).stat().st_size > 0


def test_second_cli_run_extracts_nothing_and_failures_exit_2(clean_lexicon, video_dir, tmp_path, capsys, caplog):
    lexicon = copy_tree(clean_lexicon, tmp_path / "lexicon")
    before = tree_bytes(lexicon)
    table = tmp_path / "more.csv"
    table.write_text("sign_id,video,start_frame,end_frame\n"
                     "hello,videos/astronaut.mp4,0,5\n"          # as built (gloss now empty)
                     "nope,videos/not-there.mp4,0,3\n"
                     "a/b,videos/astronaut.mp4,0,3\n")
    code = run_cli(["ingest", "--videos", str(video_dir), "--table", str(table),
                    "--lexicon", str(lexicon), "--no-progress"])
    captured = capsys.readouterr()
    assert code == 2
    assert "1 up to date" in captured.out and "0 signs built" in captured.out and "0 frames extracted" in captured.out
    assert "MISSING_VIDEO" in caplog.text and "line 4" in caplog.text      # logged once, as found
    after = tree_bytes(lexicon)
    # Only the gloss of hello changed (HELLO -> none): signs.json rewritten, no clip touched.
    assert {k for k in after if after[k] != before.get(k)} == {"signs.json"}
    assert open_lexicon(Settings(lexicon=str(lexicon))).get_clip("hello").gloss is None


def test_triton_url_extracts_through_triton(video_dir, triton, tmp_path):
    lexicon = tmp_path / "lexicon"
    argv = ["ingest", "--videos", str(video_dir), "--table", str(video_dir / "signs.csv"),
            "--lexicon", str(lexicon), "--no-progress", "--triton-url", triton.grpc_url, "--concurrency", "4"]
    assert run_cli(argv) == 0
    manifest = json.loads((lexicon / "ingest" / "manifest.json").read_text())
    versions = {record["extractor_version"] for record in manifest["signs"].values()}
    assert len(versions) == 1 and "wholebody" in versions.pop()     # this Triton serves the stand-in wholebody
    assert sorted(open_lexicon(Settings(lexicon=str(lexicon))).list_signs()) == sorted(CLIP_LENGTHS)


def test_table_must_exist_somewhere(video_dir, tmp_path, capsys):
    code = run_cli(["ingest", "--videos", str(video_dir), "--table", "nowhere.csv",
                    "--lexicon", str(tmp_path / "lex"), "--no-progress"])
    assert code == 2 and "nowhere.csv" in capsys.readouterr().err
    code = run_cli(["ingest", "--videos", str(tmp_path / "no-such-dir"), "--table", "x.csv",
                    "--lexicon", str(tmp_path / "lex")])
    assert code == 2 and "not a directory" in capsys.readouterr().err
    assert not (tmp_path / "lex").exists()
