"""CPU time, resident memory and open file descriptors (the entries of /proc/<pid>/fd) of a process,
read from Linux's /proc.

    before = sample(pid); ...; after = sample(pid)
    cores_busy = (after.cpu_s - before.cpu_s) / (after.at - before.at)

    async with Sampler(pid, every_s=2.0) as sampler:     # a sample every 2 s while the load runs
        await load()
    sampler.figures()                                     # RSS and FDs: first, last, max, growth

`tree=True` adds the process's descendants' figures (a `serve --processes N` and its workers), but
never Triton's: the bench reports the gateway's own cost.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Sample:
    at: float            # time.monotonic()
    cpu_s: float         # user + system seconds, all threads
    rss_bytes: int
    fds: int


def _one(pid: int) -> tuple[float, int, int]:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()        # after "pid (comm) "; comm may hold spaces
    cpu = (int(fields[11]) + int(fields[12])) / _TICKS   # utime, stime
    rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return cpu, rss, fds


def children(pid: int) -> list[int]:
    """Direct children of `pid` (every thread's children list)."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
            found.extend(int(c) for c in text)
    except FileNotFoundError:
        pass
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return ""


def gateway_pids(pid: int, tree: bool = True) -> list[int]:
    """`pid` and (with `tree`) its descendants, leaving out tritonserver and everything under it."""
    pids = [pid]
    if tree:
        stack = children(pid)
        while stack:
            child = stack.pop()
            if _comm(child).startswith("tritonserver"):
                continue
            pids.append(child)
            stack.extend(children(child))
    return pids


def sample(pid: int, tree: bool = True) -> Sample:
    cpu = rss = fds = 0
    for p in gateway_pids(pid, tree):
        try:
            c, r, f = _one(p)
        except (FileNotFoundError, ProcessLookupError):
            continue
        cpu, rss, fds = cpu + c, rss + r, fds + f
    return Sample(time.monotonic(), cpu, rss, fds)


def fd_kinds(pid: int, tree: bool = True) -> Counter:
    """Open file descriptors by what they point at: "socket", "pipe", "anon_inode:[eventfd]", or a
    file's path; to say which kind a change in the count is."""
    kinds: Counter = Counter()
    for p in gateway_pids(pid, tree):
        try:
            names = os.listdir(f"/proc/{p}/fd")
        except (FileNotFoundError, ProcessLookupError):
            continue
        for name in names:
            try:
                target = os.readlink(f"/proc/{p}/fd/{name}")
            except OSError:
                continue                      # closed meanwhile
            kinds[target.split(":[")[0] if target.startswith(("socket:", "pipe:")) else target] += 1
    return kinds


def cores_busy(before: Sample, after: Sample) -> float:
    return round((after.cpu_s - before.cpu_s) / max(after.at - before.at, 1e-9), 2)


def mib(nbytes: int) -> float:
    return round(nbytes / 2**20, 1)


def growth(before: Sample, after: Sample) -> dict:
    """RSS and open FDs at two moments, and the change as a share of the first."""
    return {"rss_start_mib": mib(before.rss_bytes), "rss_end_mib": mib(after.rss_bytes),
            "rss_growth_share": round(after.rss_bytes / before.rss_bytes - 1, 4),
            "fds_start": before.fds, "fds_end": after.fds,
            "fds_growth_share": round(after.fds / before.fds - 1, 4), "over_s": round(after.at - before.at, 1)}


class Sampler:
    """Samples a process (and its gateway descendants) every `every_s` seconds in a background task
    while an `async with` block runs; the first sample is taken `every_s` after entering."""

    def __init__(self, pid: int | None, every_s: float, tree: bool = True):
        self.pid, self.every_s, self.tree = pid, every_s, tree
        self.samples: list[Sample] = []
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            self.samples.append(sample(self.pid, self.tree))

    async def __aenter__(self) -> "Sampler":
        if self.pid:
            self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def figures(self) -> dict:
        """RSS (MiB) and FDs over the samples: first, last, max, the growth of the last over the
        first, and every RSS value; empty with fewer than two samples."""
        if len(self.samples) < 2:
            return {}
        first, last = self.samples[0], self.samples[-1]
        return {"rss_first_mib": mib(first.rss_bytes), "rss_last_mib": mib(last.rss_bytes),
                "rss_max_mib": mib(max(s.rss_bytes for s in self.samples)),
                "growth_share": round(last.rss_bytes / first.rss_bytes - 1, 3), "over_s": round(last.at - first.at, 1),
                "rss_mib": [mib(s.rss_bytes) for s in self.samples],
                "fds_first": first.fds, "fds_last": last.fds, "fds_max": max(s.fds for s in self.samples)}
