"""`signstream generate` on the demo lexicon with a real style photo (the core issue's acceptance)."""
from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

from signstream.cli import main
from signstream.extract.holistic import extract_frame
from signstream.kernels import layout as L
from signstream.kernels.seedformat import from_seed_frames
from signstream.lexicon import Lexicon, open_store
from signstream.config import S3Settings
from signstream.pipeline import FrameKind, output_length
from signstream.render import probe_video
from signstream.results import NPZ_NAME, PICKLE_NAME, VIDEO_NAME, load_results_npz
from signstream.style import params_from_frame

SIGNS = ["¶hello", "thank-you", "¶name", "sign"]
N_INTERP, N_INSERT = 5, 1


@pytest.fixture(scope="module")
def demo_lexicon(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lexicon")
    assert main(["lexicon", "demo", str(root)]) == 0
    return root


@pytest.fixture(scope="module")
def style_png(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("style") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope="module")
def generated(demo_lexicon, style_png, tmp_path_factory) -> Path:
    """Run the real console entry point in a subprocess, as a user would, with the seed's method
    (`signmail` + `linear`: the formula length and the proportion fitting hold exactly)."""
    out = tmp_path_factory.mktemp("results")
    cmd = [sys.executable, "-m", "signstream", "generate", "--lexicon", str(demo_lexicon), "--out", str(out),
           "--normalization", "signmail", "--transition", "linear",
           "--style_image_path", str(style_png), "--num_interpolation", str(N_INTERP),
           "--num_insert_interpolation", str(N_INSERT), "--sign_ids", *SIGNS]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out


def clip_lengths(lexicon_dir: Path) -> list[int]:
    lex = Lexicon(open_store(str(lexicon_dir), S3Settings()), cache_bytes=1 << 26)
    return [lex.get_clip(s).frames.shape[0] for s in SIGNS]


def test_outputs_have_the_formula_length_and_seed_structure(generated, demo_lexicon):
    expected = output_length(clip_lengths(demo_lexicon), N_INTERP, N_INSERT)
    with open(generated / PICKLE_NAME, "rb") as fh:
        frames = pickle.load(fh)   # we wrote it ourselves in this test
    assert isinstance(frames, list) and len(frames) == expected
    first = frames[0]
    assert set(first) == {"bodies", "hands", "faces", "pose_mp", "face_mp", "left_hand_mp", "right_hand_mp"}
    assert first["bodies"]["candidate"].shape == (18, 2) and first["bodies"]["subset"].shape == (1, 18)
    assert first["hands"].shape == (2, 21, 2) and first["faces"].shape == (1, 68, 2)
    assert first["pose_mp"].shape == (99,) and first["face_mp"].shape == (1434,)
    npz = load_results_npz(generated / NPZ_NAME)
    assert npz["keypoints"].shape == (expected, L.NUM_POINTS, 3)
    np.testing.assert_array_equal(from_seed_frames(frames), npz["keypoints"])
    assert (npz["kinds"] == FrameKind.TRANSITION).sum() == (len(SIGNS) - 1) * N_INTERP
    assert np.all(np.isfinite(npz["keypoints"]))


def test_video_is_h264_of_the_style_size(generated):
    info = probe_video(generated / VIDEO_NAME)
    npz = load_results_npz(generated / NPZ_NAME)
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert (info["width"], info["height"]) == (512, 512)          # astronaut is 512x512
    assert info["frames"] == npz["keypoints"].shape[0]
    assert info["fps"] == pytest.approx(25.0)


def test_each_sign_is_fitted_to_the_style(generated, style_png):
    """§4.1 steps 3-4: in every sign the first frame's neck is on the style neck, and the largest
    ear-to-ear distance equals the style's."""
    style_frame = extract_frame(cv2.cvtColor(cv2.imread(str(style_png)), cv2.COLOR_BGR2RGB))
    params, _ = params_from_frame(style_frame)
    npz = load_results_npz(generated / NPZ_NAME)
    kp, kinds, ids = npz["keypoints"], npz["kinds"], npz["sign_ids"]
    for sign in dict.fromkeys(ids):
        own = kp[(ids == sign) & (kinds != FrameKind.TRANSITION)]
        np.testing.assert_allclose(own[0, L.NECK, :2], (params.x, params.y), atol=1e-5)
        ears = np.abs(own[:, L.R_EAR, 0] - own[:, L.L_EAR, 0])
        ears = ears[(own[:, L.R_EAR, 2] > 0) & (own[:, L.L_EAR, 2] > 0)]
        assert ears.max() == pytest.approx(params.ear_x, abs=1e-5)


def test_unknown_sign_fails_clearly_and_writes_nothing(demo_lexicon, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["generate", "--lexicon", str(demo_lexicon), "--out", str(out), "--no-progress",
                 "--sign_ids", "¶hello", "¶no-such-sign", "¶nor-this"])
    assert code == 2
    err = capsys.readouterr().err
    assert "¶no-such-sign" in err and "¶nor-this" in err
    assert not out.exists() or not any(out.iterdir())


def test_invalid_sign_id_fails_before_anything(demo_lexicon, tmp_path, capsys):
    code = main(["generate", "--lexicon", str(demo_lexicon), "--out", str(tmp_path / "o"),
                 "--sign_ids", "¶hello", "../../etc/passwd"])
    assert code == 2
    assert "invalid sign ID" in capsys.readouterr().err


def test_every_bad_id_of_every_kind_is_reported_at_once(demo_lexicon, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["generate", "--lexicon", str(demo_lexicon), "--out", str(out), "--no-progress",
                 "--sign_ids", "¶hello", "../../etc/passwd", "¶no-such-sign", "a b", "¶", "¶nor-this"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1
    invalid, _, unknown = err.partition("unknown sign IDs:")
    assert "invalid sign ID '../../etc/passwd': it contains a path separator" in invalid
    assert "invalid sign ID 'a b': it contains whitespace" in invalid and "invalid sign ID '¶': it is empty" in invalid
    assert "¶no-such-sign, ¶nor-this" in unknown
    assert not out.exists() or not any(out.iterdir())


def test_invalid_ids_are_reported_even_when_the_lexicon_is_unusable(tmp_path, capsys):
    empty = tmp_path / "no-lexicon"
    empty.mkdir()
    code = main(["generate", "--lexicon", str(empty), "--out", str(tmp_path / "o"), "--sign_ids", "¶hello", "a/b"])
    assert code == 2
    err = capsys.readouterr().err
    assert "invalid sign ID 'a/b'" in err and "the other IDs could not be looked up" in err and "signs.json" in err


def test_style_without_person(demo_lexicon, tmp_path, capsys):
    blank = tmp_path / "coffee.png"
    cv2.imwrite(str(blank), cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR))  # a cup, no person
    args = ["generate", "--lexicon", str(demo_lexicon), "--out", str(tmp_path / "o"), "--no-progress",
            "--style_image_path", str(blank), "--num_interpolation", "2", "--sign_ids", "¶hello", "¶yes"]
    assert main(args) == 2
    assert "no person" in capsys.readouterr().err
    assert not (tmp_path / "o" / VIDEO_NAME).exists()
    assert main(args + ["--allow-default-style"]) == 0
    info = probe_video(tmp_path / "o" / VIDEO_NAME)
    assert (info["width"], info["height"]) == (600, 400)            # coffee is 600x400


def test_failure_mid_render_leaves_nothing(demo_lexicon, tmp_path, monkeypatch):
    from signstream.render.renderer import SkeletonRenderer

    calls = {"n": 0}
    real = SkeletonRenderer.draw

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 10:
            raise RuntimeError("disk on fire")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SkeletonRenderer, "draw", flaky)
    out = tmp_path / "o"
    with pytest.raises(RuntimeError):
        main(["generate", "--lexicon", str(demo_lexicon), "--out", str(out), "--no-progress",
              "--sign_ids", "¶hello", "¶yes"])
    assert list(out.iterdir()) == []                                # no results, no staging folder
