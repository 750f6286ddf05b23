"""Stream limits as plain Python: admission and each stream's deadlines, on a fake clock."""
from __future__ import annotations

import threading

import pytest

from signstream.errors import InvalidArgument, LimitExceeded, Overloaded
from signstream.limits import Admission, StreamLimits, StreamWatch


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_admission_refuses_beyond_the_limit_with_a_retry_hint_and_frees_on_leave():
    admission = Admission(StreamLimits(max_streams=2, retry_after_s=0.5))
    admission.admit()
    admission.admit()
    with pytest.raises(Overloaded) as refused:
        admission.admit()
    assert refused.value.retry_after_s == 0.5 and "retry in 0.5 s" in refused.value.message
    assert admission.open == 2                  # a refusal takes no slot
    admission.leave()
    admission.leave()
    assert admission.open == 0
    admission.admit()                           # room again
    assert admission.open == 1


def test_admission_counts_exactly_under_threads():
    admission = Admission(StreamLimits(max_streams=5))
    admitted, refused, peak = [], [], []
    barrier = threading.Barrier(20)

    def one():
        barrier.wait()
        try:
            admission.admit()
        except Overloaded:
            refused.append(1)
            barrier_hold.wait()
            return
        admitted.append(1)
        peak.append(admission.open)
        barrier_hold.wait()
        admission.leave()

    barrier_hold = threading.Barrier(20)
    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 5 and len(refused) == 15 and max(peak) <= 5 and admission.open == 0


def test_zero_turns_limits_off():
    admission = Admission(StreamLimits(max_streams=0))
    for _ in range(3):
        admission.admit()
    assert admission.open == 3
    clock = Clock()
    watch = StreamWatch(StreamLimits(idle_timeout_s=0, send_timeout_s=0, max_stream_s=0, max_signs=0), clock)
    for _ in range(20_000):
        watch.count_item()
    clock.now += 1e9
    assert watch.overdue() is None and watch.next_check() is None


def test_negative_limits_are_refused():
    with pytest.raises(InvalidArgument, match="idle_timeout_s"):
        StreamLimits(idle_timeout_s=-1).validated()


def test_idle_counts_only_while_waiting_for_a_request():
    clock = Clock()
    watch = StreamWatch(StreamLimits(idle_timeout_s=10, send_timeout_s=5, max_stream_s=1000), clock)
    assert watch.next_check() == 110.0
    clock.now = 109.9
    assert watch.overdue() is None
    watch.working()                             # making frames: not idle, however long
    clock.now = 500
    assert watch.overdue() is None
    watch.waiting()
    clock.now = 509.9
    assert watch.overdue() is None
    clock.now = 510
    error = watch.overdue()
    assert error.status == "DEADLINE_EXCEEDED" and error.field == "idle_timeout_s" and "no request for 10 s" in error.message


def test_a_send_not_taken_in_time_is_overdue():
    clock = Clock()
    watch = StreamWatch(StreamLimits(idle_timeout_s=10, send_timeout_s=5, max_stream_s=1000), clock)
    watch.sending()
    assert watch.next_check() == 105.0
    clock.now = 105
    assert watch.overdue().field == "send_timeout_s"
    watch.working()                             # the client took it
    assert watch.overdue() is None


def test_the_duration_limit_counts_from_the_start_in_every_state():
    clock = Clock()
    watch = StreamWatch(StreamLimits(idle_timeout_s=0, send_timeout_s=0, max_stream_s=30), clock)
    for state in (watch.working, watch.sending, watch.waiting):
        state()
        clock.now += 9
    assert watch.overdue() is None
    clock.now += 3
    assert watch.overdue().field == "max_stream_s" and watch.next_check() == 130.0


def test_items_beyond_max_signs_raise_limit_exceeded():
    watch = StreamWatch(StreamLimits(max_signs=3))
    for _ in range(3):
        watch.count_item()
    with pytest.raises(LimitExceeded, match="limit of 3 sign IDs") as error:
        watch.count_item()
    assert error.value.status == "RESOURCE_EXHAUSTED"


def test_serve_limits_are_the_whole_servers_whatever_its_processes_and_bad_limits_are_refused():
    import argparse

    from signstream.cli import build_parser
    from signstream.cli.serve import limits_from_args

    def limits_for(*argv):
        args = build_parser().parse_args(["serve", *argv])
        return limits_from_args(argparse.Namespace(**{**vars(args), "processes": args.processes or 2}))

    assert limits_for().max_streams == 512 and limits_for().idle_timeout_s == 60
    assert limits_for().frame_memory_bytes == 1024 * 1024 * 1024
    assert limits_for("--max-streams", "5", "--processes", "2").max_streams == 5      # not split: shared
    assert limits_for("--frame-memory", "0.5").frame_memory_bytes == 512 * 1024
    assert limits_for("--max-streams", "0").max_streams == 0                  # off
    custom = limits_for("--max-signs", "7", "--idle-timeout", "1.5", "--send-timeout", "2", "--max-stream-seconds", "9")
    assert (custom.max_signs, custom.idle_timeout_s, custom.send_timeout_s, custom.max_stream_s) == (7, 1.5, 2, 9)
    with pytest.raises(SystemExit, match="idle_timeout_s must be 0"):
        limits_for("--idle-timeout", "-1")
    with pytest.raises(SystemExit, match="--frame-memory must be 0"):
        limits_for("--frame-memory", "-1")
