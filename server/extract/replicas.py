"""Per-request balancing over Triton replicas, for a gateway in front of several Tritons.

`--triton-url` takes one target or a comma-separated list of them. A target is `host:port` (one
Triton) or `dns:///name:port` (every address the name resolves to, balanced by gRPC's own
`round_robin` policy: the form for a Kubernetes headless Service, where one ClusterIP channel would
pin every request to the pod its one connection reached).

Each request goes to the next replica in turn. A replica whose call failed because it was not there
(UNAVAILABLE, a deadline, a reset) is marked down and the request is retried on the next one, so a
Triton that goes away costs its in-flight requests a retry, not a failure. A replica that is down is
tried last until its back-off (0.5 s, doubling to 10 s) runs out, or sooner once a health probe finds
it ready again. Extraction requests are idempotent, so retrying one elsewhere is always safe.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from signstream.errors import InvalidArgument

log = logging.getLogger(__name__)

C = TypeVar("C")
T = TypeVar("T")

DNS_PREFIX = "dns:"
BACKOFF_S = 0.5
MAX_BACKOFF_S = 10.0
# gRPC's round_robin over every address of a dns:/// name, re-resolved when a connection drops.
ROUND_ROBIN_ARGS = [("grpc.lb_policy_name", "round_robin"), ("grpc.dns_min_time_between_resolutions_ms", 1000)]
_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


def parse_triton_urls(text: str) -> tuple[str, ...]:
    """'a:8001,b:8001', 'dns:///triton:8001' or a mix -> the targets, in order, each once.

    Raises InvalidArgument naming the target that is neither form."""
    targets: list[str] = []
    for raw in (text or "").split(","):
        target = raw.strip()
        if not target:
            continue
        address = target[len(DNS_PREFIX):].lstrip("/") if target.startswith(DNS_PREFIX) else target
        match = _HOST_PORT.match(address)
        if match is None or not 0 < int(match.group(2)) < 65536:
            raise InvalidArgument(f"Triton URL {target!r} is neither HOST:PORT nor dns:///NAME:PORT (its gRPC "
                                  "port, e.g. 127.0.0.1:8001 or dns:///triton.default.svc:8001); separate "
                                  "several with commas", field="triton_url")
        if target.startswith(DNS_PREFIX):
            target = f"dns:///{address}"
        if target not in targets:
            targets.append(target)
    if not targets:
        raise InvalidArgument("no Triton URL given: pass HOST:PORT, dns:///NAME:PORT or a comma-separated list",
                              field="triton_url")
    return tuple(targets)


def channel_args_for(target: str) -> list[tuple[str, object]]:
    """The extra gRPC channel arguments a target needs: round_robin for a dns:/// name."""
    return list(ROUND_ROBIN_ARGS) if target.startswith(DNS_PREFIX) else []


@dataclass
class Replica(Generic[C]):
    """One target and its client; `failures` in a row and when it may be tried first again."""

    url: str
    client: C
    failures: int = 0
    down_until: float = 0.0

    @property
    def many(self) -> bool:
        """Whether the target is a name for several Tritons (gRPC balances them on its one channel)."""
        return self.url.startswith(DNS_PREFIX)


class ReplicaPool(Generic[C]):
    """Round robin over replicas, skipping those marked down while their back-off lasts.

        pool = ReplicaPool([Replica(url, make_client(url)) for url in urls])
        result = await pool.call(lambda replica: replica.client.infer(...), retryable=is_unavailable)
    """

    def __init__(self, replicas: Sequence[Replica[C]], *, clock: Callable[[], float] = time.monotonic,
                 backoff_s: float = BACKOFF_S, max_backoff_s: float = MAX_BACKOFF_S):
        if not replicas:
            raise ValueError("a ReplicaPool needs at least one replica")
        self.replicas = list(replicas)
        self._clock = clock
        self._backoff_s, self._max_backoff_s = backoff_s, max_backoff_s
        self._next = 0

    @property
    def urls(self) -> str:
        return ",".join(replica.url for replica in self.replicas)

    def is_down(self, replica: Replica[C]) -> bool:
        return replica.down_until > self._clock()

    def order(self) -> list[Replica[C]]:
        """The replicas for one request: starting at the next in turn, those that are down last (the one
        whose back-off ends first before the others). A dns:/// target comes twice: gRPC gives the second
        try another address of the name."""
        start, self._next = self._next, (self._next + 1) % len(self.replicas)
        turn = self.replicas[start:] + self.replicas[:start]
        up = [replica for replica in turn if not self.is_down(replica)]
        down = sorted((replica for replica in turn if self.is_down(replica)), key=lambda r: r.down_until)
        attempts: list[Replica[C]] = []
        for replica in up + down:
            attempts.extend([replica, replica] if replica.many else [replica])
        return attempts

    def mark_down(self, replica: Replica[C], why: str = "") -> None:
        replica.failures += 1
        backoff = min(self._max_backoff_s, self._backoff_s * 2 ** (replica.failures - 1))
        replica.down_until = self._clock() + backoff
        if replica.failures == 1:
            log.warning("Triton replica %s is not answering (%s): sending its requests to the others", replica.url,
                        why or "unavailable")

    def mark_up(self, replica: Replica[C]) -> None:
        if replica.failures:
            log.info("Triton replica %s answers again", replica.url)
        replica.failures, replica.down_until = 0, 0.0

    async def call(self, request: Callable[[Replica[C]], Awaitable[T]],
                   retryable: Callable[[Exception], bool]) -> T:
        """`request(replica)` on the next replica in turn; when it fails with an error `retryable` says
        means "not there", that replica is marked down and the next one is tried. The last such error
        is raised when every try failed; any other error is raised at once."""
        last: Exception | None = None
        for replica in self.order():
            try:
                result = await request(replica)
            except Exception as exc:  # noqa: BLE001 - `retryable` decides; the rest is re-raised
                if not retryable(exc):
                    raise
                self.mark_down(replica, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                last = exc
                continue
            self.mark_up(replica)
            return result
        assert last is not None
        raise last
