"""Missing and damaged videos, and ranges past the end: reported per sign and skipped, never fatal."""
from __future__ import annotations

import asyncio

import numpy as np
import skimage.data

from signstream.config import Settings
from signstream.ingest.report import CORRUPT_VIDEO, MISSING_VIDEO, RANGE_PAST_END
from signstream.ingest.runner import ingest
from signstream.ingest.table import parse_sign_table
from signstream.kernels import layout as L
from signstream.lexicon import LocalStore, open_lexicon
from tests.support.ingest_media import CountingExtractor, copy_tree, write_video

TABLE = """sign_id,video,start_frame,end_frame
good,videos/grace_hopper.mp4,0,3
past-end,videos/grace_hopper.mp4,8,15
late-start,videos/grace_hopper.mp4,12,
good-too,videos/grace_hopper.mp4,10,
gone,videos/no-such-video.mp4,0,3
noise,bad/random.mp4,0,3
cut,bad/truncated.mp4,0,
header,bad/header-cut.mp4,0,3
empty,bad/empty.mp4,0,3
"""


def test_bad_videos_are_reported_and_the_rest_is_built(video_dir, cached_extractor, tmp_path):
    videos = copy_tree(video_dir, tmp_path / "videos")
    real = (video_dir / "videos" / "astronaut.mp4").read_bytes()
    (videos / "bad").mkdir()
    (videos / "bad" / "random.mp4").write_bytes(np.random.default_rng(1).bytes(20_000))
    (videos / "bad" / "truncated.mp4").write_bytes(real[: len(real) * 6 // 10])
    (videos / "bad" / "header-cut.mp4").write_bytes(real[:400])
    (videos / "bad" / "empty.mp4").write_bytes(b"")
    lexicon = tmp_path / "lexicon"
    counter = CountingExtractor(cached_extractor())

    report = asyncio.run(ingest(LocalStore(videos), parse_sign_table(TABLE), LocalStore(lexicon), counter,
                                progress=False))

    assert sorted(report.built) == ["good", "good-too"]
    failed = {f.sign_id: f for f in report.failed}
    assert {s: f.code for s, f in failed.items()} == {
        "past-end": RANGE_PAST_END, "late-start": RANGE_PAST_END, "gone": MISSING_VIDEO,
        "noise": CORRUPT_VIDEO, "cut": CORRUPT_VIDEO, "header": CORRUPT_VIDEO, "empty": CORRUPT_VIDEO}
    assert "12 frames" in failed["past-end"].reason and "8..15" in failed["past-end"].reason
    assert "videos/no-such-video.mp4" in failed["gone"].reason
    for sign in ("noise", "cut", "header", "empty"):
        assert failed[sign].video in failed[sign].reason          # the message names the key
    assert not report.ok and "7 failed" in report.summary()

    lex = open_lexicon(Settings(lexicon=str(lexicon)))
    assert lex.list_signs() == ["good", "good-too"]
    assert lex.get_clip("good").frames.shape[0] == 4 and lex.get_clip("good-too").frames.shape[0] == 2


def test_no_person_is_kept_as_extracted_with_a_warning(cached_extractor, tmp_path):
    coffee = skimage.data.coffee()[:256, :320]                   # a cup on a table: nobody there
    write_video(tmp_path / "videos" / "coffee.mp4", [np.roll(coffee, 4 * i, axis=1) for i in range(3)])
    table = parse_sign_table("sign_id,video,start_frame,end_frame\ncup,coffee.mp4,0,-1\n")
    report = asyncio.run(ingest(LocalStore(tmp_path / "videos"), table, LocalStore(tmp_path / "lexicon"),
                                cached_extractor(), progress=False))
    assert report.ok and report.built == ["cup"]
    assert any("no person" in w and "cup" in w for w in report.warnings)
    clip = open_lexicon(Settings(lexicon=str(tmp_path / "lexicon"))).get_clip("cup")
    assert clip.frames.shape[0] == 3 and not np.any(clip.frames[:, L.BODY, 2] > 0)
