"""REALTIME pacing beside heavy images: the same REALTIME streams measured alone and then while other
clients keep sending 36 Mpx photos (legal: under the 40 Mpx limit) to ExtractKeypoints and Retarget.

    figures = side_by_side(measure, target, loops=4)      # {"alone": …, "loaded": …, "load": …}

The photo load runs in a process of its own (spawned), so the client measuring lateness shares no
event loop or GIL with the load it is measured beside. Half the loops call ExtractKeypoints over and
over, half hold a Retarget stream (encoding NONE) that sends the photo, reads its answer and sends it
again. A refusal (RESOURCE_EXHAUSTED: the server's extraction slots stayed busy) is counted, not an
error of the bench: it is the admission the server is meant to do.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable

import cv2
import grpc
import numpy as np

from signstream.v1 import signstream_pb2 as pb
from signstream.v1 import signstream_pb2_grpc as pb_grpc

from .photos import PHOTOS

HEAVY_SIZE = (7200, 5000)        # width, height: 36 Mpx
WARM_TIMEOUT_S = 120             # the load's first answer (Triton's first large image) may take a while
MAX_MESSAGE = 64 * 1024 * 1024


def heavy_photo(size: tuple[int, int] = HEAVY_SIZE) -> bytes:
    """A JPEG of one person (scikit-image's astronaut, scaled up) on a wide canvas of `size`."""
    width, height = size
    person = cv2.resize(cv2.cvtColor(PHOTOS["astronaut"](), cv2.COLOR_RGB2BGR), (height, height),
                        interpolation=cv2.INTER_CUBIC)
    canvas = np.full((height, width, 3), 96, dtype=np.uint8)
    left = (width - height) // 2
    canvas[:, left:left + height] = person
    return cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


async def _extract_loop(stub, data: bytes, stop, counts: Counter) -> None:
    while not stop.is_set():
        try:
            await stub.ExtractKeypoints(pb.ExtractRequest(image=data), timeout=120)
            counts["extract_ok"] += 1
        except grpc.aio.AioRpcError as exc:
            counts[f"extract_{exc.code().name}"] += 1


async def _retarget_loop(stub, data: bytes, stop, counts: Counter) -> None:
    while not stop.is_set():
        call = stub.Retarget()
        try:
            await call.write(pb.RetargetRequest(config=pb.SessionConfig(encoding=pb.NONE)))
            while not stop.is_set():
                await call.write(pb.RetargetRequest(image=data))
                await call.read()
                counts["retarget_frames"] += 1
            await call.done_writing()
        except grpc.aio.AioRpcError as exc:
            counts[f"retarget_{exc.code().name}"] += 1
        finally:
            call.cancel()


async def _load(target: str, data: bytes, loops: int, stop, started, results) -> None:
    counts: Counter = Counter()
    options = [("grpc.max_send_message_length", MAX_MESSAGE), ("grpc.max_receive_message_length", MAX_MESSAGE)]
    channels = [grpc.aio.insecure_channel(target, options) for _ in range(loops)]    # a connection each
    tasks = []
    for i, ch in enumerate(channels):
        stub = pb_grpc.SignStreamStub(ch)
        loop = _extract_loop if i % 2 == 0 else _retarget_loop
        tasks.append(asyncio.create_task(loop(stub, data, stop, counts)))
    while not stop.is_set():
        if sum(counts.values()) and not started.is_set():
            started.set()
        await asyncio.sleep(0.1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for ch in channels:
        await ch.close()
    results.put(dict(counts))


def _load_main(target: str, loops: int, stop, started, results) -> None:
    asyncio.run(_load(target, heavy_photo(), loops, stop, started, results))


def side_by_side(measure: Callable[[], dict], target: str, loops: int = 4) -> dict:
    """`measure()` (a REALTIME load level's figures) alone, then again while `loops` clients send
    heavy photos; with what the load got done meanwhile."""
    alone = measure()
    context = multiprocessing.get_context("spawn")
    stop, started, results = context.Event(), context.Event(), context.Queue()
    load = context.Process(target=_load_main, args=(target, loops, stop, started, results),
                           name="signstream-heavy-images", daemon=True)
    load.start()
    try:
        if not started.wait(WARM_TIMEOUT_S):
            raise RuntimeError(f"the heavy-image load got no answer within {WARM_TIMEOUT_S} s")
        begin = time.monotonic()
        loaded = measure()
        seconds = time.monotonic() - begin
    finally:
        stop.set()
    counts = results.get(timeout=60)
    load.join(30)
    if load.is_alive():
        load.kill()
    return {"loops": loops, "photo_px": HEAVY_SIZE[0] * HEAVY_SIZE[1], "alone": alone, "loaded": loaded,
            "load": {**counts, "seconds": round(seconds, 1),
                     "images_per_s": round((counts.get("extract_ok", 0) + counts.get("retarget_frames", 0))
                                           / max(seconds, 1e-9), 2)}}
