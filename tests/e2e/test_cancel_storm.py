"""A cancel storm against a real `signstream serve`: 90 streams open at once, each cancelled by its
client at a random moment (before its first frame, mid-sentence, or after its half-close), ROUNDS
times. Afterwards the server is SERVING, a fresh stream completes correctly, the open-streams gauge
is back to 0, open FDs are back to their start value and RSS is flat.

RSS bound: rounds 2..ROUNDS each within RSS_BOUND (5 %) of the RSS after round 1, the warm-up (the
first 90 concurrent streams grow gRPC's buffers, the allocator's pools and the CPU threads' canvases
once). The server runs with glibc's mmap threshold fixed (soak.SERVE_ENV, its default initial
value): by default glibc raises it after large frees, so later keypoint arrays come from the
heap and RSS after a round then swings by up to ±5 % with no trend (measured: 252-277 MiB over 16
rounds). Fixed, arrays above it are mapped and unmapped, a leak still stays resident, and rounds 2-5
came within +3.2 % of round 1 in four runs (and +2 to +3 % drift over 40 rounds, with Python's own
traced memory and object count flat: allocator fragmentation, not a leak). 5 % of a ~250 MiB gateway
is ~12 MiB over four rounds of 90 streams: it catches anything a cancelled stream leaves behind of
35 KiB or more (its sentence's keypoints are hundreds of KiB, an H.264 encoder MiBs). FDs: a leaked
call keeps its socket, so the count must come back (± FD_SLACK for a connection still closing).
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from signstream.bench import procstat
from signstream.bench.loadgen import LoadPlan, run_load
from signstream.bench.soak import SERVE_ENV, fresh_stream, gauge_settled, health, open_streams
from signstream.bench.soak_cases import Mix
from signstream.bench.stats import in_order
from signstream.clients.process import metrics_flags, serve_process
from signstream.config import Settings
from signstream.lexicon import open_lexicon
from signstream.v1 import signstream_pb2 as pb
from tests.support.processes import started

STREAMS = 90
ROUNDS = 5
ROUND_TIMEOUT_S = 60          # a round's 90 streams end long before; a hung one fails the test
RSS_BOUND = 0.05
FD_SLACK = 2
PAUSE_S = 1.0                 # after the gauge reads 0, for connections to finish closing
GAUGE_TIMEOUT_S = 10.0        # the gauge reads 0 within a second of a round's end; longer is a stuck stream
MOMENTS = {"before first frame", "mid-sentence", "after half-close"}


@pytest.fixture(scope="module")
def served(demo_lexicon_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("cancel_storm")
    flags, urls = metrics_flags(1)
    process, target = serve_process(
        str(demo_lexicon_dir), "--processes", "1", "--workers", "2", "--wholebody", "off", "--grace", "5",
        "--triton-log-file", str(work / "triton.log"), *flags, log_path=work / "serve.log", env=SERVE_ENV)
    with started(process, drain=True) as server:
        yield {"server": server, "target": target, "pid": server.process.pid, "metrics": urls}


async def _storm(served, mix: Mix) -> dict:
    """ROUNDS rounds of STREAMS concurrent cancelled streams; records and a quiet sample after each."""
    urls, pid = served["metrics"], served["pid"]
    start = procstat.sample(pid)
    rounds = []
    for r in range(ROUNDS):
        plan = LoadPlan(STREAMS, (), pb.SessionConfig(), duration_s=ROUND_TIMEOUT_S, max_streams_per_worker=1, seed=r)
        began = time.monotonic()
        records, _, _ = await asyncio.wait_for(run_load(served["target"], plan, jobs=mix.job), ROUND_TIMEOUT_S)
        gauge, _ = await gauge_settled(urls, GAUGE_TIMEOUT_S)
        await asyncio.sleep(PAUSE_S)
        rounds.append({"records": records, "gauge": gauge, "sample": procstat.sample(pid),
                       "seconds": round(time.monotonic() - began, 1)})
    return {"start": start, "rounds": rounds, "health": await health(served["target"]),
            "fresh": await fresh_stream(served["target"], mix), "open": await open_streams(urls),
            "end": procstat.sample(pid)}


@pytest.fixture(scope="module")
def storm(served, demo_lexicon_dir):
    mix = Mix(open_lexicon(Settings(lexicon=str(demo_lexicon_dir))), 64, behaviours=("cancelled",), weights=(1,))
    result = asyncio.run(_storm(served, mix))
    for i, r in enumerate(result["rounds"], 1):       # the figures, for the report (pytest -s shows them)
        statuses = Counter(rec.status for rec in r["records"])
        print(f"round {i}: {len(r['records'])} streams {dict(Counter(rec.tag.label for rec in r['records']))}, "
              f"{dict(statuses)}, {sum(len(rec.indexes) for rec in r['records'])} frames, {r['seconds']} s; "
              f"RSS {procstat.mib(r['sample'].rss_bytes)} MiB, FDs {r['sample'].fds}")
    print(f"start: RSS {procstat.mib(result['start'].rss_bytes)} MiB, FDs {result['start'].fds}; "
          f"end: RSS {procstat.mib(result['end'].rss_bytes)} MiB, FDs {result['end'].fds}")
    return result


def test_every_stream_was_cancelled_at_its_moment_with_the_frames_it_had_in_order(storm):
    for r in storm["rounds"]:
        records = r["records"]
        assert len(records) == STREAMS
        assert set(Counter(rec.tag.label for rec in records)) == MOMENTS
        for rec in records:
            case = rec.tag
            assert rec.status in case.statuses - {"RESOURCE_EXHAUSTED"}, (case, rec.status)
            assert in_order(rec), (case.label, rec.indexes[:20])
            if rec.ok:                                 # it ended before its cancel point: complete
                assert len(rec.indexes) == case.expected.frames
            if case.label == "before first frame":
                assert rec.indexes == []
        assert Counter(rec.status for rec in records)["CANCELLED"] >= STREAMS // 2


def test_the_server_is_healthy_and_serves_a_fresh_stream(storm):
    assert storm["health"] == "SERVING"
    ok, what = storm["fresh"]
    assert ok, what


def test_the_streams_gauge_is_back_to_zero_after_every_round(storm):
    assert [r["gauge"] for r in storm["rounds"]] == [0] * ROUNDS
    assert storm["open"] == 0


def test_open_fds_come_back_to_their_start(storm):
    start = storm["start"].fds
    assert all(abs(r["sample"].fds - start) <= FD_SLACK for r in storm["rounds"]), \
        (start, [r["sample"].fds for r in storm["rounds"]])


def test_rss_is_flat_after_the_first_round(storm):
    base = storm["rounds"][0]["sample"].rss_bytes
    later = [r["sample"].rss_bytes for r in storm["rounds"][1:]]
    assert all(rss <= base * (1 + RSS_BOUND) for rss in later), \
        (procstat.mib(base), [procstat.mib(x) for x in later])
