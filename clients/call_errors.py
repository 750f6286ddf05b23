"""A failed gateway call as the domain error the CLI maps to exit codes (`signstream.cli.exit_code`):
bad input 2, not reached 4, not authorized 5, anything else the gateway answered 3."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import grpc

from signstream.clients.client import SignStreamClient
from signstream.errors import (
    GatewayUnreachable,
    InvalidArgument,
    NotAuthorized,
    SignStreamError,
    StoreUnavailable,
    UnknownSign,
)

_ANSWERED = {grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument, grpc.StatusCode.NOT_FOUND: UnknownSign,
             grpc.StatusCode.UNAUTHENTICATED: NotAuthorized, grpc.StatusCode.PERMISSION_DENIED: NotAuthorized}
_ADVICE = {
    GatewayUnreachable: "check that `signstream serve` runs there, that --server names its host and port, and "
                        "that --tls-ca is given exactly when it serves TLS",
    NotAuthorized: "pass --auth-token-file FILE with a token the gateway accepts",
}


def domain_error(error: grpc.aio.AioRpcError, target: str, reached: bool = True) -> SignStreamError:
    """`error` of a call to the gateway at `target` as a domain error; `reached`: whether a connection
    to the gateway was up when the call failed (an UNAVAILABLE without one means it was never reached)."""
    code = error.code()
    if code == grpc.StatusCode.UNAVAILABLE and not reached:
        kind: type[SignStreamError] = GatewayUnreachable
        what = f"cannot reach the gateway at {target}: {error.details()}"
    else:
        kind = _ANSWERED.get(code, StoreUnavailable)
        what = f"the gateway at {target} answered {code.name}: {error.details()}"
    advice = _ADVICE.get(kind)
    return kind(f"{what}; {advice}" if advice else what)


@contextlib.asynccontextmanager
async def call_errors(client: SignStreamClient) -> AsyncIterator[None]:
    """Inside it, a call of `client` that fails raises its domain error (see `domain_error`)."""
    try:
        yield
    except grpc.aio.AioRpcError as exc:
        raise domain_error(exc, client.target, reached=client.connected()) from exc
