"""PriorityPool: lowest priority first, FIFO among equals, cancellation, errors, shutdown."""
from __future__ import annotations

import threading

import pytest

from signstream.cpu_pool import PriorityPool


def _blocked_pool():
    """A one-thread pool whose thread is held until the returned event is set."""
    pool = PriorityPool(1, name="test")
    gate, started = threading.Event(), threading.Event()
    pool.submit(lambda: (started.set(), gate.wait()))
    assert started.wait(10)
    return pool, gate


def test_queued_work_runs_lowest_priority_first_and_fifo_among_equals():
    pool, gate = _blocked_pool()
    order: list[str] = []
    futures = [pool.submit_at(p, order.append, name) for p, name in
               [(5, "late"), (0, "first-a"), (3, "mid"), (0, "first-b"), (5, "later")]]
    gate.set()
    for f in futures:
        f.result(10)
    assert order == ["first-a", "first-b", "mid", "late", "later"]
    pool.shutdown()


def test_a_cancelled_future_never_runs_and_errors_reach_the_caller():
    pool, gate = _blocked_pool()
    ran: list[int] = []
    skipped = pool.submit_at(1, ran.append, 1)
    failing = pool.submit_at(2, lambda: 1 / 0)
    assert skipped.cancel()
    gate.set()
    with pytest.raises(ZeroDivisionError):
        failing.result(10)
    assert ran == [] and skipped.cancelled()
    pool.shutdown()


def test_shutdown_cancels_queued_work_when_asked_and_refuses_new_work():
    pool, gate = _blocked_pool()
    queued = pool.submit_at(0, lambda: "never")
    pool.shutdown(wait=False, cancel_futures=True)
    gate.set()
    assert queued.cancelled()
    with pytest.raises(RuntimeError):
        pool.submit(print)
    pool.shutdown(wait=True)
    assert not any(t.is_alive() for t in pool._threads)


def test_shutdown_without_cancel_drains_the_queue():
    pool, gate = _blocked_pool()
    queued = [pool.submit_at(i, lambda i=i: i * 2) for i in range(3)]
    pool.shutdown(wait=False)
    gate.set()
    assert [f.result(10) for f in queued] == [0, 2, 4]
    pool.shutdown(wait=True)


def test_needs_a_thread():
    with pytest.raises(ValueError):
        PriorityPool(0)
