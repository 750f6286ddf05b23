"""The servicer's wait for the next request with a hold time (smooth transitions): the next item, or
_LATE when the hold passes first, and never a lost item."""
from __future__ import annotations

import asyncio

from signstream.gateway import servicer


def test_an_item_already_queued_comes_at_once_even_with_a_hold():
    async def main():
        queue: asyncio.Queue = asyncio.Queue()
        queue.put_nowait("¶hello")
        return await servicer._next_item(queue, 0.0)
    assert asyncio.run(main()) == "¶hello"


def test_a_late_item_gives_late_first_and_is_not_lost():
    async def main():
        queue: asyncio.Queue = asyncio.Queue()
        first = await servicer._next_item(queue, 0.05)          # nothing yet: late
        asyncio.get_running_loop().call_later(0.05, queue.put_nowait, "¶name")
        second = await servicer._next_item(queue, None)         # no hold: waits for it
        return first, second, queue.qsize()
    first, second, left = asyncio.run(main())
    assert first is servicer._LATE and second == "¶name" and left == 0


def test_an_item_arriving_within_the_hold_is_returned():
    async def main():
        queue: asyncio.Queue = asyncio.Queue()
        asyncio.get_running_loop().call_later(0.02, queue.put_nowait, "¶yes")
        return await servicer._next_item(queue, 5.0)
    assert asyncio.run(main()) == "¶yes"


def test_items_put_around_the_hold_all_arrive_in_order():
    """Many short holds racing with puts: every item comes out once, in order, between _LATEs."""
    async def main():
        queue: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()
        for i in range(200):
            loop.call_later(0.0005 * i, queue.put_nowait, i)
        got = []
        while len(got) < 200:
            item = await servicer._next_item(queue, 0.0004)
            if item is not servicer._LATE:
                got.append(item)
        return got
    assert asyncio.run(main()) == list(range(200))


def test_a_session_holds_smooth_frames_for_their_playing_time(demo_lexicon_dir):
    from concurrent.futures import ThreadPoolExecutor

    import pytest

    from signstream.config import Settings
    from signstream.kernels.transition_smooth import JOIN_WINDOW
    from signstream.lexicon import open_lexicon
    from signstream.pipeline import SynthesisOptions
    from signstream.session import SessionSpec, open_synthesis

    lexicon = open_lexicon(Settings(lexicon=str(demo_lexicon_dir)))
    fps = lexicon.get_clip("hello").fps

    async def holds(options: SynthesisOptions) -> list:
        with ThreadPoolExecutor(2) as pool:
            session = await open_synthesis(SessionSpec(encoding="none", options=options), lexicon, None, pool)
            try:
                seen = [session.hold_seconds()]                  # nothing sent: nothing held
                [_ async for _ in session.add("¶hello")]
                seen.append(session.hold_seconds())
                [_ async for _ in session.finish()]              # what a late next sign gets first
                seen.append(session.hold_seconds())
                return seen
            finally:
                session.close()

    assert asyncio.run(holds(SynthesisOptions())) == [None, pytest.approx((JOIN_WINDOW - 1) / fps), None]
    assert asyncio.run(holds(SynthesisOptions(num_insert_interpolation=1)))[1] == pytest.approx(
        2 * (JOIN_WINDOW - 1) / fps)
    assert asyncio.run(holds(SynthesisOptions(transition="linear"))) == [None, None, None]
