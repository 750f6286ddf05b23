"""Registering the SignStream service with request parsing that never fails inside grpc.

grpc.aio parses each request with the method's deserializer before the handler sees it. When that
parse raises (garbage bytes, a `sign_id` that is not valid UTF-8), grpc ends a unary call with UNKNOWN
and a traceback in the log, and, for a streaming call, ends the handler's request iterator as if the
client had half-closed: a stream would end OK with every later sign silently dropped. Here every
deserializer returns a `Malformed` value instead of raising, so the handler decides: a malformed
message ends its stream with INVALID_ARGUMENT after every frame of the items before it (README
"Bad input"), and is logged in one line, at most LOG_PER_S lines a second per process.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import grpc
from google.protobuf.message import DecodeError

from signstream.v1 import signstream_pb2 as pb

log = logging.getLogger(__name__)

LOG_PER_S = 1.0                       # malformed-message log lines per second, at most (a flood is counted)

_HANDLERS = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


@dataclass(frozen=True)
class Malformed:
    """A request whose bytes do not parse as the method's message type."""

    message_type: str                 # e.g. "SynthesizeRequest"
    size: int                         # bytes received
    reason: str                       # the parser's own words

    def describe(self, position: int | None = None) -> str:
        where = "" if position is None else f"message {position} "
        return (f"{where}({self.size} bytes) is not a valid {self.message_type} ({self.reason}); "
                "check the client's protobuf definitions (strings must be UTF-8)")


class _RateLimitedLog:
    """One warning per malformed message, at most LOG_PER_S a second; the lines not written are
    counted and reported with the next one that is."""

    def __init__(self, per_s: float = LOG_PER_S, clock=time.monotonic):
        self._period, self._clock = 1.0 / per_s, clock
        self._next = 0.0
        self._dropped = 0

    def warn(self, text: str) -> None:
        now = self._clock()
        if now < self._next:
            self._dropped += 1
            return
        self._next = now + self._period
        extra = f" ({self._dropped} more since the last line)" if self._dropped else ""
        self._dropped = 0
        log.warning("malformed request: %s%s", text, extra)


_log = _RateLimitedLog()


def _tolerant(message_class):
    name = message_class.DESCRIPTOR.name

    def parse(data: bytes):
        try:
            return message_class.FromString(data)
        except (DecodeError, ValueError) as exc:      # ValueError: some protobuf builds on bad UTF-8
            malformed = Malformed(name, len(data), str(exc) or type(exc).__name__)
            _log.warn(malformed.describe())
            return malformed
    return parse


def add_service(servicer, server: grpc.aio.Server) -> None:
    """Register `servicer`'s methods of the SignStream service (as the generated
    add_SignStreamServicer_to_server does), each parsing its requests with `_tolerant`."""
    service = pb.DESCRIPTOR.services_by_name["SignStream"]
    handlers = {}
    for method in service.methods:
        request_class = getattr(pb, method.input_type.name)
        response_class = getattr(pb, method.output_type.name)
        make = _HANDLERS[method.client_streaming, method.server_streaming]
        handlers[method.name] = make(getattr(servicer, method.name), request_deserializer=_tolerant(request_class),
                                     response_serializer=response_class.SerializeToString)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))
