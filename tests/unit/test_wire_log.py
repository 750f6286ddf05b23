"""Malformed requests are logged one line each, at most one line a second; the rest are counted."""
from __future__ import annotations

import logging

from signstream.gateway.wire import Malformed, _RateLimitedLog, _tolerant
from signstream.v1 import signstream_pb2 as pb


def test_a_flood_of_malformed_requests_writes_one_line_a_second(caplog):
    now = [100.0]
    limiter = _RateLimitedLog(per_s=1.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="signstream.gateway.wire"):
        for i in range(50):                     # 50 in half a second: one line
            now[0] += 0.01
            limiter.warn(f"bad {i}")
        now[0] += 1.0
        limiter.warn("later")                   # the next second: one line, counting the 49
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["malformed request: bad 0", "malformed request: later (49 more since the last line)"]


def test_the_tolerant_parser_returns_malformed_instead_of_raising():
    parse = _tolerant(pb.SynthesizeRequest)
    assert parse(pb.SynthesizeRequest(sign_id="¶hello").SerializeToString()).sign_id == "¶hello"
    bad = parse(b"\x12\x02\xff\xfe")           # sign_id bytes that are not UTF-8
    assert isinstance(bad, Malformed) and bad.message_type == "SynthesizeRequest" and bad.size == 4
    assert "message 3 (4 bytes) is not a valid SynthesizeRequest" in bad.describe(3)
