"""The lexicon on S3, against a real moto_server over HTTP (fixture `moto_s3` in conftest.py)."""
from __future__ import annotations

import socket
import time
import uuid

import boto3
import numpy as np
import pytest

from signstream.config import S3Settings, Settings
from signstream.errors import InvalidArgument, StoreUnavailable
from signstream.kernels import layout
from signstream.lexicon import LexiconWriter, open_lexicon, open_store
from signstream.lexicon.s3 import S3Store, read_credentials_file


def make_frames(num_frames: int) -> np.ndarray:
    frames = layout.empty_frames(num_frames)
    frames[:, layout.BODY, :2] = np.linspace(0.1, 0.9, num_frames * 18 * 2, dtype=np.float32).reshape(-1, 18, 2)
    frames[:, layout.BODY, 2] = 1.0
    return frames


@pytest.fixture()
def bucket(moto_s3) -> str:
    """A fresh, empty bucket per test."""
    name = f"lex-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_s3, region_name="us-east-1").create_bucket(Bucket=name)
    return name


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]        # nobody listens once the socket is closed


def test_write_then_read_lexicon_over_s3(moto_s3, bucket):
    s3 = S3Settings(endpoint_url=moto_s3, region="us-east-1")
    location = f"s3://{bucket}/some/prefix"
    writer = LexiconWriter(open_store(location, s3))
    hello = make_frames(6)
    writer.add_sign("\u00b6hello", hello, 30.0, gloss="HELLO")
    writer.add_sign("bye", make_frames(3), 25.0)
    writer.commit()

    raw = boto3.client("s3", endpoint_url=moto_s3, region_name="us-east-1")
    stored = sorted(o["Key"] for o in raw.list_objects_v2(Bucket=bucket)["Contents"])
    assert [k.rsplit("-", 1)[0] for k in stored[:2]] == ["some/prefix/clips/bye", "some/prefix/clips/hello"]
    assert stored[2:] == ["some/prefix/signs.json"] and all(k.endswith(".npz") for k in stored[:2])

    lexicon = open_lexicon(Settings(lexicon=location, s3=s3))
    assert lexicon.list_signs() == ["bye", "hello"]
    clip = lexicon.get_clip("hello")
    assert np.array_equal(clip.frames, hello) and clip.fps == 30.0 and clip.gloss == "HELLO"
    assert lexicon.missing(["hello", "nope"]) == ["\u00b6nope"]


def test_store_basics_and_missing_key(moto_s3, bucket):
    store = S3Store(bucket, "p", S3Settings(endpoint_url=moto_s3))
    assert store.describe() == f"s3://{bucket}/p"
    assert not store.exists("a.bin")
    with pytest.raises(KeyError):
        store.get("a.bin")
    store.put("a.bin", b"\x00\x01")
    assert store.exists("a.bin") and store.get("a.bin") == b"\x00\x01"
    with pytest.raises(ValueError):
        store.get("../escape")


def test_list_keys_follows_pagination(moto_s3, bucket):
    store = S3Store(bucket, "many", S3Settings(endpoint_url=moto_s3), page_size=7)
    keys = [f"k/{i:03d}" for i in range(40)]
    for key in keys:
        store.put(key, b"x")
    S3Store(bucket, "many-other", S3Settings(endpoint_url=moto_s3)).put("k/zzz", b"y")   # sibling prefix
    requests = []
    store._client.meta.events.register("before-call.s3.ListObjectsV2", lambda **kw: requests.append(1))
    assert store.list_keys() == keys
    assert len(requests) >= 6                       # 40 keys, 7 per page: pagination really happened
    assert store.list_keys("k/03") == keys[30:40]


def test_credentials_file_in_seed_format(moto_s3, bucket, tmp_path, monkeypatch):
    # Without env credentials or shared files, only the credentials file can sign the requests.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    credentials = tmp_path / "credentials.txt"
    credentials.write_text(
        "# seed credentials\n[default]\n\naws_access_key_id=AKIAFROMFILE\n"
        "aws_secret_access_key = secret-from-file\nregion=us-east-1\n"
    )
    assert read_credentials_file(credentials) == {
        "aws_access_key_id": "AKIAFROMFILE", "aws_secret_access_key": "secret-from-file", "region_name": "us-east-1"
    }
    with_file = S3Store(bucket, "c", S3Settings(endpoint_url=moto_s3, credentials_file=str(credentials)))
    with_file.put("x", b"1")
    assert with_file.get("x") == b"1"

    without = S3Store(bucket, "c", S3Settings(endpoint_url=moto_s3, region="us-east-1", max_attempts=1))
    with pytest.raises(StoreUnavailable, match="credentials"):
        without.get("x")


def test_credentials_file_problems_name_the_file_not_the_secrets(tmp_path):
    incomplete = tmp_path / "credentials.txt"
    incomplete.write_text("aws_access_key_id=AKIADONOTECHO\n")
    with pytest.raises(InvalidArgument) as info:
        S3Store("b", "", S3Settings(credentials_file=str(incomplete)))
    assert str(incomplete) in info.value.message and "aws_secret_access_key" in info.value.message
    assert "AKIADONOTECHO" not in info.value.message

    pasted = tmp_path / "pasted.txt"
    pasted.write_text("aws_access_key_id=AKIA\nthis-is-a-bare-secret\n")
    with pytest.raises(InvalidArgument, match="line 2") as info:
        read_credentials_file(pasted)
    assert "bare-secret" not in info.value.message

    with pytest.raises(InvalidArgument, match="missing.txt"):
        read_credentials_file(tmp_path / "missing.txt")


def test_unreachable_endpoint_is_store_unavailable_quickly():
    port = closed_port()
    settings = S3Settings(endpoint_url=f"http://127.0.0.1:{port}", region="us-east-1",
                          connect_timeout_s=1.0, read_timeout_s=1.0, max_attempts=1)
    store = S3Store("bucket", "prefix", settings)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as info:
        store.get("signs.json")
    assert time.monotonic() - started < 5.0
    assert "s3://bucket/prefix/signs.json" in info.value.message
    with pytest.raises(StoreUnavailable):
        store.list_keys()


def test_missing_bucket_is_unavailable_not_missing_key(moto_s3):
    store = S3Store(f"no-such-{uuid.uuid4().hex[:8]}", "", S3Settings(endpoint_url=moto_s3, max_attempts=1))
    with pytest.raises(StoreUnavailable, match="NoSuchBucket"):
        store.get("signs.json")
