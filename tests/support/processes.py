"""The `signstream` processes the end-to-end tests run (`serve`, `triton`), started and always stopped."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from signstream.clients.process import SignstreamProcess

READY_TIMEOUT_S = 240          # Triton's start with MediaPipe on two busy cores


@contextlib.contextmanager
def started(process: SignstreamProcess, timeout: float = READY_TIMEOUT_S, drain: bool = False
            ) -> Iterator[SignstreamProcess]:
    """`process` started and ready (the test fails with its output's tail if it is not), then stopped:
    drained with SIGTERM when `drain`, else its whole process group killed."""
    try:
        process.start(timeout)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield process
    finally:
        if drain:
            process.stop(timeout=60)
        else:
            process.kill()
