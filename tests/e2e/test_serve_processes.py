"""`signstream serve --processes 2`: two gateway processes share one port (SO_REUSEPORT) and both serve
streams, each with its own /metrics (--metrics-port + i); --max-streams holds for the two together;
`signstream bench --server` measures it; SIGTERM drains both and stops Triton, leaving no process of
the tree running."""
from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import grpc
import pytest

from signstream.bench import procstat
from signstream.bench.loadgen import LoadPlan, channel, run_stream
from signstream.bench.stats import in_order
from signstream.bench.targets import TARGETS
from signstream.clients.client import SignStreamClient
from signstream.clients.process import SignstreamProcess
from signstream.net import free_port
from signstream.v1 import signstream_pb2 as pb
from tests.support.gateway import read_all
from tests.support.processes import started

STOP_TIMEOUT_S = 120
GONE_TIMEOUT_S = 20          # deadline for the tree's last processes (multiprocessing's resource tracker)
STREAMS_PER_BATCH = 8
MAX_STREAMS = 32             # 8 connections all land on one process with chance 2 * 2**-8; 32 with 2**-31
SERVER_MAX_STREAMS = 12      # `--max-streams`: a batch of 8 fits, with room for a batch's late releases


def _metrics_ports() -> int:
    """A port M such that M and M + 1 (gateway 1's /metrics) are both free now."""
    for _ in range(100):
        m = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", m + 1))
            except OSError:
                continue
        return m
    raise RuntimeError("no two consecutive free ports")


@pytest.fixture(scope="module")
def served(demo_lexicon_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("serve_processes")
    port, metrics_port = free_port(), _metrics_ports()
    process = SignstreamProcess(
        ["serve", "--processes", "2", "--workers", "1", "--port", str(port), "--metrics-port", str(metrics_port),
         "--max-streams", str(SERVER_MAX_STREAMS),
         "--lexicon", str(demo_lexicon_dir), "--wholebody", "off", "--grace", "5",
         "--triton-log-file", str(work / "triton.log")],
        "SignStream serving", work / "serve.log")
    with started(process) as server:
        yield {"server": server, "pid": server.process.pid, "target": f"127.0.0.1:{port}",
               "metrics": [f"http://127.0.0.1:{metrics_port + i}/metrics" for i in range(2)]}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def _tree(pid: int) -> list[int]:
    """`pid` and all its descendants, Triton's included."""
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(procstat.children(p))
    return out


def _identity(pid: int) -> tuple[int, str] | None:
    """(pid, start time) while the process exists and is not a zombie; None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return None if fields[0] in ("Z", "X") else (pid, fields[19])


def _scrape(url: str) -> dict[tuple[str, frozenset], float]:
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    series = {}
    for m in re.finditer(r"^(\w+)(?:\{(.*)\})? (\S+)$", text, re.M):
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        series[(m.group(1), labels)] = float(m.group(3))
    return series


def _value(series: dict, name: str, **labels) -> float:
    return series.get((name, frozenset(labels.items())), 0.0)


def _served(url: str) -> tuple[float, float]:
    """(Synthesize streams opened, JPEG frames sent) by the gateway process behind this /metrics."""
    s = _scrape(url)
    return (_value(s, "signstream_streams_total", rpc="Synthesize"),
            _value(s, "signstream_frames_sent_total", rpc="Synthesize", encoding="jpeg"))


def test_the_ready_line_names_two_gateway_processes(served):
    line = served["server"].ready_line()
    assert f"on {served['target']} (2 gateway processes)" in line, line


def test_the_gateway_pids_are_the_parent_and_one_spawned_gateway(served):
    pid = served["pid"]
    pids = procstat.gateway_pids(pid)
    tritons = [c for c in procstat.children(pid) if procstat._comm(c) == "tritonserver"]
    assert len(tritons) == 1 and tritons[0] not in pids                # Triton is there, and left out
    assert not set(_tree(tritons[0])) & set(pids)                       # with its Python backend stubs
    gateways = [p for p in pids if p == pid or "multiprocessing.spawn" in _cmdline(p)]
    trackers = [p for p in pids if "multiprocessing.resource_tracker" in _cmdline(p)]
    assert len(gateways) == 2 and pids[0] == pid
    assert all(procstat._comm(p).startswith("python") for p in pids)
    # The only other process is multiprocessing's resource tracker (spawn starts one; see the report).
    assert sorted(pids) == sorted(gateways + trackers) and len(trackers) <= 1
    assert procstat.sample(pid).rss_bytes > procstat.sample(pid, tree=False).rss_bytes


def test_both_processes_serve_streams_on_the_one_port(served):
    """Each stream gets its own channel (its own TCP connection); the kernel hashes each connection to
    one of the two listening sockets. Batches of 8 until both have served (at most 32 connections)."""
    plan = LoadPlan(1, ("¶hello", "¶name"), pb.SessionConfig(encoding=pb.JPEG, width=64, height=64))
    before = [_served(url) for url in served["metrics"]]

    async def one():
        async with channel(served["target"]) as ch:
            return await run_stream(ch, plan)

    records = []
    while len(records) < MAX_STREAMS:
        records += asyncio.run(_gather([one() for _ in range(STREAMS_PER_BATCH)]))
        after = [_served(url) for url in served["metrics"]]
        if all(a[0] > b[0] for a, b in zip(after, before)):
            break
    assert all(r.ok and in_order(r) and r.arrivals for r in records), [r.status for r in records]
    streams = [a[0] - b[0] for a, b in zip(after, before)]
    frames = [a[1] - b[1] for a, b in zip(after, before)]
    assert all(s > 0 for s in streams) and all(f > 0 for f in frames), (streams, frames)
    assert sum(streams) == len(records)                                  # every stream counted once
    assert sum(frames) == sum(len(r.arrivals) for r in records)          # and every frame


async def _gather(coroutines):
    return await asyncio.gather(*coroutines)


def test_max_streams_is_the_whole_servers_on_one_connection_and_over_many(served):
    """One channel is one connection, so its streams all land on one process: it still gets the
    server's 12 (not 6), and the refusal names 12. Then streams over their own connections (spread
    over both processes) while 12 are open are refused too."""
    config = pb.SessionConfig(encoding=pb.NONE)

    async def main():
        async with SignStreamClient(served["target"]) as client:
            held = [client.synthesize(config) for _ in range(SERVER_MAX_STREAMS)]
            for call in held:
                await call.send("¶hello")
            for call in held:                               # all admitted: a first frame each
                await anext(aiter(call))
            refused = await read_all(client.stub.Synthesize(iter(
                [pb.SynthesizeRequest(config=config), pb.SynthesizeRequest(sign_id="¶hello")])))
            others = []
            for _ in range(4):
                async with SignStreamClient(served["target"]) as other:
                    others.append(await read_all(other.stub.Synthesize(iter(
                        [pb.SynthesizeRequest(config=config), pb.SynthesizeRequest(sign_id="¶hello")]))))
            for call in held:
                call.cancel()
            return refused, others

    (got, error), others = asyncio.run(main())
    assert got == [] and error is not None and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
    assert f"limit of {SERVER_MAX_STREAMS} open streams" in error.details(), error.details()
    assert all(e is not None and e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED for _, e in others)
    open_now = [_value(_scrape(url), "signstream_server_streams_open") for url in served["metrics"]]
    deadline = time.monotonic() + 10
    while any(open_now) and time.monotonic() < deadline:        # the cancelled streams are let go
        time.sleep(0.1)
        open_now = [_value(_scrape(url), "signstream_server_streams_open") for url in served["metrics"]]
    assert open_now == [0, 0]


def test_bench_quick_against_the_running_server(served, tmp_path):
    # --signs and --size keep the run short (one 40-frame sign at 64 x 64: ~7 s instead of ~18 s);
    # cwd=tmp_path because the bench writes its logs to ./logs.
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "signstream", "bench", "--quick", "--server", served["target"],
         "--server-pid", str(served["pid"]), "--streams", "2", "--encodings", "none", "--duration", "1",
         "--realtime-streams", "2", "--heavy-loops", "0", "--idle-streams", "3", "--no-triton", "--no-kernels", "--out", str(out),
         "--signs", "¶hello", "--size", "64"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    doc = json.loads((out / "bench-quick.json").read_text())
    assert doc["setup"]["server"] == served["target"] and doc["setup"]["signs"] == ["¶hello"]

    none = doc["load"]["none@2"]
    assert none["streams"] == 2 and none["streams_completed"] > 0 and none["streams_failed"] == 0
    assert none["streams_out_of_order"] == 0 and none["frames"] > 0 and none["mean_frame_bytes"] == 0
    assert none["server_rss_mib"] > 0 and "server_cores_busy" in none                # --server-pid sampled
    assert doc["load"]["best_none_frames_per_s"] == none["frames_per_s"]
    assert not any(k.startswith("jpeg@") for k in doc["load"])

    realtime = doc["realtime"]
    assert realtime["streams"] == 2 and realtime["streams_completed"] == 2 and realtime["streams_failed"] == 0
    assert realtime["streams_out_of_order"] == 0 and realtime["lateness_p99_ms"] is not None
    assert realtime["mean_frame_bytes"] > 0                                          # JPEG frames
    assert doc["idle"]["streams"] == 3 and "rss_per_stream_mib" in doc["idle"]
    assert doc["idle"]["fds_per_stream"] >= 1        # a socket per idle connection, in whichever process
    assert doc["memory"]["rss_end_mib"] > 0
    assert doc["jpeg_ceiling"]["frames_per_s"] > 0 and doc["jpeg_ceiling"]["frames_per_stream"] > 0
    assert "best_share" not in doc["jpeg_ceiling"]                                   # no JPEG ASAP level

    rows = {row["figure"]: row for row in doc["targets"]}
    assert list(rows) == [t.name for t in TARGETS]
    assert rows["keypoints only (NONE) frames/s"]["value"] == none["frames_per_s"]
    assert rows["REALTIME streams held"]["value"] == 2 and rows["REALTIME streams held"]["met"] is False
    assert rows["time to first frame p50, 16 streams JPEG ASAP"]["met"] is None       # not run
    assert rows["numba / NumPy reference, normalize+insert+transition (seed method)"]["met"] is None  # --no-kernels

    table = (out / "bench-quick.md").read_text()
    assert "| none@2 |" in table and "| realtime@2 |" in table and "| REALTIME streams held | 2 |" in table
    image = cv2.imread(str(out / "bench-quick.png"))
    assert image is not None and image.size > 0


def test_sigterm_drains_both_and_leaves_nothing_running(served):
    server, pid = served["server"], served["pid"]
    tree = _tree(pid)
    assert len(tree) >= 4                                  # serve, its gateway, Triton, Triton's stub(s)
    identities = [i for i in map(_identity, tree) if i is not None]
    assert server.stop(timeout=STOP_TIMEOUT_S) == 0, server.output[-3000:]
    out = server.output
    assert out.count("draining: NOT_SERVING") == 2, out[-3000:]            # both gateways drained
    assert out.index("gateway stopped; stopping Triton") < out.index("Triton stopped")
    deadline = time.monotonic() + GONE_TIMEOUT_S
    alive = identities
    while alive and time.monotonic() < deadline:
        alive = [(p, start) for p, start in alive if _identity(p) == (p, start)]
        time.sleep(0.1)
    assert not alive, [(p, _cmdline(p)) for p, _ in alive]
