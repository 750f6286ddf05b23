"""The server-wide limits as plain Python: open streams and frame memory counted for all gateway
processes together (a shared-memory table, real spawned processes), and the frame budget a stream's
FrameWriter holds from before a frame is drawn until the transport takes it."""
from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from signstream.errors import Overloaded
from signstream.frame_writer import FrameWriter
from signstream.lexicon.demo import demo_signs
from signstream.limits import MIB, Admission, FrameBudget, StreamLimits
from signstream.metrics import GatewayMetrics, Registry
from signstream.render.encoder import StillEncoder
from signstream.render.renderer import SkeletonRenderer
from signstream.server_counts import FRAME_BYTES, STREAMS, ServerCounts

W, H = 64, 48
FRAME = W * H * 3


def _admit_all(counts: ServerCounts, limit: int, tries: int, results) -> None:
    """In a gateway process of its own: admit `tries` streams, report (admitted, refusal text)."""
    admission = Admission(StreamLimits(max_streams=limit), counts)
    admitted, refusal = 0, ""
    for _ in range(tries):
        try:
            admission.admit()
            admitted += 1
        except Overloaded as exc:
            refusal = exc.message
    results.put((counts.index, admitted, refusal))


def test_max_streams_holds_for_the_whole_server_across_processes_and_names_the_servers_number():
    context = multiprocessing.get_context("spawn")
    counts = ServerCounts(3, context)
    results = context.Queue()
    workers = [context.Process(target=_admit_all, args=(counts.for_process(i), 7, 5, results)) for i in (1, 2)]
    for w in workers:
        w.start()
    _admit_all(counts, 7, 5, results)         # this process is gateway 0
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    reports = [results.get(timeout=10) for _ in range(3)]
    assert sum(admitted for _, admitted, _ in reports) == 7          # not 3 × 5, not 3 × ceil(7 / 3)
    refusals = [text for _, _, text in reports if text]
    assert refusals and all("limit of 7 open streams" in text for text in refusals)
    assert counts.total(STREAMS) == 7
    # Process 1 dies holding its streams: the parent clears its slot and the room comes back.
    held_by_1 = next(admitted for index, admitted, _ in reports if index == 1)
    counts.clear(1)
    assert counts.total(STREAMS) == 7 - held_by_1
    assert Admission(StreamLimits(max_streams=7), counts).server_open == 7 - held_by_1


def test_try_add_is_exact_under_threads_of_several_process_views():
    counts = ServerCounts(2)
    views = [counts.for_process(0), counts.for_process(1)]

    def grab(view: ServerCounts) -> int:
        return sum(view.try_add(FRAME_BYTES, 3, limit=300) for _ in range(200))

    with ThreadPoolExecutor(8) as pool:
        taken = sum(pool.map(grab, [views[i % 2] for i in range(8)]))
    assert taken == 100 and counts.total(FRAME_BYTES) == 300
    assert counts.for_process(0).mine(FRAME_BYTES) + counts.for_process(1).mine(FRAME_BYTES) == 300
    with pytest.raises(ValueError, match="outside 0..1"):
        counts.for_process(2)


def test_frame_budget_waits_for_room_then_refuses_naming_the_budget():
    budget = FrameBudget(StreamLimits(frame_memory_bytes=2 * MIB, retry_after_s=0.5), wait_s=0.2)

    async def run():
        await budget.reserve(MIB)
        assert budget.try_reserve(MIB) and not budget.try_reserve(1)
        with pytest.raises(Overloaded) as full:
            await budget.reserve(MIB)
        assert "frame memory budget of 2 MiB" in full.value.message and "retry in 0.5 s" in full.value.message
        assert full.value.status == "RESOURCE_EXHAUSTED" and full.value.retry_after_s == 0.5
        # Room that comes back while a stream waits is taken.
        asyncio.get_running_loop().call_later(0.05, budget.release, MIB)
        await budget.reserve(MIB)
        with pytest.raises(Overloaded, match="takes 3.0 MiB, more than the server's frame memory budget of 2 MiB"):
            await budget.reserve(3 * MIB)         # could never fit: refused at once

    asyncio.run(run())
    assert budget.server_held == 2 * MIB


def _writer(budget: FrameBudget | None, pool) -> FrameWriter:
    return FrameWriter(SkeletonRenderer(W, H), StillEncoder("raw_rgb"), pool, budget=budget)


def test_a_client_that_stops_reading_holds_its_frames_in_the_budget_and_a_second_stream_is_refused():
    frames = demo_signs()[0].frames[:12].astype(np.float32)
    budget = FrameBudget(StreamLimits(frame_memory_bytes=4 * FRAME), wait_s=0.2)

    async def run():
        with ThreadPoolExecutor(2) as pool:
            stalled = _writer(budget, pool)
            reader = stalled.images(frames)
            await reader.__anext__()              # one frame handed over; the client reads no further
            await asyncio.sleep(0.1)              # the frame handed over and the three drawn ahead of it
            assert budget.server_held == 4 * FRAME and stalled.held == 4 * FRAME
            other = _writer(budget, pool)
            with pytest.raises(Overloaded, match="frame memory budget"):
                async for _ in other.images(frames):
                    pass
            assert other.held == 0
            await reader.aclose()                 # the stalled stream ends: everything it held comes back
            assert budget.server_held == 0 and stalled.held == 0
            got = [data async for data in _writer(budget, pool).images(frames)]
            assert len(got) == 12 and all(len(d) == FRAME for d in got)
            assert budget.server_held == 0

    asyncio.run(run())


def test_a_tight_budget_slows_the_lookahead_but_loses_no_frame_and_keeps_the_order():
    frames = demo_signs()[0].frames[:9].astype(np.float32)

    async def collect(budget):
        with ThreadPoolExecutor(2) as pool:
            return [data async for data in _writer(budget, pool).images(frames)]

    unbounded = asyncio.run(collect(None))
    tight = asyncio.run(collect(FrameBudget(StreamLimits(frame_memory_bytes=FRAME))))   # one frame at a time
    assert tight == unbounded and len(tight) == 9


def test_the_metrics_show_the_servers_streams_and_frame_memory():
    registry = Registry()
    metrics = GatewayMetrics(registry)
    counts = ServerCounts(2)
    counts.for_process(1).add(STREAMS, 3)
    counts.add(FRAME_BYTES, 1000)
    counts.for_process(1).add(FRAME_BYTES, 500)
    admission, budget = Admission(StreamLimits(), counts), FrameBudget(StreamLimits(frame_memory_bytes=4096), counts)
    metrics.track_server(lambda: admission.server_open, lambda: budget.held, lambda: budget.server_held, 4096,
                         lambda: 1, 2)
    text = registry.render()
    assert "signstream_server_streams_open 3\n" in text
    assert "signstream_frame_memory_bytes 1000\n" in text
    assert "signstream_server_frame_memory_bytes 1500\n" in text
    assert "signstream_frame_memory_budget_bytes 4096\n" in text
    assert "signstream_server_extractions_busy 1\n" in text and "signstream_extraction_slots 2\n" in text
