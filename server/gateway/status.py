"""Domain errors -> gRPC status codes, in this one place: the only module that knows both."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import grpc

from signstream.errors import SignStreamError

log = logging.getLogger(__name__)


def status_code(error: SignStreamError) -> grpc.StatusCode:
    """The StatusCode an error's `status` names (INTERNAL for a name gRPC does not have)."""
    return getattr(grpc.StatusCode, error.status, grpc.StatusCode.INTERNAL)


def error_message(error: SignStreamError) -> str:
    """What the client reads: the field first when the error names one."""
    return f"{error.field}: {error.message}" if error.field and not error.message.startswith(error.field) else error.message


# A refused streaming call first reads what the client is still sending (until it half-closes or pauses,
# for at most DRAIN_MAX_S): a grpc.aio client whose write meets a call that has already ended reports
# INTERNAL "Internal error from Core" instead of the status the server sent (grpc/grpc#36066).
DRAIN_IDLE_S = 0.1
DRAIN_MAX_S = 2.0
RETRY_PUSHBACK_KEY = "grpc-retry-pushback-ms"   # the retry hint gRPC's own retry policy reads


async def drain(requests: AsyncIterator) -> None:
    """Read and drop requests until the client half-closes, pauses for DRAIN_IDLE_S, or DRAIN_MAX_S pass."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + DRAIN_MAX_S
    try:
        async with asyncio.timeout(DRAIN_IDLE_S) as timeout:
            async for _ in requests:
                timeout.reschedule(min(loop.time() + DRAIN_IDLE_S, give_up))
    except (TimeoutError, grpc.RpcError, RuntimeError):
        pass          # paused, gave up, or the call is already over: nothing more to read


def trailing_metadata(error: SignStreamError) -> tuple[tuple[str, str], ...]:
    """The retry hint of an error that has one (Overloaded), else nothing."""
    retry = getattr(error, "retry_after_s", None)
    return () if retry is None else ((RETRY_PUSHBACK_KEY, str(round(retry * 1000))),)


async def abort(context: grpc.aio.ServicerContext, error: SignStreamError, *, raise_: bool = True) -> None:
    """End the call with the error's status and message. Raises, as context.abort does, unless
    `raise_` is False; a call that has already ended is left as it is."""
    if context.done():
        if raise_:
            raise grpc.aio.AbortError(f"call already ended; not sent: {error.status}")
        return
    if not error.logged:
        log.info("call ended with %s: %s", error.status, error.message)
    try:
        await context.abort(status_code(error), error_message(error), trailing_metadata(error))
    except grpc.aio.AbortError:
        if raise_:
            raise


def end_with(context: grpc.aio.ServicerContext, error: SignStreamError) -> None:
    """Set the status (and retry hint) a streaming handler ends with when it returns, or, for one
    suspended in a write the client does not take, once grpc's pending write completes (grpc sends no
    status before it, so an abort would wait as long as the client does). Unlike abort it raises
    nothing: an AbortError's traceback runs through the handler's frames, which hold the call, and
    the call holds the AbortError, a cycle that kept each refused call's memory until a full garbage
    collection. A call that has already ended is left as it is."""
    if context.done():
        return
    if not error.logged:
        log.info("call ends with %s: %s", error.status, error.message)
    context.set_code(status_code(error))
    context.set_details(error_message(error))
    if metadata := trailing_metadata(error):
        context.set_trailing_metadata(metadata)
