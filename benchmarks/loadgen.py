"""The load generator: S concurrent Synthesize streams against a running gateway, each a live client.

Every stream has its own channel (its own TCP connection, as separate users would, so several
gateway processes behind one SO_REUSEPORT port share them). A stream sends its config and first
sign at once, and each later sign as soon as the previous sign's first frame arrives (a live client
typing ahead). A sign that repeats the one before it goes out with it, and so does the sign after such
a run: with no transition frames between them (num_interpolation 0) the repeat starts with no
visible boundary, and a client waiting for one would wait as long as the server waits for its next
sign. After the last sign it half-closes and reads to the end. Arrival times are taken on
this process's monotonic clock as each response is read.

Arrivals: `all` starts S workers together, each running streams back to back until the duration is
up; `poisson` gives each worker an exponential pause (mean `think_s`) before each stream, so stream
starts form a Poisson process. Nothing here is timed against a threshold; `stats` turns the records
into figures.

A stream can also stop early (`Interrupt`, for the soak and the cancel storm): after a given number
of responses, counted from its start or from its half-close, the client cancels the call, or stops
reading and leaves it to the caller, who drops the channel. A mixed load (`run_load(..., jobs=f)`)
asks `f(rng)` for each stream's `Job` (its own signs, config and interrupt) and runs it on a
connection of its own, closed when the stream is over.
"""
from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from signstream.clients.client import MAX_MESSAGE_BYTES
from signstream.v1 import signstream_pb2 as pb
from signstream.v1 import signstream_pb2_grpc as pb_grpc

from .options import ARRIVALS


@dataclass
class StreamRecord:
    """What one stream saw. Times are seconds on the load generator's monotonic clock."""

    opened: float
    sent: list[float] = field(default_factory=list)          # sign k sent at sent[k]
    arrivals: list[float] = field(default_factory=list)      # frame j read at arrivals[j]
    indexes: list[int] = field(default_factory=list)         # frame j's index field
    frame_bytes: int = 0
    notices: list[str] = field(default_factory=list)
    status: str = "OK"                                       # gRPC status name at the end, or CANCELLED/ABANDONED
    closed: float = 0.0
    half_closed: float | None = None                         # when the last sign was queued to send
    tag: object = None                                       # a mixed load's Job.tag

    @property
    def ok(self) -> bool:
        return self.status == "OK"

    @property
    def first_frame_s(self) -> float | None:
        """First sign sent -> first frame read."""
        return self.arrivals[0] - self.sent[0] if self.arrivals and self.sent else None


@dataclass(frozen=True)
class LoadPlan:
    streams: int                       # S: concurrent workers
    sign_ids: tuple[str, ...]          # K signs per stream
    config: pb.SessionConfig
    duration_s: float = 10.0           # workers start no new stream after this
    arrivals: str = "all"
    think_s: float = 0.5               # poisson: mean pause before each stream
    max_streams_per_worker: int = 0    # 0: no limit
    seed: int = 0


INTERRUPT_ACTIONS = ("cancel", "abandon")


@dataclass(frozen=True)
class Interrupt:
    """Where and how a stream stops before its end. Once `after` responses have been read (counted
    from the half-close when `after_half_close`), the client waits `stall_s` without reading, then
    either cancels the call (`cancel`: status CANCELLED) or returns without cancelling (`abandon`:
    status ABANDONED; the caller then drops the channel). A stream that ends first keeps its status."""

    after: int = 0
    after_half_close: bool = False
    action: str = "cancel"
    stall_s: float = 0.0

    def __post_init__(self) -> None:
        if self.action not in INTERRUPT_ACTIONS:
            raise ValueError(f"Interrupt action must be one of {INTERRUPT_ACTIONS}, got {self.action!r}")

    def due(self, responses: int, at_half_close: int | None) -> bool:
        """Is it time, `responses` read so far and `at_half_close` read when the client half-closed?"""
        if not self.after_half_close:
            return responses >= self.after
        return at_half_close is not None and responses >= at_half_close + self.after


@dataclass(frozen=True)
class Job:
    """One stream of a mixed load: its plan (only `sign_ids` and `config` are used), how it stops
    early if it does, and a tag that comes back on its record."""

    plan: LoadPlan
    interrupt: Interrupt | None = None
    tag: object = None


Jobs = Callable[[random.Random], Job]


def _starts_sign(response: pb.SynthesizeResponse, previous: pb.Frame | None) -> bool:
    """Does this response show that the next sign arrived at the server (its first frame, or a notice)?"""
    if response.WhichOneof("kind") == "notice":
        return True
    frame = response.frame
    return previous is None or frame.sign_id != previous.sign_id or (
        frame.kind == pb.TRANSITION and previous.kind != pb.TRANSITION)


async def run_stream(channel: grpc.aio.Channel, plan: LoadPlan, interrupt: Interrupt | None = None) -> StreamRecord:
    """One live stream on `channel`, stopped early by `interrupt` if given; never raises for a gRPC
    error (it is the record's status).

    Requests go through a request iterator, not `call.write`: when the server refuses the config, a
    write racing its abort would turn into a client-side INTERNAL status, while an iterator simply
    stops and the call ends with the server's own status."""
    clock = time.monotonic
    record = StreamRecord(opened=clock())
    ids = plan.sign_ids
    to_send: asyncio.Queue[str | None] = asyncio.Queue()
    at_half_close: int | None = None          # responses read when the half-close was queued

    async def requests():
        yield pb.SynthesizeRequest(config=plan.config)
        while (sign_id := await to_send.get()) is not None:
            record.sent.append(clock())
            yield pb.SynthesizeRequest(sign_id=sign_id)

    def responses() -> int:
        return len(record.indexes) + len(record.notices)

    def send_next() -> None:
        """The next sign, and with it the rest of a run of repeats and the sign after the run (whose
        starts the client cannot see)."""
        nonlocal at_half_close
        queued = len(record.sent) + to_send.qsize()
        while queued < len(ids):
            to_send.put_nowait(ids[queued])
            queued += 1
            if queued == len(ids):
                to_send.put_nowait(None)          # half-close after the last sign
                at_half_close, record.half_closed = responses(), clock()
            repeats = queued < len(ids) and ids[queued] == ids[queued - 1]
            after_run = queued >= 2 and ids[queued - 1] == ids[queued - 2]
            if not (repeats or after_run):
                break

    async def stop_early() -> bool:
        if interrupt is None or not interrupt.due(responses(), at_half_close):
            return False
        if interrupt.stall_s > 0:
            await asyncio.sleep(interrupt.stall_s)
        if interrupt.action == "cancel":
            call.cancel()
            record.status = "CANCELLED"
        else:                                     # a server's status is only seen by reading: never here
            record.status = "ABANDONED"
        return True

    call = pb_grpc.SignStreamStub(channel).Synthesize(requests())
    # However the call ends (refused, failed, cancelled), the request iterator must end too: gRPC
    # does not stop a poller that waits for the next sign, and a pending one is an error at exit.
    call.add_done_callback(lambda _: to_send.put_nowait(None))
    try:
        send_next()
        previous: pb.Frame | None = None
        while not await stop_early() and (response := await call.read()) is not grpc.aio.EOF:
            now = clock()
            if response.WhichOneof("kind") == "frame":
                frame = response.frame
                record.arrivals.append(now)
                record.indexes.append(frame.index)
                record.frame_bytes += len(frame.image)
            else:
                record.notices.append(response.notice.code)
            if _starts_sign(response, previous):
                send_next()
            # After a notice (a skipped sign) the next frame starts a sign, even one that repeats the
            # sign before the skipped one with no transition between (num_interpolation 0).
            previous = response.frame if response.WhichOneof("kind") == "frame" else None
    except grpc.aio.AioRpcError as exc:
        record.status = exc.code().name
    except asyncio.CancelledError:
        call.cancel()
        record.status = "CANCELLED"
        raise
    finally:
        record.closed = clock()
    return record


def channel(target: str) -> grpc.aio.Channel:
    options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
               ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
               ("grpc.use_local_subchannel_pool", 1)]          # a connection of its own per channel
    return grpc.aio.insecure_channel(target, options)


async def _job(target: str, job: Job) -> StreamRecord:
    async with channel(target) as ch:          # closing it drops an abandoned stream's connection
        record = await run_stream(ch, job.plan, job.interrupt)
    record.tag = job.tag
    return record


async def _worker(target: str, plan: LoadPlan, worker: int, deadline: float, records: list[StreamRecord],
                  jobs: Jobs | None) -> None:
    rng = random.Random(plan.seed * 100_003 + worker)
    done = 0
    async with channel(target) as ch:
        while time.monotonic() < deadline and (plan.max_streams_per_worker <= 0 or done < plan.max_streams_per_worker):
            if plan.arrivals == "poisson":
                await asyncio.sleep(rng.expovariate(1.0 / plan.think_s))
                if time.monotonic() >= deadline:
                    break
            records.append(await (run_stream(ch, plan) if jobs is None else _job(target, jobs(rng))))
            done += 1


async def run_load(target: str, plan: LoadPlan, jobs: Jobs | None = None) -> tuple[list[StreamRecord], float, float]:
    """Run the plan; (records, wall start, wall end) on the monotonic clock. Streams in flight at the
    deadline are read to their end, so every record is complete. With `jobs`, each stream is
    `jobs(rng)` (rng seeded from plan.seed and the worker) on a connection of its own."""
    if plan.arrivals not in ARRIVALS:
        raise ValueError(f"arrivals must be one of {ARRIVALS}, got {plan.arrivals!r}")
    records: list[StreamRecord] = []
    start = time.monotonic()
    await asyncio.gather(*(_worker(target, plan, w, start + plan.duration_s, records, jobs)
                           for w in range(plan.streams)))
    return records, start, time.monotonic()


async def open_idle_streams(target: str, config: pb.SessionConfig, count: int):
    """`count` streams that sent their config and nothing else (for the per-idle-stream memory
    figure). Returns (calls, channels); cancel the calls and close the channels when done."""
    channels = [channel(target) for _ in range(count)]
    calls = []
    for ch in channels:
        call = pb_grpc.SignStreamStub(ch).Synthesize()
        await call.write(pb.SynthesizeRequest(config=config))
        calls.append(call)
    return calls, channels
