"""CPU time, resident memory and open file descriptors of a process, read from Linux's /proc.

    before = sample(pid); ...; after = sample(pid)
    cores_busy = (after.cpu_s - before.cpu_s) / (after.at - before.at)

`tree=True` adds the process's descendants' figures (a `serve --processes N` and its workers), but
never Triton's: the bench reports the gateway's own cost.
"""
from __future__ import annotations

import os
import time
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


def cores_busy(before: Sample, after: Sample) -> float:
    return round((after.cpu_s - before.cpu_s) / max(after.at - before.at, 1e-9), 2)
