"""What the gateway processes of one server count together: open streams, bytes of frames held and
images being extracted.

`serve --processes N` runs N gateway processes on one port. A limit on open streams, frame memory or
extractions is the server's, however the kernel spreads connections over them, so each process adds to
its own slot of one shared-memory table and checks the sum of all slots under one lock:

    counts = ServerCounts(processes=3)               # in the parent, before the processes start
    child = counts.for_process(1)                    # handed to gateway process 1 (spawn pickles it)
    child.try_add(STREAMS, 1, limit=512)             # False: the server is at 512; nothing was added
    child.add(STREAMS, -1)
    counts.clear(1)                                  # the parent, once process 1 has died

A single gateway (tests, `Gateway` in-process) uses the same class with one slot. The lock is a
process-shared semaphore, also safe between the threads of one process; an uncontended add costs
about a microsecond, so it is taken per frame.
"""
from __future__ import annotations

import multiprocessing

STREAMS = 0              # open Synthesize/Retarget streams
FRAME_BYTES = 1          # bytes of frames rendered (or being rendered) but not yet taken by the transport
EXTRACTIONS = 2          # images being decoded and extracted
NEURAL_STREAMS = 3       # open streams rendering NEURAL (each holds renderer capacity on Triton)
_KINDS = 4


class ServerCounts:
    """A table of per-process counts in shared memory; `index` is this process's slot."""

    def __init__(self, processes: int = 1, context=None):
        if processes < 1:
            raise ValueError(f"processes must be 1 or more, got {processes}")
        context = context or multiprocessing.get_context("spawn")
        self.processes = processes
        self.index = 0
        self._lock = context.Lock()
        self._table = context.RawArray("q", processes * _KINDS)

    def for_process(self, index: int) -> "ServerCounts":
        """The same table, seen from gateway process `index` (0 is the parent)."""
        if not 0 <= index < self.processes:
            raise ValueError(f"process index {index} is outside 0..{self.processes - 1}")
        view = object.__new__(ServerCounts)
        view.processes, view.index, view._lock, view._table = self.processes, index, self._lock, self._table
        return view

    def _total(self, kind: int) -> int:
        return sum(self._table[i * _KINDS + kind] for i in range(self.processes))

    def try_add(self, kind: int, amount: int, limit: int = 0) -> bool:
        """Add `amount` to this process's count of `kind` unless the server's total would pass `limit`
        (0: no limit); whether it was added."""
        with self._lock:
            if limit and self._total(kind) + amount > limit:
                return False
            self._table[self.index * _KINDS + kind] += amount
            return True

    def add(self, kind: int, amount: int) -> None:
        """Add `amount` (negative to give back) to this process's count, whatever the limit."""
        with self._lock:
            self._table[self.index * _KINDS + kind] += amount

    def total(self, kind: int) -> int:
        """The whole server's count of `kind`."""
        with self._lock:
            return self._total(kind)

    def mine(self, kind: int) -> int:
        """This process's count of `kind`."""
        with self._lock:
            return self._table[self.index * _KINDS + kind]

    def clear(self, index: int) -> None:
        """Zero the slot of process `index`: it died, and what it held went with it."""
        with self._lock:
            for kind in range(_KINDS):
                self._table[index * _KINDS + kind] = 0
