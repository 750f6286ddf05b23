"""Who may talk to the gateway: bearer tokens checked by a grpc.aio interceptor, and TLS credentials
(server, mutual TLS, client side) read from PEM files.

With tokens configured, every method needs `authorization: Bearer <token>` metadata except
grpc.health.v1, which stays open so load balancers and orchestrators can probe without a secret.
Tokens are compared in constant time against every configured token, and never appear in logs,
error messages or reprs. Files are checked when they are read, so a bad one stops start-up with a
message naming it instead of grpc's "Failed to bind" or a failed handshake later.
"""
from __future__ import annotations

import logging
import os
import ssl
import stat
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from signstream.errors import InvalidArgument
from signstream.gateway.status import drain
from signstream.tokens import TokenSet

log = logging.getLogger(__name__)

MIN_TOKEN_LENGTH = 16
OPEN_METHOD_PREFIX = "/grpc.health.v1.Health/"      # Check and Watch need no token
AUTHORIZATION = "authorization"
TOKEN_ADVICE = "send `authorization: Bearer <token>` metadata; ask the operator for a token"
NEW_TOKEN_HINT = "e.g. `openssl rand -hex 32`"

PathLike = str | os.PathLike


def _read_file(path: PathLike, flag: str) -> bytes:
    """The bytes of a file given with `flag`; InvalidArgument naming both when it cannot be read."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidArgument(f"{flag} {path}: cannot read it ({exc.strerror}); check the path and its permissions",
                              field=flag) from exc


# --- bearer tokens ---------------------------------------------------------------------------------

def _check_token(token: str, path: PathLike, line: int) -> None:
    """Refuse a token that is too short to be a secret or that gRPC metadata cannot carry."""
    where = f"--auth-token-file {path}, line {line}"
    if len(token) < MIN_TOKEN_LENGTH:
        raise InvalidArgument(f"{where}: the token is shorter than {MIN_TOKEN_LENGTH} characters; replace it with a "
                              f"long random one ({NEW_TOKEN_HINT})", field="--auth-token-file")
    if not all("!" <= char <= "~" for char in token):
        raise InvalidArgument(f"{where}: the token holds spaces or characters other than printable ASCII, which "
                              f"gRPC metadata cannot carry; use a random hex or base64 token ({NEW_TOKEN_HINT})",
                              field="--auth-token-file")


def _warn_if_shared(path: PathLike) -> None:
    """Log a warning when group or others may read or write the token file (tokens are secrets)."""
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o066:
        log.warning("token file %s can be read or written by group or others (mode %o); run `chmod 600 %s`",
                    path, mode, path)


def read_token_file(path: PathLike) -> tuple[str, ...]:
    """The tokens in a token file: one per line, surrounding whitespace stripped; blank lines and lines
    starting with `#` are skipped, so old and new tokens can be listed side by side while rotating.
    Refuses (InvalidArgument) a missing, unreadable or empty file and tokens shorter than
    MIN_TOKEN_LENGTH or not printable ASCII; warns when group or others may read the file."""
    text = _read_file(path, "--auth-token-file").decode("utf-8", errors="replace")
    tokens = []
    for number, line in enumerate(text.splitlines(), start=1):
        token = line.strip()
        if token and not token.startswith("#"):
            _check_token(token, path, number)
            tokens.append(token)
    if not tokens:
        raise InvalidArgument(f"--auth-token-file {path} holds no token: put one token of at least {MIN_TOKEN_LENGTH} "
                              f"characters ({NEW_TOKEN_HINT}) on a line of its own", field="--auth-token-file")
    _warn_if_shared(path)
    return tuple(tokens)


def bearer_metadata(token: str) -> tuple[tuple[str, str], ...]:
    """The call metadata that carries `token` (what BearerTokenInterceptor looks for)."""
    return ((AUTHORIZATION, f"Bearer {token}"),)


def _refusing_handler(handler: grpc.RpcMethodHandler, method: str, problem: str) -> grpc.RpcMethodHandler:
    """A handler of the same kind (unary/stream in and out) as `handler` that answers UNAUTHENTICATED.
    It has no request deserializer: nothing an unauthenticated caller sends is parsed."""
    async def refuse(request_or_iterator, context: grpc.aio.ServicerContext) -> None:
        log.info("refused %s from %s: %s", method, context.peer(), problem)
        if handler.request_streaming:
            await drain(request_or_iterator)     # see status.drain
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, f"{problem}: {TOKEN_ADVICE}")

    make = {(False, False): grpc.unary_unary_rpc_method_handler, (False, True): grpc.unary_stream_rpc_method_handler,
            (True, False): grpc.stream_unary_rpc_method_handler, (True, True): grpc.stream_stream_rpc_method_handler}
    return make[handler.request_streaming, handler.response_streaming](refuse)


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):
    """Lets a call through only when its `authorization` metadata is `Bearer <one of the tokens>`;
    grpc.health.v1 is always let through. Refused calls get UNAUTHENTICATED."""

    def __init__(self, tokens: Iterable[str]):
        try:
            self._tokens = TokenSet(tokens)
        except ValueError:
            raise ValueError("BearerTokenInterceptor needs at least one token") from None

    def _problem(self, metadata) -> str | None:
        """What is wrong with the call's credentials, or None when it carries a valid token."""
        values = [value for key, value in metadata or () if key == AUTHORIZATION]
        if not values:
            return "this gateway requires a bearer token and the call carried none"
        scheme, _, token = values[0].strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "the authorization metadata is not of the form `Bearer <token>`"
        return self._tokens.problem(token, "the authorization metadata")

    async def intercept_service(
            self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
            handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(OPEN_METHOD_PREFIX):
            return handler
        problem = self._problem(handler_call_details.invocation_metadata)
        return handler if problem is None else _refusing_handler(handler, method, problem)


# --- TLS ---------------------------------------------------------------------------------------------

def _read_key_pair(cert: PathLike | None, key: PathLike | None) -> tuple[bytes, bytes]:
    """(certificate chain, private key) as PEM bytes from --tls-cert and --tls-key, checked to parse and
    to belong together."""
    if (cert is None) != (key is None):
        given, missing = ("--tls-cert", "--tls-key") if key is None else ("--tls-key", "--tls-cert")
        raise InvalidArgument(f"{given} needs {missing}: give the certificate chain (PEM) and its private key (PEM) "
                              "together", field=missing)
    chain, private_key = _read_file(cert, "--tls-cert"), _read_file(key, "--tls-key")
    if b"-----BEGIN CERTIFICATE-----" not in chain:
        raise InvalidArgument(f"--tls-cert {cert} holds no PEM certificate (-----BEGIN CERTIFICATE-----); "
                              "give the certificate chain in PEM form", field="--tls-cert")
    if b"PRIVATE KEY-----" not in private_key:
        raise InvalidArgument(f"--tls-key {key} holds no PEM private key (-----BEGIN PRIVATE KEY-----); "
                              "give the certificate's private key in PEM form", field="--tls-key")
    if b"ENCRYPTED" in private_key:
        raise InvalidArgument(f"--tls-key {key} is encrypted, which gRPC cannot use; decrypt it (`openssl pkey -in "
                              f"{key} -out plain.key`) and keep the result readable only by its user",
                              field="--tls-key")
    try:     # a password, even empty, keeps OpenSSL from prompting on the terminal
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(cert, key, password="")
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise InvalidArgument(f"--tls-key {key} is not the private key of the certificate in --tls-cert {cert}; "
                                  "give the matching pair", field="--tls-key") from exc
        raise InvalidArgument(f"--tls-cert {cert} / --tls-key {key} cannot be parsed ({exc}); check that they are "
                              "an unencrypted PEM certificate chain and key", field="--tls-cert") from exc
    return chain, private_key


def _read_ca(path: PathLike, flag: str) -> bytes:
    """PEM CA certificate(s) from the file given with `flag`, checked to parse."""
    data = _read_file(path, flag)
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=data.decode("ascii", errors="replace"))
    except (ssl.SSLError, ValueError) as exc:
        raise InvalidArgument(f"{flag} {path} holds no usable PEM CA certificate ({exc}); give the CA's "
                              "certificate in PEM form (-----BEGIN CERTIFICATE-----)", field=flag) from exc
    return data


@dataclass(frozen=True)
class ServerTls:
    """The gateway's certificate chain and private key (PEM) and, for mutual TLS, the CA that must have
    signed every client's certificate."""
    certificate_chain: bytes
    private_key: bytes = field(repr=False)
    client_ca: bytes | None = None

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials([(self.private_key, self.certificate_chain)],
                                           root_certificates=self.client_ca,
                                           require_client_auth=self.client_ca is not None)


def read_server_tls(cert: PathLike | None, key: PathLike | None, client_ca: PathLike | None = None) -> ServerTls | None:
    """--tls-cert, --tls-key and --tls-client-ca as ServerTls; None (plaintext) when none is given."""
    if cert is None and key is None:
        if client_ca is not None:
            raise InvalidArgument("--tls-client-ca needs --tls-cert and --tls-key: mutual TLS needs the server's own "
                                  "certificate too", field="--tls-cert")
        return None
    chain, private_key = _read_key_pair(cert, key)
    tls = ServerTls(chain, private_key, _read_ca(client_ca, "--tls-client-ca") if client_ca is not None else None)
    log.info("TLS on with certificate %s%s", cert,
             f"; clients must present a certificate signed by {client_ca}" if client_ca is not None else "")
    return tls


def read_channel_credentials(ca: PathLike | None, cert: PathLike | None = None,
                             key: PathLike | None = None) -> grpc.ChannelCredentials | None:
    """A client's TLS: trust the CA in `ca` (else the system's roots) and present `cert`/`key` for mutual
    TLS; None (plaintext) when none is given."""
    if ca is None and cert is None and key is None:
        return None
    roots = _read_ca(ca, "--tls-ca") if ca is not None else None
    chain, private_key = _read_key_pair(cert, key) if (cert, key) != (None, None) else (None, None)
    return grpc.ssl_channel_credentials(root_certificates=roots, private_key=private_key, certificate_chain=chain)
