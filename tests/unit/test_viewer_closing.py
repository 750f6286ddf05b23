"""The viewer's one table from domain errors to close codes and HTTP statuses covers every error."""
from __future__ import annotations

import pytest

from signstream import errors
from signstream.web.closing import close_code, close_reason, error_json, http_status

ALL = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.SignStreamError)]


def _make(cls):
    return cls("why it failed", retry_after_s=1.0) if cls is errors.Overloaded else cls("why it failed")


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_every_domain_error_has_a_close_code_and_an_http_status(cls):
    error = _make(cls)
    code = close_code(error)
    assert code in (1003, 1007, 1009, 1011) or 4400 <= code <= 4599
    assert 400 <= http_status(error) <= 599


def test_protocol_errors_use_the_websocket_codes_and_the_rest_4000_plus_http():
    assert close_code(errors.MalformedMessage("x")) == 1007
    assert close_code(errors.UnexpectedMessage("x")) == 1003
    assert close_code(errors.MessageTooLarge("x")) == 1009 and http_status(errors.MessageTooLarge("x")) == 413
    assert close_code(errors.InvalidArgument("x")) == 4400
    assert close_code(errors.Unauthenticated("x")) == 4401 and http_status(errors.Unauthenticated("x")) == 401
    assert close_code(errors.OriginNotAllowed("x")) == 4403
    assert close_code(errors.StreamTimeout("x")) == 4408
    assert close_code(errors.Overloaded("x", retry_after_s=1.0)) == 4429
    assert close_code(errors.ShuttingDown("x")) == 4503
    assert close_code(errors.SignStreamError("x")) == 1011


def test_the_close_reason_fits_a_close_frame_at_a_character_boundary():
    reason = close_reason(errors.InvalidArgument("¶" * 100))
    assert len(reason) <= 123 and reason.decode("utf-8") == "¶" * 61
    assert '"retry_after_s": 2.0' in error_json(errors.Overloaded("busy", retry_after_s=2.0))
