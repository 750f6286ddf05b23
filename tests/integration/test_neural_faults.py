"""NEURAL streams when rendering is slow or Triton goes away, with the real Triton on stand-ins whose
sampler step is made slow (`delay_ms`, a slower device simulated): a REALTIME stream that falls
behind steps down (fewer steps first) with a RENDERER_DEGRADED Notice and keeps every frame in
order, an ASAP stream never degrades; Triton killed mid-NEURAL-stream ends that stream with
UNAVAILABLE naming the renderer, a SKELETON stream beside it finishes, the `neural` health goes
NOT_SERVING and comes back with Triton, and NEURAL streams work again."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import time

import cv2
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from signstream.clients.client import SignStreamClient
from signstream.config import Settings
from signstream.extract.remote import TritonExtractor
from signstream.lexicon import open_lexicon
from signstream.triton.launcher import TritonOptions, TritonServer
from signstream.triton.parameters import DELAY_PARAMETER
from signstream.v1 import signstream_pb2 as pb
from tests.support.gateway import GatewayThread, read_all
from tests.support.photos import PHOTOS
from tests.support.standins import write_standins

SIZE = 64
STEP_DELAY_MS = 50       # per execution of neural_unet_step: 4 steps cost ~70 ms a frame here, 2 steps ~27
FPS = 25                 # 40 ms a frame
SIGNS = ["¶hello", "¶name", "¶sign", "¶learn"]
PHOTO = cv2.imencode(".png", cv2.cvtColor(PHOTOS["astronaut"](), cv2.COLOR_RGB2BGR))[1].tobytes()


@pytest.fixture(scope="module")
def triton(tmp_path_factory):
    dest = write_standins(tmp_path_factory.mktemp("neural_faults") / "standins")
    for config in [dest / "neural_unet_step" / "config.pbtxt"]:
        config.write_text(config.read_text() + f'parameters {{ key: "{DELAY_PARAMETER}" value {{ string_value: '
                                                f'"{STEP_DELAY_MS}" }} }}\n')
    with TritonServer(TritonOptions(dest, grpc_port=0, http_port=0, metrics_port=0)) as server:
        yield server


@pytest.fixture(scope="module")
def gateway(triton, demo_lexicon_dir):
    running = GatewayThread(open_lexicon(Settings(lexicon=str(demo_lexicon_dir))),
                            TritonExtractor(triton.grpc_url, wholebody=False), health_interval_s=0.2).start()
    yield running
    running.stop()


def _config(**fields) -> pb.SessionConfig:
    base = dict(style_image=PHOTO, encoding=pb.JPEG, width=SIZE, height=SIZE, renderer=pb.NEURAL, neural_steps=4,
                seed=3, transition="linear", num_interpolation=2, fps=FPS)
    base.update(fields)
    return pb.SessionConfig(**base)


async def _stream(target, config, signs=SIGNS):
    async with SignStreamClient(target) as client:
        call = client.synthesize(config)
        for sign in signs:
            await call.send(sign)
        await call.done_sending()
        return await read_all(call)


def test_a_realtime_stream_that_falls_behind_steps_down_and_keeps_every_frame(gateway):
    responses, error = asyncio.run(_stream(gateway.target, _config(pacing=pb.REALTIME)))
    assert error is None, error
    frames = [r.frame for r in responses if r.WhichOneof("kind") == "frame"]
    assert [f.index for f in frames] == list(range(len(frames)))
    degraded = [(i, r.notice) for i, r in enumerate(responses) if r.WhichOneof("kind") == "notice"
                and r.notice.code == "RENDERER_DEGRADED"]
    assert degraded, "a stream at 4 steps of 100 ms each, 25 fps, must fall behind"
    position, first = degraded[0]
    assert "fell behind real time" in first.message and "now NEURAL, 2 sampler steps" in first.message, first.message
    before = [r.frame for r in responses[:position] if r.WhichOneof("kind") == "frame"]
    after = [r.frame for r in responses[position:] if r.WhichOneof("kind") == "frame"]
    assert {f.neural_steps for f in before} == {4} and after[0].neural_steps == 2
    assert max(f.neural_steps for f in after) < 4 and after[0].renderer == pb.NEURAL
    assert gateway.metric("signstream_neural_frames_degraded_total") >= len(after)


def test_an_asap_stream_on_the_same_renderer_never_degrades(gateway):
    responses, error = asyncio.run(_stream(gateway.target, _config(), signs=SIGNS[:2]))
    assert error is None, error
    assert not [r for r in responses if r.WhichOneof("kind") == "notice" and r.notice.code.startswith("RENDERER_")]
    assert {r.frame.neural_steps for r in responses if r.WhichOneof("kind") == "frame"} == {4}


async def _health(channel, service: str) -> str:
    try:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    except grpc.aio.AioRpcError as exc:
        return exc.code().name
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


async def _until(channel, service: str, want: str, seconds: float) -> None:
    start = time.monotonic()
    while (status := await _health(channel, service)) != want:
        assert time.monotonic() - start < seconds, f"health {service!r} stayed {status}, not {want}"
        await asyncio.sleep(0.1)


def test_triton_killed_mid_neural_stream_ends_it_clearly_and_the_rest_goes_on(gateway, triton):
    async def main():
        async with SignStreamClient(gateway.target) as client:
            # Needs no Triton: the default style, REALTIME for a few seconds.
            skeleton = client.synthesize(pb.SessionConfig(encoding=pb.JPEG, width=SIZE, height=SIZE,
                                                          pacing=pb.REALTIME, fps=50, transition="linear"))
            for sign in SIGNS:
                await skeleton.send(sign)
            await skeleton.done_sending()
            skeleton_done = asyncio.create_task(read_all(skeleton))
            neural = client.synthesize(_config(neural_steps=1))
            for sign in SIGNS * 2:
                await neural.send(sign)
            await neural.done_sending()
            responses = aiter(neural)
            while (await anext(responses)).WhichOneof("kind") != "frame":
                pass
            os.killpg(triton.pid, signal.SIGKILL)
            neural_error = None

            async def rest() -> None:
                async for _ in responses:
                    pass
            try:       # bounded: a stream left waiting on the dead Triton must fail here, not hang the suite
                await asyncio.wait_for(rest(), 60)
            except grpc.aio.AioRpcError as exc:
                neural_error = exc
            await _until(client.channel, "neural", "NOT_SERVING", 15)
            skeleton_frames, skeleton_error = await asyncio.wait_for(skeleton_done, 60)
            await asyncio.to_thread(triton.restart)
            await _until(client.channel, "neural", "SERVING", 60)
            again, again_error = await asyncio.wait_for(
                _stream(gateway.target, _config(neural_steps=1), signs=SIGNS[:1]), 60)
            return neural_error, skeleton_frames, skeleton_error, again, again_error

    neural_error, skeleton_frames, skeleton_error, again, again_error = asyncio.run(main())
    assert neural_error is not None and neural_error.code() == grpc.StatusCode.UNAVAILABLE, neural_error
    assert re.search(r"neural renderer", neural_error.details()), neural_error.details()
    assert skeleton_error is None, skeleton_error
    indexes = [r.frame.index for r in skeleton_frames if r.WhichOneof("kind") == "frame"]
    assert indexes == list(range(len(indexes))) and len(indexes) > 40
    assert again_error is None, again_error
    assert [r.frame.renderer for r in again if r.WhichOneof("kind") == "frame"]
