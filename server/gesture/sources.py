"""The gesture source a stream asks for, opened for it (one per stream, never shared)."""
from __future__ import annotations

import itertools
import math
from concurrent.futures import Executor

from signstream.errors import InvalidArgument, SourceUnavailable
from signstream.gesture.beat import DEFAULT_LOOKAHEAD_S, BeatSource
from signstream.gesture.source import GestureSource
from signstream.gesture.spec import GestureSpec


async def open_source(spec: GestureSpec, executor: Executor | None, triton_urls: tuple[str, ...] = ()) -> GestureSource:
    """`spec` validated. beat: in this process; aqgt: on the Tritons at `triton_urls`."""
    if spec.source == "aqgt":
        return await _aqgt(spec, triton_urls)
    lookahead = spec.lookahead_ms / 1000 if spec.lookahead_ms else DEFAULT_LOOKAHEAD_S
    return BeatSource(spec.fps, lookahead, executor=executor)


_turn = itertools.count()      # streams take the Tritons in turn (an aqgt source keeps no state in Triton)


async def _aqgt(spec: GestureSpec, triton_urls: tuple[str, ...]) -> GestureSource:
    """An aqgt source on one of the Tritons, its models checked now: the stream is refused at its start,
    naming the missing files, where they are not installed."""
    from signstream.gesture.aqgt import AQGT_LOOKAHEAD_S, open_aqgt_source

    if not triton_urls:
        raise SourceUnavailable("source aqgt runs on Triton, and this gateway has none (it extracts in-process): "
                                "start serve with --triton-url, or use source \"beat\"", field="source")
    least_ms = math.ceil(AQGT_LOOKAHEAD_S * 1000)
    if spec.lookahead_ms and spec.lookahead_ms < least_ms:
        raise InvalidArgument(f"source aqgt holds frames back up to {least_ms} ms (one 34-frame window at 15 fps): "
                              f"declare lookahead_ms >= {least_ms}, or 0 for that", field="lookahead_ms")
    url = triton_urls[next(_turn) % len(triton_urls)]
    source = open_aqgt_source(url, spec.fps, (spec.lookahead_ms or least_ms) / 1000)
    try:
        await source.check()
    except BaseException:
        await source.close()
        raise
    return source
