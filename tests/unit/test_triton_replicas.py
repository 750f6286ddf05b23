"""Per-request balancing over Triton replicas: round robin, a replica that fails is skipped (its
request retried on another) and comes back after its back-off or a good health probe; parsing of
`--triton-url` lists and dns:/// names."""
from __future__ import annotations

import asyncio

import pytest

from signstream.errors import InvalidArgument
from signstream.extract.replicas import (ROUND_ROBIN_ARGS, Replica, ReplicaPool, channel_args_for,
                                         parse_triton_urls)


class Gone(Exception):
    """Stands for UNAVAILABLE: the replica is not there."""


class Refused(Exception):
    """Stands for a request the replica refused (bad image): never retried."""


class FakeTriton:
    """A replica that answers with its name, or is down (raises Gone), or refuses (raises Refused)."""

    def __init__(self, name: str):
        self.name, self.down, self.refuse, self.calls = name, False, False, 0

    async def infer(self) -> str:
        self.calls += 1
        if self.down:
            raise Gone(f"{self.name} is gone")
        if self.refuse:
            raise Refused("bad image")
        return self.name


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _pool(*names: str, clock: Clock | None = None) -> tuple[ReplicaPool, dict[str, FakeTriton]]:
    tritons = {name: FakeTriton(name) for name in names}
    pool = ReplicaPool([Replica(f"{name}:8001", triton) for name, triton in tritons.items()],
                       clock=clock or Clock(), backoff_s=0.5, max_backoff_s=4.0)
    return pool, tritons


def _requests(pool: ReplicaPool, n: int) -> list[str]:
    async def main():
        return [await pool.call(lambda replica: replica.client.infer(), retryable=lambda e: isinstance(e, Gone))
                for _ in range(n)]
    return asyncio.run(main())


def test_requests_take_turns_over_every_replica():
    pool, _ = _pool("a", "b", "c")
    assert _requests(pool, 6) == ["a", "b", "c", "a", "b", "c"]


def test_a_replica_going_away_costs_a_retry_not_a_failure_and_is_skipped_while_down():
    clock = Clock()
    pool, tritons = _pool("a", "b", clock=clock)
    tritons["a"].down = True
    assert _requests(pool, 4) == ["b", "b", "b", "b"]          # every request answered
    assert tritons["a"].calls == 1                              # tried once, then skipped while down
    clock.now += 0.6                                            # its back-off ran out: tried again (still down)
    assert _requests(pool, 2) == ["b", "b"]
    assert tritons["a"].calls == 2
    tritons["a"].down = False                                   # back: once its back-off runs out it takes turns
    clock.now += 1.1
    assert sorted(_requests(pool, 4)) == ["a", "a", "b", "b"]


def test_back_off_doubles_and_is_capped():
    clock = Clock()
    pool, tritons = _pool("a", "b", clock=clock)
    replica = pool.replicas[0]
    for expected in (0.5, 1.0, 2.0, 4.0, 4.0):
        pool.mark_down(replica)
        assert replica.down_until - clock.now == pytest.approx(expected)
    pool.mark_up(replica)
    assert not pool.is_down(replica) and replica.failures == 0


def test_a_health_probe_brings_a_replica_back_before_its_back_off_ends():
    pool, tritons = _pool("a", "b")
    tritons["a"].down = True
    _requests(pool, 1)
    assert pool.is_down(pool.replicas[0])
    pool.mark_up(pool.replicas[0])                              # what TritonExtractor.ready() does when it answers
    tritons["a"].down = False
    assert sorted(_requests(pool, 2)) == ["a", "b"]


def test_when_every_replica_is_gone_the_last_error_is_raised():
    pool, tritons = _pool("a", "b")
    for triton in tritons.values():
        triton.down = True
    with pytest.raises(Gone):
        _requests(pool, 1)
    assert [t.calls for t in tritons.values()] == [1, 1]
    with pytest.raises(Gone):                                   # all down: still tried, soonest back first
        _requests(pool, 1)


def test_a_refused_request_is_not_retried_elsewhere():
    pool, tritons = _pool("a", "b")
    tritons["a"].refuse = tritons["b"].refuse = True
    with pytest.raises(Refused):
        _requests(pool, 1)
    assert tritons["a"].calls + tritons["b"].calls == 1
    assert not any(pool.is_down(replica) for replica in pool.replicas)


def test_a_dns_name_gets_a_second_try_for_another_address():
    pool = ReplicaPool([Replica("dns:///triton:8001", FakeTriton("svc"))])
    assert [r.url for r in pool.order()] == ["dns:///triton:8001"] * 2
    single = ReplicaPool([Replica("a:8001", FakeTriton("a"))])
    assert len(single.order()) == 1


@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1:8001", ("127.0.0.1:8001",)),
    (" a:8001, b:8002 ,a:8001", ("a:8001", "b:8002")),
    ("dns:///triton.default.svc:8001", ("dns:///triton.default.svc:8001",)),
    ("dns:triton:8001,[::1]:8001", ("dns:///triton:8001", "[::1]:8001")),
])
def test_triton_url_lists_parse(text, expected):
    assert parse_triton_urls(text) == expected


@pytest.mark.parametrize("text", ["", " , ", "triton", "a:0", "a:99999", "http://a:8001", "a:8001,dns:///b"])
def test_bad_triton_urls_are_refused_with_the_forms_named(text):
    with pytest.raises(InvalidArgument, match="HOST:PORT|no Triton URL"):
        parse_triton_urls(text)


def test_dns_names_balance_with_round_robin():
    assert channel_args_for("dns:///triton:8001") == ROUND_ROBIN_ARGS
    assert ("grpc.lb_policy_name", "round_robin") in ROUND_ROBIN_ARGS
    assert channel_args_for("a:8001") == []
