"""The gateway's CPU threads, with priorities: work with the lowest number runs first, first come first
served among equals.

Sessions pass a frame's index in its stream as the priority, so the first frames of a stream that
just opened are drawn before the hundredth frame of a stream that is far ahead: time to first frame
stays short under load, and streams that already have frames in flight lose only lookahead.

It is a `concurrent.futures.Executor` (plain `submit` runs at priority 0), so `run_in_executor`
and anything else that takes an executor works with it too.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future


class PriorityPool(Executor):
    def __init__(self, workers: int, name: str = "cpu"):
        if workers < 1:
            raise ValueError(f"a pool needs at least one thread, got {workers}")
        self._queue: list[tuple[int, int, Future, Callable, tuple, dict]] = []
        self._order = itertools.count()
        self._lock = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True) for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit_at(self, priority: int, fn: Callable, /, *args, **kwargs) -> Future:
        """Run `fn(*args, **kwargs)` in a pool thread, before any queued work with a higher priority."""
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new work after shutdown")
            heapq.heappush(self._queue, (priority, next(self._order), future, fn, args, kwargs))
            self._lock.notify()
        return future

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        return self.submit_at(0, fn, *args, **kwargs)

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._closed:
                    self._lock.wait()
                if not self._queue:
                    return
                _, _, future, fn, args, kwargs = heapq.heappop(self._queue)
            if not future.set_running_or_notify_cancel():      # cancelled while it waited
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:                       # handed to whoever awaits the future
                future.set_exception(exc)
            else:
                future.set_result(result)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            if cancel_futures:
                for _, _, future, *_ in self._queue:
                    future.cancel()
                self._queue.clear()
            self._lock.notify_all()
        if wait:
            for thread in self._threads:
                thread.join()


def run_at(executor: Executor, priority: int, fn: Callable, *args) -> asyncio.Future:
    """`fn(*args)` in the CPU pool, awaitable: a PriorityPool runs lower priorities (earlier frames of
    their stream) first, any other executor in the order given."""
    submit_at = getattr(executor, "submit_at", None)
    return asyncio.wrap_future(submit_at(priority, fn, *args) if submit_at else executor.submit(fn, *args))
