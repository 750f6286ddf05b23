"""Ingest with videos, table and lexicon all in S3 (a real moto_server over HTTP)."""
from __future__ import annotations

import asyncio
import uuid

import boto3
import numpy as np

from signstream.config import S3Settings, Settings
from signstream.ingest.runner import ingest
from signstream.ingest.table import parse_sign_table
from signstream.lexicon import open_lexicon, open_store
from tests.support.ingest_media import CountingExtractor, run_cli

TABLE = "sign_id,video,start_frame,end_frame,gloss\nhello,clips/astronaut.mp4,0,3,HELLO\nbye,clips/astronaut.mp4,2,5,\n"


def test_ingest_from_and_to_s3(moto_s3, video_dir, cached_extractor, capsys):
    bucket = f"ingest-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=moto_s3, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="dictionary/clips/astronaut.mp4",
                      Body=(video_dir / "videos" / "astronaut.mp4").read_bytes())
    client.put_object(Bucket=bucket, Key="dictionary/tables/s3-signs.csv", Body=TABLE.encode())
    videos, lexicon = f"s3://{bucket}/dictionary", f"s3://{bucket}/lexicon"

    # The table is not a local file, so it is read from inside --videos.
    code = run_cli(["ingest", "--videos", videos, "--table", "tables/s3-signs.csv", "--lexicon", lexicon,
                    "--s3-endpoint-url", moto_s3, "--s3-region", "us-east-1", "--no-progress"])
    assert code == 0
    assert "2 signs built" in capsys.readouterr().out

    s3 = S3Settings(endpoint_url=moto_s3, region="us-east-1")
    lex = open_lexicon(Settings(lexicon=lexicon, s3=s3))
    assert lex.list_signs() == ["bye", "hello"]
    hello, bye = lex.get_clip("hello"), lex.get_clip("bye")
    assert hello.frames.shape[0] == 4 and bye.frames.shape[0] == 4 and hello.gloss == "HELLO"
    np.testing.assert_array_equal(hello.frames[2:], bye.frames[:2])        # frames 2, 3 shared
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="lexicon/")["Contents"])
    assert "lexicon/signs.json" in keys and "lexicon/ingest/manifest.json" in keys

    counter = CountingExtractor(cached_extractor())
    report = asyncio.run(ingest(open_store(videos, s3), parse_sign_table(TABLE), open_store(lexicon, s3),
                                counter, progress=False))
    assert counter.calls == 0 and sorted(report.up_to_date) == ["bye", "hello"] and report.ok


def test_ingest_from_s3_through_triton_builds_a_lexicon_generate_uses(moto_s3, video_dir, triton, tmp_path, capsys):
    from signstream.cli import main
    from signstream.kernels import layout as L
    from signstream.render import probe_video

    bucket = f"triton-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=moto_s3, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    for name in ("astronaut", "camera"):
        client.put_object(Bucket=bucket, Key=f"videos/{name}.mp4",
                          Body=(video_dir / "videos" / f"{name}.mp4").read_bytes())
    client.put_object(Bucket=bucket, Key="videos/signs.csv", Body=(
        "sign_id,video,start_frame,end_frame\n¶wave,astronaut.mp4,0,5\n¶look,camera.mp4,3,8\n").encode())
    s3_flags = ["--s3-endpoint-url", moto_s3, "--s3-region", "us-east-1"]
    lexicon = f"s3://{bucket}/lexicon"

    assert run_cli(["ingest", "--videos", f"s3://{bucket}/videos", "--table", "signs.csv", "--lexicon", lexicon,
                    "--triton-url", triton.grpc_url, "--no-progress", *s3_flags]) == 0
    assert "2 signs built" in capsys.readouterr().out
    lex = open_lexicon(Settings(lexicon=lexicon, s3=S3Settings(endpoint_url=moto_s3, region="us-east-1")))
    wave, look = lex.get_clip("wave"), lex.get_clip("look")
    assert wave.frames.shape == (6, L.NUM_POINTS, 3) and look.frames.shape == (6, L.NUM_POINTS, 3)
    assert np.all(np.any(wave.frames[:, L.POSE_MP], axis=(1, 2)))          # Holistic found the person
    assert np.all(wave.frames[:, L.BODY][:, L.NECK, 2] == 1)                # body from Triton (wholebody)

    out = tmp_path / "out"
    assert main(["generate", "--lexicon", lexicon, *s3_flags, "--sign_ids", "¶wave", "¶look",
                 "--num_interpolation", "4", "--out", str(out), "--no-progress"]) == 0
    assert probe_video(out / "out_video.mp4")["frames"] == 6 + 6 + 4
