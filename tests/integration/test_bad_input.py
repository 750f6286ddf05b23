"""The bad-input table (README "Bad input"): one test per row, each sent while another client's
stream is running on the same gateway, which must get every one of its frames.

Config errors end the stream with INVALID_ARGUMENT naming the field; per-sign and per-frame
problems become a Notice and the stream goes on. The lexicon here is the demo lexicon with damage
done to its store: one clip overwritten with garbage and one row of the sign table made invalid.
"""
from __future__ import annotations

import asyncio
import io
import json
import logging
import shutil
import struct
import zlib
from dataclasses import dataclass, field

import cv2
import grpc
import numpy as np
import pytest
import skimage.data
from PIL import Image

from signstream.clients.client import SignStreamClient
from signstream.config import Settings
from signstream.extract.remote import TritonExtractor
from signstream.lexicon import open_lexicon
from signstream.lexicon.demo import demo_signs
from signstream.pipeline import output_length
from signstream.v1 import signstream_pb2 as pb
from tests.support.gateway import GatewayThread, read_all
from tests.support.photos import grace_hopper

CORRUPT_SIGN, BAD_ROW_SIGN = "help", "friend"       # damaged in the store by the fixture below
LENGTHS = {s.sign_id: len(s.frames) for s in demo_signs()}
LENGTH = LENGTHS["hello"]
BYSTANDER = pb.SessionConfig(encoding=pb.JPEG, width=96, height=96, num_interpolation=4, transition="linear")


def _jpeg(rgb: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


def _png_header(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR declaring width x height, with one empty IDAT and IEND: what
    a decompression bomb looks like before anyone decodes it."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
            + chunk(b"IEND", b""))


PERSON = _jpeg(grace_hopper())


def _animated_gif(frames: int) -> bytes:
    """The photo as a GIF of `frames` frames, each rolled sideways from the one before."""
    pictures = [Image.fromarray(np.roll(grace_hopper(), 50 * i, axis=1)) for i in range(frames)]
    out = io.BytesIO()
    pictures[0].save(out, format="GIF", save_all=True, append_images=pictures[1:])
    return out.getvalue()


@dataclass(frozen=True)
class Raw:
    """Bytes sent as one request message exactly as they are (they need not parse)."""

    data: bytes


NOT_UTF8_SIGN_ID = b"\x12\x02\xff\xfe"     # SynthesizeRequest field 2 (sign_id), two bytes that are not UTF-8
GARBAGE = b"\xff\xff\xff\xff"


@dataclass(frozen=True)
class Row:
    """One bad input: what is sent and what must come back."""

    name: str
    config: pb.SessionConfig | None = None            # None: the first message is a sign ID
    items: tuple = ()                                  # sign IDs (Synthesize) or images (Retarget), or Raw
    rpc: str = "Synthesize"
    status: str = ""                                   # the stream's end status ("" = OK)
    detail: str = ""                                   # in the status details
    notices: tuple[str, ...] = ()                      # Notice codes, in order
    frames: int = 0                                    # frames the stream must still deliver
    big_messages: bool = False                         # a channel that may send 100 MiB
    extra: dict = field(default_factory=dict)


HELLO = ("¶hello",)
CONFIG = pb.SessionConfig(encoding=pb.NONE)
ROWS = [
    # -- messages that do not parse: INVALID_ARGUMENT after everything before them, never OK --------
    Row("garbage bytes mid-stream", CONFIG, HELLO + (Raw(GARBAGE), "¶name"), status="INVALID_ARGUMENT",
        detail="message 3 (4 bytes) is not a valid SynthesizeRequest", frames=LENGTH),
    Row("sign ID that is not UTF-8", CONFIG, HELLO + (Raw(NOT_UTF8_SIGN_ID), "¶name"), status="INVALID_ARGUMENT",
        detail="message 3", frames=LENGTH),
    Row("garbage as the first message", None, (Raw(GARBAGE),), status="INVALID_ARGUMENT",
        detail="first message (4 bytes) is not a valid SynthesizeRequest"),
    Row("garbage bytes mid-Retarget", CONFIG, (PERSON, Raw(GARBAGE), PERSON), rpc="Retarget",
        status="INVALID_ARGUMENT", detail="message 3 (4 bytes) is not a valid RetargetRequest", frames=1),
    # -- sign IDs: a Notice each, then the next sign streams ----------------------------------------
    Row("sign ID with a path separator", CONFIG, ("signs/hello",) + HELLO, notices=("INVALID_SIGN_ID",), frames=LENGTH),
    Row("sign ID with a backslash", CONFIG, ("..\\hello",) + HELLO, notices=("INVALID_SIGN_ID",), frames=LENGTH),
    Row("sign ID ..", CONFIG, ("..",) + HELLO, notices=("INVALID_SIGN_ID",), frames=LENGTH),
    Row("sign ID with NUL", CONFIG, ("hel\x00lo",) + HELLO, notices=("INVALID_SIGN_ID",), frames=LENGTH),
    Row("sign ID with a control character", CONFIG, ("hel\x1blo",) + HELLO, notices=("INVALID_SIGN_ID",),
        frames=LENGTH),
    Row("sign ID of 10,000 characters", CONFIG, ("a" * 10_000,) + HELLO, notices=("INVALID_SIGN_ID",), frames=LENGTH),
    Row("empty sign ID", CONFIG, ("",) + HELLO, notices=("INVALID_SIGN_ID",), frames=LENGTH),
    Row("valid but unknown sign ID", CONFIG, ("¶zebra",) + HELLO, notices=("UNKNOWN_SIGN",), frames=LENGTH),
    Row("corrupt keypoint clip in the store", CONFIG, (f"¶{CORRUPT_SIGN}",) + HELLO, notices=("CORRUPT_CLIP",),
        frames=LENGTH),
    Row("sign whose row in the sign table is bad", CONFIG, (f"¶{BAD_ROW_SIGN}",) + HELLO,
        notices=("CORRUPT_CLIP",), frames=LENGTH),
    # -- the stream's order ---------------------------------------------------------------------------
    Row("sign before config", None, HELLO, status="INVALID_ARGUMENT", detail="config"),
    Row("a second config", CONFIG, HELLO + (CONFIG,), status="INVALID_ARGUMENT", detail="second SessionConfig",
        frames=LENGTH),
    # -- style images -------------------------------------------------------------------------------------
    Row("style image: garbage bytes", pb.SessionConfig(style_image=np.random.default_rng(0).bytes(4096)), HELLO,
        status="INVALID_ARGUMENT", detail="style_image"),
    Row("style image: truncated JPEG", pb.SessionConfig(style_image=PERSON[: len(PERSON) // 2]), HELLO,
        status="INVALID_ARGUMENT", detail="truncated"),
    Row("style image: not an image (PDF)", pb.SessionConfig(style_image=b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF"),
        HELLO, status="INVALID_ARGUMENT", detail="style_image"),
    Row("style image: a photo with no person", pb.SessionConfig(style_image=_jpeg(skimage.data.coffee())), HELLO,
        status="INVALID_ARGUMENT", detail="no person"),
    Row("style image: 80 MiB (over the message limit)", pb.SessionConfig(style_image=b"\xff" * (80 << 20)), HELLO,
        status="RESOURCE_EXHAUSTED", detail="larger than max", big_messages=True),
    Row("style image: 30,000 x 30,000 declared (decompression bomb)",
        pb.SessionConfig(style_image=_png_header(30_000, 30_000)), HELLO, status="INVALID_ARGUMENT",
        detail="too many pixels"),
    Row("style image: an animated GIF", pb.SessionConfig(style_image=_animated_gif(3)), HELLO,
        status="INVALID_ARGUMENT", detail="has 3 frames (GIF); only still images are accepted"),
    # -- numbers beyond their documented limits -----------------------------------------------------------
    Row("num_interpolation 121", pb.SessionConfig(num_interpolation=121), HELLO, status="INVALID_ARGUMENT",
        detail="num_interpolation"),
    Row("num_insert_interpolation 9", pb.SessionConfig(num_insert_interpolation=9), HELLO,
        status="INVALID_ARGUMENT", detail="num_insert_interpolation"),
    Row("width 4097", pb.SessionConfig(width=4097), HELLO, status="INVALID_ARGUMENT", detail="width"),
    Row("height 100,000", pb.SessionConfig(height=100_000), HELLO, status="INVALID_ARGUMENT", detail="height"),
    Row("fps 1000", pb.SessionConfig(fps=1000), HELLO, status="INVALID_ARGUMENT", detail="fps"),
    Row("fps negative", pb.SessionConfig(fps=-5), HELLO, status="INVALID_ARGUMENT", detail="fps"),
    Row("fps NaN", pb.SessionConfig(fps=float("nan")), HELLO, status="INVALID_ARGUMENT", detail="fps"),
    Row("unknown encoding", pb.SessionConfig(encoding=99), HELLO, status="INVALID_ARGUMENT", detail="encoding"),
    Row("renderer not available (NEURAL)", pb.SessionConfig(renderer=pb.NEURAL), HELLO, status="INVALID_ARGUMENT",
        detail="renderer"),
    Row("unknown normalization", pb.SessionConfig(normalization="bogus"), HELLO, status="INVALID_ARGUMENT",
        detail="normalization"),
    Row("unknown transition", pb.SessionConfig(transition="cubic"), HELLO, status="INVALID_ARGUMENT",
        detail="transition"),
    Row("unknown keypoint filter", pb.SessionConfig(keypoint_filter="kalman"), HELLO, status="INVALID_ARGUMENT",
        detail="keypoint_filter"),
    # -- Retarget frames: a Notice each, then the next frame is rendered ------------------------------------
    Row("Retarget frame: not an image", CONFIG, (b"hello, world", PERSON), rpc="Retarget",
        notices=("INVALID_IMAGE",), frames=1),
    Row("Retarget frame: truncated JPEG", CONFIG, (PERSON[:5000], PERSON), rpc="Retarget",
        notices=("INVALID_IMAGE",), frames=1),
    Row("Retarget frame: decompression bomb", CONFIG, (_png_header(30_000, 30_000), PERSON), rpc="Retarget",
        notices=("INVALID_IMAGE",), frames=1),
    Row("Retarget frame: an animated GIF", CONFIG, (_animated_gif(3), PERSON), rpc="Retarget",
        notices=("INVALID_IMAGE",), frames=1),
]


@pytest.fixture(scope="module")
def damaged(triton, demo_lexicon_dir, tmp_path_factory):
    """A gateway over the demo lexicon with one garbage clip and one invalid sign-table row."""
    root = tmp_path_factory.mktemp("damaged_lexicon")
    shutil.copytree(demo_lexicon_dir, root, dirs_exist_ok=True)
    table = json.loads((root / "signs.json").read_text())
    for row in table["signs"]:
        if row["sign_id"] == CORRUPT_SIGN:
            (root / row["clip"]).write_bytes(b"PK\x03\x04 this is not a keypoint clip")
        if row["sign_id"] == BAD_ROW_SIGN:
            row["end_frame"] = -3                       # before its start: the row is rejected
    (root / "signs.json").write_text(json.dumps(table))
    running = GatewayThread(open_lexicon(Settings(lexicon=str(root))),
                            TritonExtractor(triton.grpc_url, wholebody=False)).start()
    yield running
    running.stop()


async def _bystander(target: str, started: asyncio.Event, stop: asyncio.Event) -> tuple[list[int], int]:
    """Another client's stream: sends a sign whenever the previous one's frames are in, until told
    to stop. Its frame indexes, and the number of frames its signs must give."""
    signs = ["hello", "name", "good", "morning"]
    sent, indexes = [], []
    async with SignStreamClient(target) as client:
        call = client.synthesize(BYSTANDER)
        def expected() -> int:
            return output_length([LENGTHS[s] for s in sent], BYSTANDER.num_interpolation, 0)

        sent.append(signs[0])
        await call.send("¶" + signs[0])
        async for response in call:
            assert response.WhichOneof("kind") == "frame", response
            indexes.append(response.frame.index)
            started.set()
            if len(indexes) == expected():
                if stop.is_set() and len(sent) >= 2:
                    await call.done_sending()
                else:
                    sent.append(signs[len(sent) % len(signs)])
                    await call.send("¶" + sent[-1])
    return indexes, expected()


async def _attempt(target: str, row: Row) -> tuple[list, grpc.aio.AioRpcError | None]:
    """Send the row's messages on a raw stub, then half-close; everything that came back."""
    big = [("grpc.max_send_message_length", 100 << 20)] if row.big_messages else []
    request = pb.SynthesizeRequest if row.rpc == "Synthesize" else pb.RetargetRequest
    item = "sign_id" if row.rpc == "Synthesize" else "image"
    messages = [] if row.config is None else [request(config=row.config)]
    messages += [x if isinstance(x, Raw) else request(config=x) if isinstance(x, pb.SessionConfig)
                 else request(**{item: x}) for x in row.items]
    wire = [m.data if isinstance(m, Raw) else m.SerializeToString() for m in messages]
    if row.big_messages:        # grpc.aio clients misreport this status (grpc/grpc#36066): use the sync API
        return await asyncio.to_thread(_attempt_sync, target, row.rpc, wire, big)
    async with grpc.aio.insecure_channel(target, options=big) as channel:
        return await read_all(_raw_call(channel, row.rpc)(iter(wire)))


def _raw_call(channel, rpc: str):
    """The streaming method `rpc` on a channel, sending each request's bytes as they are."""
    return channel.stream_stream(f"/signstream.v1.SignStream/{rpc}", request_serializer=lambda data: data,
                                 response_deserializer=pb.SynthesizeResponse.FromString)


def _attempt_sync(target: str, rpc: str, messages: list, options: list) -> tuple[list, grpc.RpcError | None]:
    with grpc.insecure_channel(target, options=options) as channel:
        got = []
        try:
            for response in _raw_call(channel, rpc)(iter(messages)):
                got.append(response)
        except grpc.RpcError as error:
            return got, error
    return got, None


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_bad_input(damaged, row):
    async def main():
        started, stop = asyncio.Event(), asyncio.Event()
        bystander = asyncio.create_task(_bystander(damaged.target, started, stop))
        await asyncio.wait_for(started.wait(), 30)
        try:
            return await _attempt(damaged.target, row)
        finally:
            stop.set()
            indexes, expected = await asyncio.wait_for(bystander, 60)
            assert indexes == list(range(expected)), "the other client's stream lost or repeated frames"

    got, error = asyncio.run(main())
    if row.status:
        assert error is not None and error.code().name == row.status, error
        assert row.detail.lower() in error.details().lower(), error.details()
    else:
        assert error is None, error
    notices = [r.notice for r in got if r.WhichOneof("kind") == "notice"]
    frames = [r.frame for r in got if r.WhichOneof("kind") == "frame"]
    assert [n.code for n in notices] == list(row.notices)
    assert all(n.message and len(n.sign_id) <= 200 for n in notices)
    assert [f.index for f in frames] == list(range(row.frames))


def test_the_readme_lists_every_row():
    """The README's bad-input table is this table: a row added here must be documented there."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    missing = [row.name for row in ROWS if f"| {row.name} |" not in readme]
    assert not missing, f"README 'Bad input' table lacks rows: {missing}"


@pytest.mark.parametrize("method", ["ListSigns", "ExtractKeypoints"])
def test_garbage_unary_request_is_invalid_argument_with_one_log_line(damaged, method, caplog):
    """A unary request that does not parse answers INVALID_ARGUMENT (grpc's own answer is UNKNOWN
    "Unexpected DecodeError" with a traceback in the log per call) and logs one warning line."""
    caplog.set_level(logging.INFO)

    async def main():
        async with grpc.aio.insecure_channel(damaged.target) as channel:
            call = channel.unary_unary(f"/signstream.v1.SignStream/{method}", request_serializer=lambda data: data,
                                       response_deserializer=lambda data: data)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call(GARBAGE)
            return info.value

    error = asyncio.run(main())
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
    assert "is not a valid" in error.details() and "Request" in error.details()
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    lines = [r for r in caplog.records if "malformed request" in r.getMessage() or "is not a valid" in r.getMessage()]
    assert len(lines) <= 1, [r.getMessage() for r in lines]     # at most one (rate-limited across tests)
