"""Keep the Triton that `serve` started running: when its process dies, start it again.

    task = asyncio.create_task(supervise(triton))     # until cancelled

The gateways notice on their own (their health follows `extractor.ready()`): NOT_SERVING while
Triton is down, SERVING once it is back. Restarts back off from `first_backoff_s` doubling to
`max_backoff_s` while they keep failing, and reset after a restart that succeeds.
"""
from __future__ import annotations

import asyncio
import logging

from signstream.errors import TritonUnavailable
from signstream.triton.launcher import TritonServer

log = logging.getLogger(__name__)


async def supervise(triton: TritonServer, *, poll_s: float = 0.5, first_backoff_s: float = 1.0,
                    max_backoff_s: float = 30.0) -> None:
    """Watch `triton` every `poll_s`; restart it (in a thread: it blocks until ready) when it exits."""
    backoff = first_backoff_s
    while True:
        await asyncio.sleep(poll_s)
        if triton.is_running():
            continue
        log.error("tritonserver exited; restarting it on the same ports. Its log (%s) ends with:\n%s",
                  triton.log_file, triton.log_tail(10))
        print("Triton exited; restarting it ...", flush=True)
        while True:
            try:
                await asyncio.to_thread(triton.restart)
            except TritonUnavailable as exc:
                log.error("Triton restart failed (next try in %.0f s): %s", backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(2 * backoff, max_backoff_s)
                continue
            print(f"Triton restarted (pid {triton.pid})", flush=True)
            backoff = first_backoff_s
            break
