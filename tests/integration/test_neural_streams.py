"""NEURAL streams through the gateway, over real gRPC, rendered by the real Triton on the stand-in
repository (random weights: the frames are noise; these tests prove streaming behaviour, never
pictures): frames in index order with K in flight, each reporting seed, renderer and steps; a
replayed seed gives the same frames; two concurrent streams with other references never mix (each
equals its solo run); pixels depend on the reference and the seed; Retarget and pose2img work;
cancelled streams leak nothing in the renderer's bounded cache; bad neural fields each refused
naming the field; the NEURAL bound refuses with a retry hint; per-capability health; a gateway
without Triton refuses NEURAL naming why."""
from __future__ import annotations

import asyncio
import re

import cv2
import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from signstream.clients.client import SignStreamClient
from signstream.extract.base import LocalExtractor
from signstream.extract.remote import TritonExtractor
from signstream.lexicon import open_lexicon
from signstream.config import Settings
from signstream.limits import StreamLimits
from signstream.triton.launcher import TritonOptions, TritonServer
from signstream.v1 import signstream_pb2 as pb
from tests.support.gateway import GatewayThread, read_all
from tests.support.photos import PHOTOS
from tests.support.standins import write_standins

SIZE = 64
RENDERER_CACHE_STREAMS = 3          # the renderer model's bound, lowered so that a leak shows at once
SIGNS = ["¶hello", "¶name"]


def _png(rgb: np.ndarray) -> bytes:
    return cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


ASTRONAUT = _png(PHOTOS["astronaut"]())
CAMERA = _png(PHOTOS["camera"]())


@pytest.fixture(scope="module")
def standins(tmp_path_factory):
    dest = write_standins(tmp_path_factory.mktemp("neural_streams") / "standins")
    config = dest / "renderer" / "config.pbtxt"
    text = config.read_text()
    text, n = re.subn(r'(key: "max_streams" value \{ string_value: )"\d+"', rf'\1"{RENDERER_CACHE_STREAMS}"', text)
    assert n == 1, "the renderer config has no max_streams parameter"
    config.write_text(text)
    return dest


@pytest.fixture(scope="module")
def triton(standins):
    with TritonServer(TritonOptions(standins, grpc_port=0, http_port=0, metrics_port=0)) as server:
        yield server


@pytest.fixture(scope="module")
def lexicon(demo_lexicon_dir):
    return open_lexicon(Settings(lexicon=str(demo_lexicon_dir)))


@pytest.fixture(scope="module")
def gateway(triton, lexicon):
    running = GatewayThread(lexicon, TritonExtractor(triton.grpc_url, wholebody=False),
                            limits=StreamLimits(max_neural_streams=6)).start()
    yield running
    running.stop()


def _config(**fields) -> pb.SessionConfig:
    base = dict(style_image=ASTRONAUT, encoding=pb.PNG, width=SIZE, height=SIZE, renderer=pb.NEURAL,
                transition="linear", num_interpolation=2)
    base.update(fields)
    return pb.SessionConfig(**base)


async def _stream(target: str, config: pb.SessionConfig, signs=SIGNS, rpc: str = "synthesize"):
    async with SignStreamClient(target) as client:
        call = getattr(client, rpc)(config)
        for item in signs:
            await call.send(item)
        await call.done_sending()
        return await read_all(call)


def _run(target, config, signs=SIGNS, rpc="synthesize"):
    responses, error = asyncio.run(_stream(target, config, signs, rpc))
    assert error is None, error
    frames = [r.frame for r in responses if r.WhichOneof("kind") == "frame"]
    notices = [r.notice for r in responses if r.WhichOneof("kind") == "notice"]
    return frames, notices


def _pixels(frames) -> list[np.ndarray]:
    return [cv2.imdecode(np.frombuffer(f if isinstance(f, bytes) else f.image, np.uint8), cv2.IMREAD_COLOR)
            for f in frames]


# ONNX Runtime's CPU kernels are not batch-invariant: a frame that Triton batched with other requests
# than in the run it is compared with may round a pixel the other way.
PIXEL_TOLERANCE = 2


def _assert_same_frames(a, b) -> None:
    assert len(a) == len(b)
    worst = [int(np.abs(x.astype(np.int16) - y).max()) for x, y in zip(_pixels(a), _pixels(b))]
    assert max(worst) <= PIXEL_TOLERANCE, f"frames differ by up to {max(worst)} (per frame: {worst})"


def test_frames_come_in_order_with_their_seed_renderer_and_steps(gateway):
    frames, notices = _run(gateway.target, _config(neural_steps=2, seed=7))
    assert [f.index for f in frames] == list(range(len(frames))) and len(frames) > 8   # more than K in flight
    assert {(f.seed, f.renderer, f.neural_steps, f.width, f.height) for f in frames} == {(7, pb.NEURAL, 2, SIZE, SIZE)}
    assert notices and notices[0].code == "STAND_IN_WEIGHTS" and "NOISE" in notices[0].message
    pictures = _pixels(frames)
    assert all(p.shape == (SIZE, SIZE, 3) for p in pictures)
    skeleton, _ = _run(gateway.target, _config(renderer=pb.SKELETON))
    assert not np.array_equal(pictures[0], _pixels(skeleton)[0])
    assert gateway.metric("signstream_neural_frames_in_flight") == 0
    assert gateway.metric("signstream_neural_frame_seconds_count", stage="render") > 0


def test_a_random_seed_is_reported_and_replays_the_stream(gateway):
    first, _ = _run(gateway.target, _config())
    seed = first[0].seed
    assert seed != 0 and {f.seed for f in first} == {seed} and {f.neural_steps for f in first} == {1}
    again, _ = _run(gateway.target, _config(seed=seed))
    _assert_same_frames(again, first)


def test_concurrent_streams_never_mix_and_pixels_follow_reference_and_seed(gateway):
    solo_a, _ = _run(gateway.target, _config(seed=11))

    async def both():
        return await asyncio.gather(_stream(gateway.target, _config(seed=11)),
                                    _stream(gateway.target, _config(seed=11, style_image=CAMERA)),
                                    _stream(gateway.target, _config(seed=12)))

    (a, error_a), (b, error_b), (c, error_c) = asyncio.run(both())
    assert error_a is error_b is error_c is None
    a, b, c = ([r.frame.image for r in rs if r.WhichOneof("kind") == "frame"] for rs in (a, b, c))
    _assert_same_frames(a, solo_a)                      # batched with other streams in Triton: the same frames
    assert len(a) == len(b) == len(c)
    assert all(x != y for x, y in zip(a, b))            # another reference, same seed and poses
    assert all(x != y for x, y in zip(a, c))            # another seed


def test_retarget_and_pose2img_render_neural_frames(gateway):
    photo = _png(PHOTOS["grace_hopper"]())
    frames, _ = _run(gateway.target, _config(neural_steps=4, seed=3), signs=[photo, photo], rpc="retarget")
    assert [f.index for f in frames] == [0, 1] and {f.neural_steps for f in frames} == {4}
    assert frames[0].image == frames[1].image           # one pose, one seed: one picture
    one_pass, _ = _run(gateway.target, _config(neural_model="pose2img", seed=3))
    assert {(f.renderer, f.neural_steps) for f in one_pass} == {(pb.NEURAL, 0)}
    other, _ = _run(gateway.target, _config(neural_model="pose2img", style_image=CAMERA))
    assert one_pass[0].image != other[0].image


def test_cancelled_streams_leave_nothing_in_the_renderer_cache(gateway):
    """More streams than the renderer caches are cancelled mid-stream, one after the other; if any left
    its state behind (no END), the cache would be full and the next stream refused."""
    async def cancel_after_first_frame(seed: int) -> None:
        async with SignStreamClient(gateway.target) as client:
            call = client.synthesize(_config(seed=seed))
            for sign in SIGNS * 3:
                await call.send(sign)
            async for response in call:
                if response.WhichOneof("kind") == "frame":
                    call.cancel()
                    break

    async def main():
        for seed in range(1, 2 * RENDERER_CACHE_STREAMS + 2):
            await cancel_after_first_frame(seed)
        await asyncio.sleep(1.0)                        # the END of the last one reaches Triton

    asyncio.run(main())
    frames, _ = _run(gateway.target, _config(seed=5))
    assert len(frames) > 0


@pytest.mark.parametrize(("fields", "field"), [
    (dict(neural_steps=3), "neural_steps"),
    (dict(neural_model="stable-video"), "neural_model"),
    (dict(neural_model="pose2img", neural_steps=2), "neural_steps"),
    (dict(style_image=b""), "style_image"),
    (dict(width=100), "width"),
    (dict(height=2048), "height"),
    (dict(encoding=pb.NONE), "encoding"),
    (dict(renderer=pb.SKELETON, neural_steps=2), "neural_steps"),
    (dict(renderer=pb.SKELETON, neural_model="pose2img"), "neural_model"),
])
def test_bad_neural_fields_are_refused_naming_the_field(gateway, fields, field):
    responses, error = asyncio.run(_stream(gateway.target, _config(**fields)))
    assert error is not None and error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
    assert error.details().startswith(field), error.details()
    assert not [r for r in responses if r.WhichOneof("kind") == "frame"]


def test_neural_streams_past_the_bound_get_resource_exhausted_with_a_retry_hint(triton, lexicon):
    running = GatewayThread(lexicon, TritonExtractor(triton.grpc_url, wholebody=False),
                            limits=StreamLimits(max_neural_streams=1, retry_after_s=2.0)).start()
    try:
        async def main():
            async with SignStreamClient(running.target) as client:
                first = client.synthesize(_config(pacing=pb.REALTIME, fps=25))
                await first.send("¶hello")
                assert (await anext(aiter(first))).WhichOneof("kind") in ("frame", "notice")
                second = client.synthesize(_config())
                await second.send("¶hello")
                await second.done_sending()
                _, refused = await read_all(second)
                skeleton = client.synthesize(_config(renderer=pb.SKELETON))     # not a NEURAL stream: admitted
                await skeleton.send("¶hello")
                await skeleton.done_sending()
                skeleton_frames, skeleton_error = await read_all(skeleton)
                first.cancel()
                return refused, skeleton_frames, skeleton_error

        refused, skeleton_frames, skeleton_error = asyncio.run(main())
        assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "NEURAL" in refused.details()
        assert dict(refused.trailing_metadata()).get("grpc-retry-pushback-ms") == "2000"
        assert skeleton_error is None and skeleton_frames
    finally:
        running.stop()


def test_health_names_each_capability(gateway):
    async def main():
        async with grpc.aio.insecure_channel(gateway.target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            return {name: (await stub.Check(health_pb2.HealthCheckRequest(service=name))).status
                    for name in ("", "extraction", "neural", "pose2img")}

    assert set(asyncio.run(main()).values()) == {health_pb2.HealthCheckResponse.SERVING}


def test_a_gateway_without_triton_refuses_neural_naming_why(lexicon):
    running = GatewayThread(lexicon, LocalExtractor()).start()
    try:
        responses, error = asyncio.run(_stream(running.target, _config()))
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "--triton-url" in error.details()
        frames, skeleton_error = asyncio.run(_stream(running.target, _config(renderer=pb.SKELETON)))
        assert skeleton_error is None and frames

        async def health():
            async with grpc.aio.insecure_channel(running.target) as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                return (await stub.Check(health_pb2.HealthCheckRequest(service="neural"))).status

        assert asyncio.run(health()) == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        running.stop()


def test_a_gesture_stream_renders_neural_frames(gateway):
    from signstream.gesture.speech_corpus import make_utterance, pcm16

    async def main():
        async with SignStreamClient(gateway.target) as client:
            config = pb.GestureConfig(session=_config(seed=11, fps=10), source="beat")
            return await client.gesture_all(config, pcm16(make_utterance(2, 1.5).audio))
    responses = asyncio.run(main())
    frames = [r.frame for r in responses if r.WhichOneof("kind") == "frame"]
    notices = [r.notice for r in responses if r.WhichOneof("kind") == "notice"]
    assert [f.index for f in frames] == list(range(15)) and {f.kind for f in frames} == {pb.GESTURE}
    assert {(f.seed, f.renderer, f.width, f.height) for f in frames} == {(11, pb.NEURAL, SIZE, SIZE)}
    assert notices[0].code == "STAND_IN_WEIGHTS"
    assert all(p.shape == (SIZE, SIZE, 3) for p in _pixels(frames))
