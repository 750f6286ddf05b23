"""The streaming core driven directly, as any transport drives it: domain items in, outputs out."""
from __future__ import annotations

import asyncio

import pytest

from signstream.errors import InvalidArgument, Overloaded
from signstream.metrics import GatewayMetrics, Registry
from signstream.limits import StreamLimits
from signstream.pipeline import SynthesisOptions, output_length
from signstream.outputs import FrameOut, NoticeOut
from signstream.spec import SessionSpec
from signstream.streaming import StreamCore


@pytest.fixture()
def core(demo_lexicon_dir):
    from concurrent.futures import ThreadPoolExecutor

    from signstream.config import Settings
    from signstream.lexicon import open_lexicon

    with ThreadPoolExecutor(2) as pool:
        yield StreamCore(open_lexicon(Settings(lexicon=str(demo_lexicon_dir))), None, pool,
                         GatewayMetrics(Registry()), StreamLimits(max_streams=1))


SPEC = SessionSpec(encoding="none", options=SynthesisOptions(num_interpolation=2, transition="linear"))


async def _items(*values):
    for value in values:
        yield value


async def _run(core, *items):
    stream = core.admit("Synthesize")
    outs, error = [], None
    try:
        async for out in core.run(stream, SPEC, _items(*items)):
            outs.append(out)
    except InvalidArgument as exc:
        error = exc
    finally:
        stream.release()
    return outs, error


def test_items_in_frames_out_in_order(core):
    outs, error = asyncio.run(_run(core, "¶hello", "¶nope", "name"))
    frames = [o for o in outs if isinstance(o, FrameOut)]
    lengths = [len(core.lexicon.get_clip(s).frames) for s in ("hello", "name")]
    assert error is None
    assert [f.index for f in frames] == list(range(output_length(lengths, 2, 0)))
    assert [o.code for o in outs if isinstance(o, NoticeOut)] == ["UNKNOWN_SIGN"]


def test_an_error_item_ends_the_stream_after_every_frame_before_it(core):
    bad = InvalidArgument("message 3 is not valid")
    outs, error = asyncio.run(_run(core, "¶hello", bad, "¶name"))
    assert error is bad
    assert {o.sign_id for o in outs} == {"¶hello"}
    assert len(outs) == len(core.lexicon.get_clip("hello").frames)


def test_admission_is_the_cores_whatever_the_transport(core):
    async def main():
        first = core.admit("Synthesize")
        try:
            with pytest.raises(Overloaded):
                core.admit("Retarget")
        finally:
            first.release()
        core.admit("Retarget").release()          # the slot is free again
    asyncio.run(main())
