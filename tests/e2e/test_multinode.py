"""The Kubernetes layout rehearsed on one box: Debian's nginx as the L7 gRPC balancer (grpc_pass over
HTTP/2, what ingress-nginx does) in front of 2 `signstream serve` gateways that share 2 Tritons
(`signstream triton` x2, each gateway `--triton-url T1,T2`). Streams spread over both gateways and
their extractions over both Tritons; a gateway taken out of the balancer and sent SIGTERM drains its
streams while new ones go to the other; a Triton killed mid-traffic costs retries, never a stream.

The tests run in order on one set of processes (each later test starts from what the one before left);
the last one brings the killed Triton back.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from signstream.bench.promtext import scrape, value
from signstream.clients.client import SignStreamClient
from signstream.clients.process import SignstreamProcess
from signstream.lexicon.demo import demo_signs
from signstream.net import free_port
from signstream.pipeline import SynthesisOptions, output_length
from signstream.v1 import signstream_pb2 as pb
from tests.support.nginx import GrpcBalancer, nginx_binary
from tests.support.photos import grace_hopper
from tests.support.processes import READY_TIMEOUT_S, started

GRACE_S = 30
LENGTHS = {f"¶{s.sign_id}": len(s.frames) for s in demo_signs()}
N = SynthesisOptions().num_interpolation
# Small frames: the streams are about routing, not rendering.
FAST = dict(encoding=pb.NONE, width=64, height=64, transition="linear")


def _photo(i: int) -> bytes:
    """A different JPEG of the same person for each stream (a person is found in every one)."""
    rgb = cv2.resize(grace_hopper(), (256 + 8 * i, 256 + 8 * i))
    return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


def _triton(work, i: int, ports: dict[str, int] | None = None) -> tuple[SignstreamProcess, dict[str, int]]:
    ports = ports or {"grpc": free_port(), "http": free_port(), "metrics": free_port()}
    return SignstreamProcess(["triton", "--grpc-port", str(ports["grpc"]), "--http-port", str(ports["http"]),
                              "--metrics-port", str(ports["metrics"]), "--quiet",
                              "--triton-log-file", str(work / f"triton{i}.log")],
                             "Triton ready", work / f"triton{i}.out"), ports


def _gateway(work, i: int, lexicon, triton_url: str) -> tuple[SignstreamProcess, int, int]:
    port, metrics = free_port(), free_port()
    return SignstreamProcess(["serve", "--processes", "1", "--workers", "1", "--port", str(port),
                              "--metrics-port", str(metrics), "--triton-url", triton_url, "--wholebody", "off",
                              "--grace", str(GRACE_S), "--lexicon", str(lexicon)],
                             "SignStream serving", work / f"gateway{i}.out"), port, metrics


def _start_all(processes: list[SignstreamProcess]) -> None:
    """Start them side by side (a Triton takes 10-40 s here); fail with the first one's output."""
    with ThreadPoolExecutor(len(processes)) as pool:
        errors = [f.exception() for f in [pool.submit(p.start, READY_TIMEOUT_S) for p in processes]]
    for error in errors:
        if error is not None:
            pytest.fail(str(error))


@pytest.fixture(scope="module")
def box(demo_lexicon_dir, tmp_path_factory):
    if nginx_binary() is None:
        pytest.fail("no nginx on PATH or at /usr/sbin/nginx: `make system-deps` installs Debian's nginx")
    work = tmp_path_factory.mktemp("multinode")
    with contextlib.ExitStack() as stack:
        tritons = [_triton(work, i) for i in range(2)]
        for process, _ in tritons:
            stack.callback(process.stop)          # SIGTERM: the CLI stops its tritonserver and waits
        _start_all([p for p, _ in tritons])
        triton_url = ",".join(f"127.0.0.1:{ports['grpc']}" for _, ports in tritons)
        gateways = [_gateway(work, i, demo_lexicon_dir, triton_url) for i in range(2)]
        for process, _, _ in gateways:
            stack.callback(process.stop)
        _start_all([p for p, _, _ in gateways])
        upstreams = [f"127.0.0.1:{port}" for _, port, _ in gateways]
        balancer = stack.enter_context(GrpcBalancer(work / "nginx", upstreams, stream_timeout_s=GRACE_S * 10))
        yield {"balancer": balancer, "upstreams": upstreams,
               "gateways": [p for p, _, _ in gateways],
               "gateway_metrics": [f"http://127.0.0.1:{m}/metrics" for _, _, m in gateways],
               "tritons": [p for p, _ in tritons], "triton_ports": [ports for _, ports in tritons], "work": work,
               "triton_metrics": [f"http://127.0.0.1:{ports['metrics']}/metrics" for _, ports in tritons]}


def _streams_total(url: str) -> float:
    return sum(v for (name, labels), v in scrape(url).items()
               if name == "signstream_streams_total" and ("rpc", "Synthesize") in labels)


def _streams_open(url: str) -> float:
    return value(scrape(url), "signstream_streams_open", rpc="Synthesize")


def _holistic_successes(url: str) -> float:
    return sum(v for (name, labels), v in scrape(url).items()
               if name == "nv_inference_request_success" and ("model", "holistic") in labels)


def _probes(target: str) -> tuple[str, str]:
    """What a kubelet's gRPC readiness ("") and liveness ("liveness") probes get from a gateway now."""
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return tuple(health_pb2.HealthCheckResponse.ServingStatus.Name(
            stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status)
            for service in ("", "liveness"))


async def _stream(target: str, i: int, signs: list[str], **config) -> int:
    """One Synthesize stream with its own style image (one extraction): its frame count."""
    async with SignStreamClient(target) as client:
        responses = await client.synthesize_all(pb.SessionConfig(style_image=_photo(i), **{**FAST, **config}), signs)
    return sum(r.WhichOneof("kind") == "frame" for r in responses)


async def _streams(target: str, n: int, signs: list[str], **config) -> list[int]:
    return await asyncio.gather(*(_stream(target, i, signs, **config) for i in range(n)))


def test_streams_spread_over_both_gateways_and_extractions_over_both_tritons(box):
    gateways_before = [_streams_total(u) for u in box["gateway_metrics"]]
    tritons_before = [_holistic_successes(u) for u in box["triton_metrics"]]
    frames = asyncio.run(_streams(box["balancer"].target, 16, ["¶hello"]))
    assert frames == [output_length([LENGTHS["¶hello"]], N, 0)] * 16
    per_gateway = [_streams_total(u) - b for u, b in zip(box["gateway_metrics"], gateways_before)]
    per_triton = [_holistic_successes(u) - b for u, b in zip(box["triton_metrics"], tritons_before)]
    assert sum(per_gateway) == 16 and min(per_gateway) >= 4, per_gateway      # nginx: round robin per call
    assert sum(per_triton) >= 16 and min(per_triton) >= 4, per_triton         # gateways: per request


def test_a_gateway_leaving_drains_its_streams_and_new_ones_go_to_the_other(box):
    """What a scale-down does: the pod leaves the endpoints (here: nginx reloads without it; the
    chart's preStop sleep waits for this), then SIGTERM: its open streams finish within --grace."""
    leaving, staying = box["gateways"]
    balancer, urls = box["balancer"], box["gateway_metrics"]
    signs = ["¶hello", "¶name", "¶good", "¶morning"]          # REALTIME at 25 fps: about 7 s a stream
    expected = output_length([LENGTHS[s] for s in signs], N, 0)

    async def main():
        held = asyncio.gather(*(_stream(balancer.target, 20 + i, signs, pacing=pb.REALTIME, fps=25)
                                for i in range(6)))
        deadline = time.monotonic() + 60
        while sum(now := [_streams_open(u) for u in urls]) < 6 or min(now) < 1:   # all open, on both
            assert time.monotonic() < deadline, now
            await asyncio.sleep(0.1)
        await asyncio.to_thread(balancer.set_upstreams, box["upstreams"][1:])
        leaving_before, staying_before = _streams_total(urls[0]), _streams_total(urls[1])
        leaving.process.send_signal(signal.SIGTERM)
        fresh = await _streams(balancer.target, 4, ["¶hello"])           # while the first one drains
        new_on = (_streams_total(urls[0]) - leaving_before, _streams_total(urls[1]) - staying_before)
        probes = await asyncio.to_thread(_probes, box["upstreams"][0])
        return await held, fresh, new_on, probes

    held, fresh, new_on, probes = asyncio.run(main())
    assert probes == ("NOT_SERVING", "SERVING")          # readiness says go away; liveness: do not restart it
    assert held == [expected] * 6                                          # every stream whole
    assert fresh == [output_length([LENGTHS["¶hello"]], N, 0)] * 4
    assert new_on == (0, 4), new_on
    assert leaving.process.wait(timeout=GRACE_S + 30) == 0
    assert "draining" in leaving.output and "gateway stopped" in leaving.output


def test_a_triton_killed_mid_traffic_costs_no_stream(box):
    """tritonserver SIGKILLed (a crashed pod): its in-flight extractions fail UNAVAILABLE and are retried
    on the other Triton; later ones skip it while it is down."""
    killed, survivor = box["tritons"]
    pid = int(re.search(r"\(pid (\d+)\)", killed.ready_line()).group(1))
    survivor_before = _holistic_successes(box["triton_metrics"][1])

    async def main():
        streams = asyncio.ensure_future(_streams(box["balancer"].target, 8, ["¶hello"]))
        await asyncio.sleep(0.3)
        os.kill(pid, signal.SIGKILL)
        first = await streams
        return first, await _streams(box["balancer"].target, 8, ["¶hello"])

    first, second = asyncio.run(main())
    assert first == second == [output_length([LENGTHS["¶hello"]], N, 0)] * 8
    # The second 8 all reached the survivor, and so did whatever of the first 8 the killed one had not answered.
    assert _holistic_successes(box["triton_metrics"][1]) - survivor_before >= 8
    with grpc.insecure_channel(box["balancer"].target) as channel:   # still SERVING: one Triton is enough
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    staying = box["gateways"][1]
    assert f"Triton replica 127.0.0.1:{box['triton_ports'][0]['grpc']} is not answering" in staying.output
    assert killed.process.wait(timeout=30) != 0 and "tritonserver exited on its own" in killed.output


def test_a_triton_coming_back_takes_its_turns_again(box):
    """The killed Triton restarted on its address: the gateway's health probe finds it ready and it gets
    its share of the extractions again, while the streams go on as before."""
    revived, ports = _triton(box["work"], 2, box["triton_ports"][0])
    with started(revived, drain=True):
        url = box["triton_metrics"][0]
        staying = box["gateways"][1]
        deadline = time.monotonic() + 30
        while "Triton replica 127.0.0.1:%d answers again" % ports["grpc"] not in staying.output:
            assert time.monotonic() < deadline, staying.output[-2000:]
            time.sleep(0.2)
        frames = asyncio.run(_streams(box["balancer"].target, 8, ["¶hello"]))
        assert frames == [output_length([LENGTHS["¶hello"]], N, 0)] * 8
        assert _holistic_successes(url) >= 3                    # a new process: counted from 0
