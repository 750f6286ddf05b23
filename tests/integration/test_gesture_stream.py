"""The Gesture rpc over real gRPC: speech in, GESTURE frames out while the audio arrives, through the
stream's retargeting, renderer and encoders; bad configs and bad audio each with a clear status."""
from __future__ import annotations

import asyncio

import cv2
import grpc
import numpy as np
import pytest

from signstream.gesture.speech_corpus import make_utterance, pcm16
from signstream.clients.client import SignStreamClient
from signstream.gateway.convert import keypoints_from_proto
from signstream.kernels import layout as L
from signstream.v1 import signstream_pb2 as pb
from tests.support.gateway import local_gateway, read_all

SECONDS = 4.3


@pytest.fixture(scope="module")
def gateway(demo_lexicon_dir):
    running = local_gateway(demo_lexicon_dir)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def speech() -> bytes:
    return pcm16(make_utterance(3, SECONDS).audio)


def config(**session) -> pb.GestureConfig:
    options = {"encoding": pb.JPEG, "width": 96, "height": 96, **session}
    return pb.GestureConfig(session=pb.SessionConfig(**options), source="beat", lookahead_ms=550)


def gesture(gateway, cfg, audio: bytes, **kw):
    async def main():
        async with SignStreamClient(gateway.target) as client:
            return await client.gesture_all(cfg, audio, **kw)
    return asyncio.run(main())


def frames_of(responses) -> list[pb.Frame]:
    return [r.frame for r in responses if r.WhichOneof("kind") == "frame"]


def test_speech_streams_one_gesture_frame_per_frame_time(gateway, speech):
    frames = frames_of(gesture(gateway, config(fps=25, include_keypoints=True), speech, chunk_bytes=7_000,
                               words=[("hello", 300, 700), ("there", 800, 1200)]))
    assert [f.index for f in frames] == list(range(round(SECONDS * 25)))
    assert {f.kind for f in frames} == {pb.GESTURE}
    assert all((f.width, f.height, f.fps) == (96, 96, 25.0) for f in frames)
    image = cv2.imdecode(np.frombuffer(frames[40].image, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (96, 96, 3) and image.any()
    wrists = np.stack([keypoints_from_proto(f.keypoints)[L.BODY][4, :2] for f in frames])
    assert np.ptp(wrists[:, 1]) > 0.02                       # the hand beats
    assert gateway.metric("signstream_stage_latency_seconds_count", stage="gesture") > 0


def test_the_same_speech_gives_the_same_frames(gateway, speech):
    cfg = config(encoding=pb.NONE, fps=15)
    a = [f.keypoints.SerializeToString() for f in frames_of(gesture(gateway, cfg, speech))]
    b = [f.keypoints.SerializeToString() for f in frames_of(gesture(gateway, cfg, speech, chunk_bytes=3_200))]
    assert a == b and len(a) == round(SECONDS * 15)


def test_frames_come_back_while_audio_is_still_being_sent(gateway, speech):
    async def main():
        async with SignStreamClient(gateway.target) as client:
            call = client.gesture(config(encoding=pb.NONE))
            for at in range(0, 32_000 * 2, 16_000):               # 2 s of the speech
                await call.send(speech[at:at + 16_000])
            got = []
            async for response in call:
                got.append(response)
                if len(got) >= 25:                               # a second of frames, before the rest is sent
                    break
            await call.send(speech[64_000:80_000])
            await call.done_sending()
            got += [r async for r in call]
            return got
    frames = frames_of(asyncio.run(main()))
    assert [f.index for f in frames] == list(range(round(2.5 * 25)))


@pytest.mark.parametrize("cfg,field", [
    (pb.GestureConfig(session=pb.SessionConfig(), source="dance"), "source"),
    (pb.GestureConfig(session=pb.SessionConfig(), sample_rate=44_100), "sample_rate"),
    (pb.GestureConfig(session=pb.SessionConfig(), lookahead_ms=60_000), "lookahead_ms"),
    (pb.GestureConfig(session=pb.SessionConfig(fps=500)), "fps"),
])
def test_bad_configs_are_refused_naming_the_field(gateway, speech, cfg, field):
    async def main():
        async with SignStreamClient(gateway.target) as client:
            call = client.gesture(cfg)
            await call.send(speech[:16_000])
            await call.done_sending()
            return await read_all(call)
    got, error = asyncio.run(main())
    assert not frames_of(got) and error is not None
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and field in error.details()


def test_aqgt_without_its_models_is_a_failed_precondition(gateway, speech):
    async def main():
        async with SignStreamClient(gateway.target) as client:
            call = client.gesture(pb.GestureConfig(session=pb.SessionConfig(encoding=pb.NONE), source="aqgt"))
            await call.send(speech[:16_000])
            await call.done_sending()
            return await read_all(call)
    _, error = asyncio.run(main())
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "aqgt" in error.details()


@pytest.mark.parametrize("bad,says", [(b"\x00" * 101, "odd number"), (b"\x00" * 16_002, "at most 0.5 s")])
def test_bad_audio_ends_the_stream_after_the_frames_of_the_audio_before_it(gateway, speech, bad, says):
    async def main():
        async with SignStreamClient(gateway.target) as client:
            call = client.gesture(config(encoding=pb.NONE))
            await call.send(speech[:16_000])
            await call.send(speech[16_000:32_000])
            await call.send(bad)
            await call.done_sending()
            return await read_all(call)
    got, error = asyncio.run(main())
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and says in error.details()
    assert "audio chunk 2" in error.details()
    assert len(frames_of(got)) == 25 * 1                     # every frame of the 1 s of good audio


def test_a_backwards_word_is_a_notice_and_the_stream_goes_on(gateway, speech):
    responses = gesture(gateway, config(encoding=pb.NONE), speech[:32_000], words=[("oops", 900, 100)])
    notices = [r.notice for r in responses if r.WhichOneof("kind") == "notice"]
    assert [n.code for n in notices] == ["INVALID_WORD"] and "oops" in notices[0].message
    assert len(frames_of(responses)) == 25
