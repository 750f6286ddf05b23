"""Faults with the real `signstream serve` and its real Triton: Triton killed mid-stream (calls that
need it fail with UNAVAILABLE, streams that do not go on, health follows, `serve` restarts Triton and
health comes back), then SIGTERM while a stream runs (it finishes within the grace time)."""
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
from signstream.clients.process import serve_process
from signstream.lexicon.demo import demo_signs
from signstream.pipeline import SynthesisOptions, output_length
from signstream.v1 import signstream_pb2 as pb
from tests.support.gateway import read_all
from tests.support.photos import grace_hopper
from tests.support.processes import started

RESTART_TIMEOUT_S = 180
LENGTHS = {s.sign_id: len(s.frames) for s in demo_signs()}
N = SynthesisOptions().num_interpolation
PHOTO = cv2.imencode(".jpg", cv2.cvtColor(grace_hopper(), cv2.COLOR_RGB2BGR))[1].tobytes()


@pytest.fixture(scope="module")
def served(demo_lexicon_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("serve_faults")
    process, target = serve_process(str(demo_lexicon_dir), "--wholebody", "off", "--grace", "8", "--processes", "1",
                                    "--triton-log-file", str(work / "triton.log"))
    with started(process) as server:
        yield {"server": server, "target": target}


def _triton_pid(output: str) -> int:
    return int(re.findall(r"\(pid (\d+)\)", output)[-1])


async def _health(channel) -> str:
    try:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    except grpc.aio.AioRpcError as exc:
        return exc.code().name
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


async def _until_health(channel, want: str, seconds: float) -> float:
    start = time.monotonic()
    while (status := await _health(channel)) != want:
        assert time.monotonic() - start < seconds, f"health stayed {status}, not {want}, for {seconds} s"
        await asyncio.sleep(0.2)
    return time.monotonic() - start


def test_triton_killed_mid_stream_fails_what_needs_it_and_comes_back(served):
    server, target = served["server"], served["target"]
    old_pid = _triton_pid(server.output)
    signs = ["¶hello", "¶name", "¶good", "¶morning"]

    async def main():
        async with SignStreamClient(target) as client:
            # Needs no Triton: the default style, REALTIME for about 7 s.
            synth = client.synthesize(pb.SessionConfig(encoding=pb.JPEG, width=128, height=128, pacing=pb.REALTIME,
                                                       fps=25, transition="linear"))
            for sign in signs:
                await synth.send(sign)
            await synth.done_sending()
            synthesis = asyncio.create_task(read_all(synth))
            # Needs Triton for every frame.
            retarget = client.retarget(pb.SessionConfig(encoding=pb.NONE))
            await retarget.send(PHOTO)
            responses = aiter(retarget)
            first = await anext(responses)
            assert first.WhichOneof("kind") == "frame"

            os.kill(old_pid, signal.SIGKILL)
            killed = time.monotonic()
            down_after = await _until_health(client.channel, "NOT_SERVING", 15)
            await retarget.send(PHOTO)
            retarget_error = None
            try:
                async for _ in responses:
                    pass
            except grpc.aio.AioRpcError as exc:
                retarget_error = exc
            with pytest.raises(grpc.aio.AioRpcError) as extract_error:
                await client.extract(PHOTO)
            frames, synth_error = await synthesis
            await _until_health(client.channel, "SERVING", RESTART_TIMEOUT_S)
            back_after = time.monotonic() - killed
            keypoints = await client.extract(PHOTO)
            return down_after, retarget_error, extract_error.value, frames, synth_error, back_after, keypoints

    down_after, retarget_error, extract_error, frames, synth_error, back_after, keypoints = asyncio.run(main())
    assert down_after < 10
    assert retarget_error is not None and retarget_error.code() == grpc.StatusCode.UNAVAILABLE, retarget_error
    assert "Triton" in retarget_error.details()
    assert extract_error.code() == grpc.StatusCode.UNAVAILABLE
    assert synth_error is None, synth_error
    indexes = [r.frame.index for r in frames if r.WhichOneof("kind") == "frame"]
    assert indexes == list(range(output_length([LENGTHS[s[1:]] for s in signs], N, 0)))
    assert len(keypoints.body) > 0 and max(keypoints.body) > 0        # a person found after the restart
    assert "Triton restarted" in server.output
    new_pid = _triton_pid(server.output)
    assert new_pid != old_pid and os.path.exists(f"/proc/{new_pid}")
    print(f"health NOT_SERVING {down_after:.1f} s after the kill, SERVING again {back_after:.1f} s after it")


def test_sigterm_lets_a_running_stream_finish_within_the_grace_time(served):
    server, target = served["server"], served["target"]
    signs = ["¶hello", "¶name"]                          # about 3.5 s at 25 fps; the grace time is 8 s

    async def main():
        async with SignStreamClient(target) as client:
            call = client.synthesize(pb.SessionConfig(encoding=pb.NONE, pacing=pb.REALTIME, fps=25,
                                                      transition="linear"))
            for sign in signs:
                await call.send(sign)
            await call.done_sending()
            got = [await anext(aiter(call))]
            server.process.send_signal(signal.SIGTERM)
            reading = asyncio.create_task(read_all(call))
            await asyncio.sleep(1.0)
            async with SignStreamClient(target) as late:          # a new stream while draining
                _, refused = await read_all(late.stub.Synthesize(iter([
                    pb.SynthesizeRequest(config=pb.SessionConfig(encoding=pb.NONE)),
                    pb.SynthesizeRequest(sign_id="¶hello")])))
                health = await health_pb2_grpc.HealthStub(late.channel).Check(health_pb2.HealthCheckRequest())
            rest, error = await reading
            return got + rest, error, refused, health

    got, error, refused, health = asyncio.run(main())
    assert error is None, error
    # The port still answers while the stream drains: health says NOT_SERVING and a new stream is
    # refused by the server itself (not "connection refused").
    assert health.status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert refused is not None and refused.code() == grpc.StatusCode.UNAVAILABLE, refused
    assert "shutting down" in refused.details(), refused.details()
    assert [r.frame.index for r in got] == list(range(output_length([LENGTHS[s[1:]] for s in signs], N, 0)))
    assert server.process.wait(60) == 0
    out = server.output
    assert out.index("draining") < out.index("gateway stopped") < out.index("Triton stopped")
