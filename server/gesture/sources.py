"""The gesture source a stream asks for, opened for it (one per stream, never shared)."""
from __future__ import annotations

from concurrent.futures import Executor

from signstream.errors import SourceUnavailable
from signstream.gesture.beat import DEFAULT_LOOKAHEAD_S, BeatSource
from signstream.gesture.source import GestureSource
from signstream.gesture.spec import GestureSpec


async def open_source(spec: GestureSpec, executor: Executor | None, triton_urls: tuple[str, ...] = ()) -> GestureSource:
    """`spec` validated. beat: in this process; aqgt: on the Tritons at `triton_urls`."""
    if spec.source == "aqgt":
        raise SourceUnavailable("source aqgt is not available on this server (the AQ-GT models are not "
                                "installed); use source \"beat\"", field="source")
    lookahead = spec.lookahead_ms / 1000 if spec.lookahead_ms else DEFAULT_LOOKAHEAD_S
    return BeatSource(spec.fps, lookahead, executor=executor)
