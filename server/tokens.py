"""Bearer tokens compared in constant time: what the gRPC interceptor and the web viewer both check.

    tokens = TokenSet(read_token_file(path))       # gateway/security.py reads and checks the file
    tokens.problem(presented)                      # None when it is one of them, else what is wrong

A token is compared, as a SHA-256 digest, against every configured token with no early exit, so the
time taken says nothing about which token or how much of one matched. Tokens never appear in
messages, logs or reprs.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

__all__ = ["TokenSet"]


def _digest(token: str) -> bytes:
    """SHA-256 of a token: equal-length digests make the comparison independent of token lengths."""
    return hashlib.sha256(token.encode("utf-8")).digest()


class TokenSet:
    """The tokens a server accepts."""

    def __init__(self, tokens: Iterable[str]):
        self._digests = tuple(_digest(token) for token in tokens)
        if not self._digests:
            raise ValueError("TokenSet needs at least one token")

    def __repr__(self) -> str:
        return f"TokenSet({len(self._digests)} token(s))"

    def accepts(self, token: str) -> bool:
        """Constant time: compares with every configured token, with no early exit."""
        presented = _digest(token)
        matches = [hmac.compare_digest(presented, digest) for digest in self._digests]
        return any(matches)

    def problem(self, token: str | None, carrier: str) -> str | None:
        """What is wrong with a presented token (None when it is valid); `carrier` names where a
        token is looked for, e.g. "the authorization metadata"."""
        if token is None:
            return f"this server requires a bearer token and the request carried none in {carrier}"
        if not token.strip():
            return f"the token in {carrier} is empty"
        if not self.accepts(token.strip()):
            return "the bearer token is not valid"
        return None
