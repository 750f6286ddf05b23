"""The streaming core's wait for the next request with a hold time (smooth transitions): the next item, or
LATE when the hold passes first, and never a lost item."""
from __future__ import annotations

import asyncio

from signstream import streaming


def test_an_item_already_queued_comes_at_once_even_with_a_hold():
    async def main():
        queue: asyncio.Queue = asyncio.Queue()
        queue.put_nowait("¶hello")
        return await streaming.next_item(queue, 0.0)
    assert asyncio.run(main()) == "¶hello"


def test_a_late_item_gives_late_first_and_is_not_lost():
    async def main():
        queue: asyncio.Queue = asyncio.Queue()
        first = await streaming.next_item(queue, 0.05)          # nothing yet: late
        asyncio.get_running_loop().call_later(0.05, queue.put_nowait, "¶name")
        second = await streaming.next_item(queue, None)         # no hold: waits for it
        return first, second, queue.qsize()
    first, second, left = asyncio.run(main())
    assert first is streaming.LATE and second == "¶name" and left == 0


def test_an_item_arriving_within_the_hold_is_returned():
    async def main():
        queue: asyncio.Queue = asyncio.Queue()
        asyncio.get_running_loop().call_later(0.02, queue.put_nowait, "¶yes")
        return await streaming.next_item(queue, 5.0)
    assert asyncio.run(main()) == "¶yes"


def test_items_put_around_the_hold_all_arrive_in_order():
    """Many short holds racing with puts: every item comes out once, in order, between LATEs."""
    async def main():
        queue: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()
        for i in range(200):
            loop.call_later(0.0005 * i, queue.put_nowait, i)
        got = []
        while len(got) < 200:
            item = await streaming.next_item(queue, 0.0004)
            if item is not streaming.LATE:
                got.append(item)
        return got
    assert asyncio.run(main()) == list(range(200))


def test_a_session_names_its_held_frames_and_their_playing_time(demo_lexicon_dir):
    """held(): which sign's frames are held back and how long they take to play; the same after a
    notice (a bad ID makes no frames), new after the next sign, none after finish or with linear."""
    from concurrent.futures import ThreadPoolExecutor

    import pytest

    from signstream.config import Settings
    from signstream.kernels.transition_smooth import JOIN_WINDOW
    from signstream.lexicon import open_lexicon
    from signstream.pipeline import SynthesisOptions
    from signstream.session import open_synthesis
    from signstream.spec import SessionSpec

    lexicon = open_lexicon(Settings(lexicon=str(demo_lexicon_dir)))
    fps = lexicon.get_clip("hello").fps

    async def held(options: SynthesisOptions) -> list:
        with ThreadPoolExecutor(2) as pool:
            session = await open_synthesis(SessionSpec(encoding="none", options=options), lexicon, None, pool)
            try:
                seen = [session.held()]                          # nothing sent: nothing held
                for step in (session.add("¶hello"), session.add("¶no-such-sign"), session.add("¶name"),
                             session.finish()):                  # finish: what a late next sign gets first
                    [_ async for _ in step]
                    seen.append(session.held())
                return seen
            finally:
                session.close()

    play = (JOIN_WINDOW - 1) / fps
    nothing, hello, after_notice, name, finished = asyncio.run(held(SynthesisOptions()))
    assert nothing is None and finished is None
    assert hello[1] == pytest.approx(play) and after_notice == hello and name[0] != hello[0]
    assert asyncio.run(held(SynthesisOptions(num_insert_interpolation=1)))[1][1] == pytest.approx(2 * play)
    assert asyncio.run(held(SynthesisOptions(transition="linear"))) == [None] * 5


def test_cancelling_the_wait_cancels_the_handler_even_as_the_hold_runs_out():
    """A handler cancelled (its client went away) at any point of a wait whose hold runs out is
    cancelled, not handed LATE: the getter's own cancellation is waited for without swallowing the
    handler's. (LATE is right only when the wait had already returned.)"""
    async def main():
        queue: asyncio.Queue = asyncio.Queue()
        outcomes = []
        for turns in range(8):                 # cancel after 0..7 turns of the loop
            task = asyncio.ensure_future(streaming.next_item(queue, 0.0))
            for _ in range(turns):
                await asyncio.sleep(0)
            finished_first = task.done()
            task.cancel()
            try:
                outcomes.append((await task, finished_first))
            except asyncio.CancelledError:
                outcomes.append(("cancelled", finished_first))
        return outcomes
    outcomes = asyncio.run(main())
    assert all(outcome == "cancelled" or finished_first for outcome, finished_first in outcomes), outcomes
    assert any(outcome == "cancelled" for outcome, _ in outcomes)
