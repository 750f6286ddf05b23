"""Limits and backpressure over real gRPC: streams per server, signs per stream, idle and duration
limits, and a client that stops reading (bounded work on the server, then dropped)."""
from __future__ import annotations

import asyncio
import time

import grpc
import pytest

from signstream.clients.client import SignStreamClient
from signstream.config import Settings
from signstream.errors import InvalidArgument
from signstream.extract.base import LocalExtractor
from signstream.lexicon import open_lexicon
from signstream.lexicon.demo import demo_signs
from signstream.limits import StreamLimits
from signstream.pipeline import SynthesisOptions, output_length
from signstream.v1 import signstream_pb2 as pb
from tests.support.gateway import GatewayThread, read_all

LENGTHS = {s.sign_id: len(s.frames) for s in demo_signs()}
NONE = pb.SessionConfig(encoding=pb.NONE, transition="linear")   # linear: frames counted by the formula
N = SynthesisOptions().num_interpolation            # the default transition length


@pytest.fixture()
def limited(demo_lexicon_dir, request):
    """A gateway with the limits given as the fixture's param (see `limits` below)."""
    running = GatewayThread(open_lexicon(Settings(lexicon=str(demo_lexicon_dir))), LocalExtractor(),
                            limits=request.param).start()
    yield running
    running.stop()


def limits(**values):
    return pytest.mark.parametrize("limited", [StreamLimits(**values)], indirect=True, ids=["limits"])


def _indexes(responses) -> list[int]:
    return [r.frame.index for r in responses if r.WhichOneof("kind") == "frame"]


async def _wait_for(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


@limits(max_streams=2, retry_after_s=0.5)
def test_streams_beyond_the_limit_are_refused_with_a_retry_hint(limited):
    async def main():
        async with SignStreamClient(limited.target) as client:
            held = [client.synthesize(NONE) for _ in range(2)]
            for call in held:
                await call.send("¶hello")
            for call in held:                       # both admitted: their first frame arrived
                await anext(aiter(call))
            await _wait_for(lambda: limited.metric("signstream_streams_open", rpc="Synthesize") == 2, 5)
            refused = client.stub.Synthesize(iter([pb.SynthesizeRequest(config=NONE),
                                                  pb.SynthesizeRequest(sign_id="¶hello")]))
            got, error = await read_all(refused)
            trailers = dict(await refused.trailing_metadata())
            for call in held:
                call.cancel()
            await _wait_for(lambda: limited.metric("signstream_streams_open", rpc="Synthesize") == 0, 5)
            after, after_error = await read_all(client.stub.Synthesize(iter([
                pb.SynthesizeRequest(config=NONE), pb.SynthesizeRequest(sign_id="¶hello")])))
            return got, error, trailers, after, after_error

    got, error, trailers, after, after_error = asyncio.run(main())
    assert got == [] and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "limit of 2 open streams" in error.details() and "retry in 0.5 s" in error.details()
    assert trailers["grpc-retry-pushback-ms"] == "500"
    assert after_error is None and _indexes(after) == list(range(LENGTHS["hello"]))      # room again


@limits(max_signs=2)
def test_signs_beyond_the_limit_end_the_stream_after_the_frames_before(limited):
    async def main():
        async with SignStreamClient(limited.target) as client:
            return await read_all(client.stub.Synthesize(iter(
                [pb.SynthesizeRequest(config=NONE)] + [pb.SynthesizeRequest(sign_id=s) for s in
                                                       ("¶hello", "¶name", "¶good")])))

    got, error = asyncio.run(main())
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "limit of 2 sign IDs" in error.details()
    assert _indexes(got) == list(range(output_length([LENGTHS["hello"], LENGTHS["name"]], N, 0)))


@limits(idle_timeout_s=0.5)
def test_an_idle_stream_is_closed_and_an_active_one_is_not(limited):
    async def idle(send_config: bool):
        async with SignStreamClient(limited.target) as client:
            call = client.stub.Synthesize()
            if send_config:
                await call.write(pb.SynthesizeRequest(config=NONE))
                await call.write(pb.SynthesizeRequest(sign_id="¶hello"))
            start = time.monotonic()
            got, error = await read_all(call)
            return got, error, time.monotonic() - start

    async def active():
        """A sign every 0.3 s for 2 s: never idle for 0.5 s."""
        async with SignStreamClient(limited.target) as client:
            call = client.synthesize(NONE)
            reading = asyncio.create_task(read_all(call))
            for sign in ("¶hello", "¶name", "¶good", "¶sign", "¶learn", "¶where", "¶want"):
                await call.send(sign)
                await asyncio.sleep(0.3)
            await call.done_sending()
            return await reading

    async def main():
        return await asyncio.gather(idle(True), idle(False), active())

    (got, error, waited), (none, error_before_config, waited_before), (frames, active_error) = asyncio.run(main())
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED and "no request for 0.5 s" in error.details()
    assert _indexes(got) == list(range(LENGTHS["hello"])) and 0.5 <= waited < 3
    assert error_before_config.code() == grpc.StatusCode.DEADLINE_EXCEEDED and none == [] and waited_before < 3
    assert active_error is None and len(_indexes(frames)) == output_length(
        [LENGTHS[s] for s in ("hello", "name", "good", "sign", "learn", "where", "want")], N, 0)
    assert limited.metric("signstream_errors_total", code="STREAM_TIMEOUT") == 2


@limits(max_stream_s=1.0)
def test_a_stream_ends_at_its_duration_limit_with_every_frame_before_it(limited):
    async def main():
        async with SignStreamClient(limited.target) as client:
            config = pb.SessionConfig(encoding=pb.NONE, pacing=pb.REALTIME, fps=50, transition="linear")
            call = client.synthesize(config)
            for sign in ("¶hello", "¶name", "¶good", "¶sign"):
                await call.send(sign)
            start = time.monotonic()
            got, error = await read_all(call)
            return got, error, time.monotonic() - start

    got, error, took = asyncio.run(main())
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED and "limit of 1 s" in error.details()
    indexes = _indexes(got)
    assert indexes == list(range(len(indexes))) and 35 <= len(indexes) <= 60 and took < 2.5


@limits(send_timeout_s=0.5)
def test_a_client_that_stops_reading_costs_bounded_work_and_is_dropped(limited):
    frames_sent = lambda: limited.metric("signstream_frames_sent_total", rpc="Synthesize", encoding="raw_rgb")  # noqa: E731

    async def main():
        async with SignStreamClient(limited.target) as client, SignStreamClient(limited.target) as other:
            config = pb.SessionConfig(encoding=pb.RAW_RGB, width=512, height=512, transition="linear")      # 768 KiB a frame
            stalled = client.synthesize(config)
            for sign in ["¶hello", "¶name", "¶good", "¶sign"] * 5:
                await stalled.send(sign)
            responses = aiter(stalled)
            await anext(responses)                      # one frame, then the client stops reading
            bystander = asyncio.create_task(other.synthesize_all(NONE, ["¶hello", "¶name"]))
            await _wait_for(lambda: limited.metric("signstream_streams_open", rpc="Synthesize") == 0, 10)
            made = frames_sent()
            await asyncio.sleep(0.5)
            still = frames_sent()
            rest, error = [], None
            try:
                async for response in responses:        # what the transport held, then the status
                    rest.append(response)
            except grpc.aio.AioRpcError as exc:
                error = exc
            return made, still, rest, error, await bystander

    made, still, rest, error, bystander = asyncio.run(main())
    total = output_length([LENGTHS[s] for s in ("hello", "name", "good", "sign")] * 5, N, 0)
    assert made == still, "the server went on making frames for a dropped stream"
    assert made < 40 < total, f"{made} frames were made for a client that read one"
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED and "did not read a frame for 0.5 s" in error.details()
    assert [r.frame.index for r in rest] == list(range(1, 1 + len(rest)))
    assert len(_indexes(bystander)) == output_length([LENGTHS["hello"], LENGTHS["name"]], N, 0)


@limits()
def test_the_client_refuses_a_request_over_the_gateways_limit_before_sending_it(limited):
    async def main():
        async with SignStreamClient(limited.target) as client:
            call = client.synthesize(pb.SessionConfig(style_image=b"\xff" * (20 << 20)))
            with pytest.raises(InvalidArgument, match="config is 20.0 MiB; the gateway takes at most 16 MiB"):
                await call.send("¶hello")
            call.cancel()

    asyncio.run(main())
    assert limited.metric("signstream_streams_total", rpc="Synthesize") == 0          # it never reached the server


@limits()
def test_a_client_that_cancels_before_its_config_is_not_an_error(limited):
    async def main():
        async with SignStreamClient(limited.target) as client:
            for _ in range(5):
                call = client.stub.Synthesize()
                await asyncio.sleep(0.05)
                call.cancel()
            await _wait_for(lambda: limited.metric("signstream_streams_open", rpc="Synthesize") == 0, 5)
            await asyncio.sleep(0.2)

    asyncio.run(main())
    assert limited.metric("signstream_streams_total", rpc="Synthesize") == 5
    assert limited.metric("signstream_errors_total", code="INVALID_ARGUMENT") == 0


RAW_512 = 512 * 512 * 3                       # one RAW_RGB 512 x 512 frame: 768 KiB


@limits(frame_memory_bytes=5 * RAW_512, send_timeout_s=20)
def test_clients_that_stop_reading_fill_the_frame_budget_not_the_machine_and_the_next_stream_is_refused(limited):
    held = lambda: limited.metric("signstream_server_frame_memory_bytes")       # noqa: E731
    raw = pb.SessionConfig(encoding=pb.RAW_RGB, width=512, height=512, transition="linear")
    signs = ["¶hello", "¶name", "¶good", "¶sign"] * 3

    async def stall(client):
        call = client.synthesize(raw)
        for sign in signs:
            await call.send(sign)
        responses = aiter(call)
        await anext(responses)                      # one frame, then the client stops reading
        return call

    async def main():
        clients = [SignStreamClient(limited.target) for _ in range(4)]
        for c in clients:
            await c.__aenter__()
        try:
            first = await stall(clients[0])         # holds the frame in the transport + the lookahead
            await _wait_for(lambda: held() == 4 * RAW_512, 5)
            second = await stall(clients[1])        # room for one frame more: it too stops reading
            await _wait_for(lambda: held() == 5 * RAW_512, 5)
            peak = held()
            refused, error = await read_all(clients[2].stub.Synthesize(iter(
                [pb.SynthesizeRequest(config=raw), pb.SynthesizeRequest(sign_id="¶hello")])))
            keypoints = await clients[3].synthesize_all(NONE, ["¶hello"])     # no pictures: no budget needed
            for call in (first, second):
                call.cancel()
            await _wait_for(lambda: held() == 0, 10)
            after = await clients[2].synthesize_all(raw, ["¶hello"])          # room again
            return peak, refused, error, keypoints, after
        finally:
            for c in clients:
                await c.__aexit__(None, None, None)

    peak, refused, error, keypoints, after = asyncio.run(main())
    assert peak == 5 * RAW_512 == limited.metric("signstream_frame_memory_budget_bytes")
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
    assert "frame memory budget of 3.75 MiB" in error.details() and "retry in 1 s" in error.details()
    assert _indexes(refused) == []
    assert _indexes(keypoints) == list(range(LENGTHS["hello"]))
    assert _indexes(after) == list(range(LENGTHS["hello"])) and held() == 0
