"""The load generator: S concurrent Synthesize streams against a running gateway, each a live client.

Every stream has its own channel (its own TCP connection, as separate users would, so several
gateway processes behind one SO_REUSEPORT port share them). A stream sends its config and first
sign at once, and each later sign as soon as the previous sign's first frame arrives (a live client
typing ahead); after the last sign it half-closes and reads to the end. Arrival times are taken on
this process's monotonic clock as each response is read.

Arrivals: `all` starts S workers together, each running streams back to back until the duration is
up; `poisson` gives each worker an exponential pause (mean `think_s`) before each stream, so stream
starts form a Poisson process. Nothing here is timed against a threshold; `stats` turns the records
into figures.
"""
from __future__ import annotations

import asyncio
import random
import time
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
    status: str = "OK"                                       # gRPC status code name at the end
    closed: float = 0.0

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


def _starts_sign(response: pb.SynthesizeResponse, previous: pb.Frame | None) -> bool:
    """Does this response show that the next sign arrived at the server (its first frame, or a notice)?"""
    if response.WhichOneof("kind") == "notice":
        return True
    frame = response.frame
    return previous is None or frame.sign_id != previous.sign_id or (
        frame.kind == pb.TRANSITION and previous.kind != pb.TRANSITION)


async def run_stream(channel: grpc.aio.Channel, plan: LoadPlan) -> StreamRecord:
    """One live stream on `channel`; never raises for a gRPC error (it is the record's status).

    Requests go through a request iterator, not `call.write`: when the server refuses the config, a
    write racing its abort would turn into a client-side INTERNAL status, while an iterator simply
    stops and the call ends with the server's own status."""
    clock = time.monotonic
    record = StreamRecord(opened=clock())
    ids = plan.sign_ids
    to_send: asyncio.Queue[str | None] = asyncio.Queue()

    async def requests():
        yield pb.SynthesizeRequest(config=plan.config)
        while (sign_id := await to_send.get()) is not None:
            record.sent.append(clock())
            yield pb.SynthesizeRequest(sign_id=sign_id)

    def send_next() -> None:
        queued = len(record.sent) + to_send.qsize()
        if queued < len(ids):
            to_send.put_nowait(ids[queued])
            if queued + 1 == len(ids):
                to_send.put_nowait(None)          # half-close after the last sign

    call = pb_grpc.SignStreamStub(channel).Synthesize(requests())
    try:
        send_next()
        previous: pb.Frame | None = None
        while (response := await call.read()) is not grpc.aio.EOF:
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
            if response.WhichOneof("kind") == "frame":
                previous = response.frame
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


async def _worker(target: str, plan: LoadPlan, worker: int, deadline: float, records: list[StreamRecord]) -> None:
    rng = random.Random(plan.seed * 100_003 + worker)
    done = 0
    async with channel(target) as ch:
        while time.monotonic() < deadline and (plan.max_streams_per_worker <= 0 or done < plan.max_streams_per_worker):
            if plan.arrivals == "poisson":
                await asyncio.sleep(rng.expovariate(1.0 / plan.think_s))
                if time.monotonic() >= deadline:
                    break
            records.append(await run_stream(ch, plan))
            done += 1


async def run_load(target: str, plan: LoadPlan) -> tuple[list[StreamRecord], float, float]:
    """Run the plan; (records, wall start, wall end) on the monotonic clock. Streams in flight at the
    deadline are read to their end, so every record is complete."""
    if plan.arrivals not in ARRIVALS:
        raise ValueError(f"arrivals must be one of {ARRIVALS}, got {plan.arrivals!r}")
    records: list[StreamRecord] = []
    start = time.monotonic()
    await asyncio.gather(*(_worker(target, plan, w, start + plan.duration_s, records) for w in range(plan.streams)))
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
