"""Domain errors -> gRPC status codes, in this one place (DESIGN §8)."""
from __future__ import annotations

import logging

import grpc

from signstream.errors import SignStreamError

log = logging.getLogger(__name__)


def status_code(error: SignStreamError) -> grpc.StatusCode:
    """The StatusCode an error's `status` names (INTERNAL for a name gRPC does not have)."""
    return getattr(grpc.StatusCode, error.status, grpc.StatusCode.INTERNAL)


def error_message(error: SignStreamError) -> str:
    """What the client reads: the field first when the error names one."""
    return f"{error.field}: {error.message}" if error.field and not error.message.startswith(error.field) else error.message


async def abort(context: grpc.aio.ServicerContext, error: SignStreamError) -> None:
    """End the call with the error's status and message (raises, as context.abort does)."""
    log.info("call ended with %s: %s", error.status, error.message)
    await context.abort(status_code(error), error_message(error))
