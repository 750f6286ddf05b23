"""Bearer-token auth and TLS / mutual TLS on the gateway over real gRPC, with real certificates made
here: every method but grpc.health.v1 needs a token, rotated tokens all work, tokens never reach logs
or status details, TLS and mTLS refuse the wrong peers, bad files stop start-up with a message naming
them, and `signstream stream` / `generate --server` reach a secured gateway end to end."""
from __future__ import annotations

import asyncio
import datetime
import ipaddress
import logging
import secrets
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from signstream.cli import main
from signstream.clients.client import ChannelSecurity, SignStreamClient
from signstream.config import Settings
from signstream.extract.base import LocalExtractor
from signstream.gateway.security import bearer_metadata, read_channel_credentials, read_server_tls, read_token_file
from signstream.lexicon import open_lexicon
from signstream.v1 import signstream_pb2 as pb
from tests.support.gateway import GatewayThread

TOKEN = secrets.token_hex(20)
ROTATED = secrets.token_urlsafe(24)       # the second token of the file, as while rotating
WRONG = TOKEN[:-1] + ("0" if TOKEN[-1] != "0" else "1")
TIMEOUT_S = 20


# --- certificates ----------------------------------------------------------------------------------

def _certificate(common_name: str, key, issuer: x509.Certificate | None, issuer_key, *, ca: bool = False,
                 san: list[x509.GeneralName] | None = None) -> x509.Certificate:
    """A certificate for `key`, signed by `issuer_key` (self-signed when `issuer` is None)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer.subject if issuer is not None else subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write_pair(directory: Path, name: str, certificate: x509.Certificate, key) -> None:
    (directory / f"{name}.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path = directory / f"{name}.key"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    """ca.crt; server.crt/key (127.0.0.1 and localhost, signed by ca); client.crt/key (signed by ca);
    other-ca.crt and intruder.crt/key (signed by other-ca)."""
    root = tmp_path_factory.mktemp("pki")
    names = ("ca", "server", "client", "other-ca", "intruder")
    keys = {name: ec.generate_private_key(ec.SECP256R1()) for name in names}
    ca = _certificate("SignStream test CA", keys["ca"], None, keys["ca"], ca=True)
    other_ca = _certificate("Some other CA", keys["other-ca"], None, keys["other-ca"], ca=True)
    san = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    _write_pair(root, "ca", ca, keys["ca"])
    _write_pair(root, "other-ca", other_ca, keys["other-ca"])
    _write_pair(root, "server", _certificate("gateway", keys["server"], ca, keys["ca"], san=san), keys["server"])
    _write_pair(root, "client", _certificate("client", keys["client"], ca, keys["ca"]), keys["client"])
    _write_pair(root, "intruder", _certificate("intruder", keys["intruder"], other_ca, keys["other-ca"]),
                keys["intruder"])
    return root


@pytest.fixture(scope="module")
def token_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tokens") / "tokens"
    path.write_text(f"# issued 2026-11 (rotating: both valid)\n\n{TOKEN}\n   {ROTATED}  \n# the end\n")
    path.chmod(0o600)
    return path


def _gateway(demo_lexicon_dir, **options) -> GatewayThread:
    return GatewayThread(open_lexicon(Settings(lexicon=str(demo_lexicon_dir))), LocalExtractor(), **options).start()


@pytest.fixture(scope="module")
def auth_gateway(demo_lexicon_dir, token_file):
    """Plaintext, tokens from the token file."""
    running = _gateway(demo_lexicon_dir, auth_tokens=read_token_file(token_file))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def tls_gateway(demo_lexicon_dir, pki, token_file):
    """TLS with the server certificate, and tokens."""
    running = _gateway(demo_lexicon_dir, auth_tokens=read_token_file(token_file),
                       tls=read_server_tls(pki / "server.crt", pki / "server.key"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def mtls_gateway(demo_lexicon_dir, pki):
    """Mutual TLS: clients need a certificate signed by ca.crt; no tokens."""
    running = _gateway(demo_lexicon_dir, tls=read_server_tls(pki / "server.crt", pki / "server.key", pki / "ca.crt"))
    yield running
    running.stop()


# --- calls -----------------------------------------------------------------------------------------

async def _synthesize(client: SignStreamClient) -> int:
    responses = await client.synthesize_all(pb.SessionConfig(encoding=pb.NONE), ["¶hello"])
    return len(responses)


async def _retarget(client: SignStreamClient) -> int:
    call = client.retarget(pb.SessionConfig(encoding=pb.NONE))
    await call.send(b"\x89PNG not really")
    await call.done_sending()
    return len([response async for response in call])


async def _extract(client: SignStreamClient):
    return await client.extract(b"\x89PNG not really")


async def _list_signs(client: SignStreamClient) -> list[str]:
    return await client.list_signs()


async def _reflection(client: SignStreamClient) -> list[str]:
    call = reflection_pb2_grpc.ServerReflectionStub(client.channel).ServerReflectionInfo(metadata=client.metadata)
    await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
    await call.done_writing()
    response = await call.read()
    return [service.name for service in response.list_services_response.service]


CALLS = {"Synthesize": _synthesize, "Retarget": _retarget, "ExtractKeypoints": _extract, "ListSigns": _list_signs,
         "reflection": _reflection}


def _call(target: str, call, security: ChannelSecurity = ChannelSecurity()):
    """Run `call(client)` against `target`; its result."""
    async def run():
        async with SignStreamClient(target, security=security) as client:
            return await asyncio.wait_for(call(client), TIMEOUT_S)
    return asyncio.run(run())


def _refused(target: str, call, security: ChannelSecurity = ChannelSecurity()) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        _call(target, call, security)
    return failure.value


def _with_token(token: str, credentials: grpc.ChannelCredentials | None = None) -> ChannelSecurity:
    return ChannelSecurity(credentials, bearer_metadata(token))


# --- bearer tokens ---------------------------------------------------------------------------------

@pytest.mark.parametrize("method", sorted(CALLS))
def test_every_method_but_health_needs_a_token(auth_gateway, method):
    error = _refused(auth_gateway.target, CALLS[method])
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "send `authorization: Bearer <token>` metadata; ask the operator for a token" in error.details()


@pytest.mark.parametrize("header", [f"Bearer {WRONG}", f"Basic {TOKEN}", "Bearer", f"Bearer{TOKEN}", TOKEN],
                         ids=["wrong-token", "basic-scheme", "no-token", "no-space", "no-scheme"])
@pytest.mark.parametrize("method", ["Synthesize", "ListSigns"])
def test_wrong_or_malformed_token_is_refused(auth_gateway, method, header):
    error = _refused(auth_gateway.target, CALLS[method], ChannelSecurity(metadata=(("authorization", header),)))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("token", [TOKEN, ROTATED], ids=["first", "rotated"])
def test_every_token_of_the_file_works(auth_gateway, token):
    security = _with_token(token)
    assert "hello" in _call(auth_gateway.target, _list_signs, security)
    assert _call(auth_gateway.target, _synthesize, security) > 10
    assert "signstream.v1.SignStream" in _call(auth_gateway.target, _reflection, security)


def test_health_check_and_watch_need_no_token(auth_gateway):
    async def check_and_watch(client: SignStreamClient) -> tuple[str, int]:
        health = health_pb2_grpc.HealthStub(client.channel)
        watch = health.Watch(health_pb2.HealthCheckRequest(service="signstream.v1.SignStream"))
        first = await watch.read()
        watch.cancel()
        return await client.health("signstream.v1.SignStream"), first.status

    checked, watched = _call(auth_gateway.target, check_and_watch)
    assert checked == "SERVING" and watched == health_pb2.HealthCheckResponse.SERVING


def test_tokens_never_reach_logs_details_or_reprs(auth_gateway, caplog):
    caplog.set_level(logging.DEBUG)
    details = [_refused(auth_gateway.target, call, _with_token(WRONG)).details() for call in CALLS.values()]
    details.append(_refused(auth_gateway.target, _list_signs, ChannelSecurity(metadata=(("authorization", TOKEN),))
                            ).details())
    _call(auth_gateway.target, _list_signs, _with_token(TOKEN))
    assert sum("refused /signstream.v1.SignStream/" in r.getMessage() for r in caplog.records) >= 4   # it did log
    seen = caplog.text + "\n".join(details) + repr(auth_gateway.gateway.options)
    for secret in (TOKEN, ROTATED, WRONG):
        assert secret not in seen


# --- TLS and mutual TLS ----------------------------------------------------------------------------

def test_tls_needs_a_client_that_trusts_the_ca(tls_gateway, pki):
    plaintext = _refused(tls_gateway.target, _list_signs, _with_token(TOKEN))
    other_ca = read_channel_credentials(pki / "other-ca.crt")
    wrong_ca = _refused(tls_gateway.target, _list_signs, _with_token(TOKEN, other_ca))
    assert plaintext.code() == wrong_ca.code() == grpc.StatusCode.UNAVAILABLE
    trusted = read_channel_credentials(pki / "ca.crt")
    assert "hello" in _call(tls_gateway.target, _list_signs, _with_token(TOKEN, trusted))
    assert _refused(tls_gateway.target, _list_signs, ChannelSecurity(trusted)).code() == grpc.StatusCode.UNAUTHENTICATED


def test_mutual_tls_needs_a_client_certificate_from_the_ca(mtls_gateway, pki):
    ca = pki / "ca.crt"
    no_certificate = _refused(mtls_gateway.target, _list_signs, ChannelSecurity(read_channel_credentials(ca)))
    intruder = _refused(mtls_gateway.target, _list_signs, ChannelSecurity(
        read_channel_credentials(ca, pki / "intruder.crt", pki / "intruder.key")))
    assert no_certificate.code() == intruder.code() == grpc.StatusCode.UNAVAILABLE
    good = ChannelSecurity(read_channel_credentials(ca, pki / "client.crt", pki / "client.key"))
    assert "hello" in _call(mtls_gateway.target, _list_signs, good)


# --- start-up refusals -----------------------------------------------------------------------------

def _serve_argv(*security: str) -> list[str]:
    """`signstream serve` that would start for real if the security flags passed their checks (it then
    fails on the lexicon, with exit 3, so a missing check shows as a wrong exit code, not a hang)."""
    return ["serve", "--triton-url", "127.0.0.1:9", "--lexicon", "/nonexistent/lexicon", "--processes", "1",
            "--metrics-port", "-1", "--port", "0", *security]


def _token_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "tokens"
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


@pytest.mark.parametrize("case", ["missing", "empty", "short", "spaces"])
def test_bad_token_files_stop_start_up(tmp_path, capsys, case):
    path = {"missing": lambda: str(tmp_path / "absent"),
            "empty": lambda: _token_file(tmp_path, "# only a comment\n\n"),
            "short": lambda: _token_file(tmp_path, f"{TOKEN}\nshort-secret-15\n"),
            "spaces": lambda: _token_file(tmp_path, "correct horse battery staple\n")}[case]()
    assert main(_serve_argv("--auth-token-file", path)) == 2
    error = capsys.readouterr().err
    assert f"--auth-token-file {path}" in error
    assert {"missing": "No such file", "empty": "holds no token", "short": "line 2: the token is shorter than 16",
            "spaces": "line 1: the token holds spaces"}[case] in error
    assert "short-secret-15" not in error and "horse" not in error


@pytest.mark.parametrize("case", ["cert-without-key", "key-without-cert", "missing-cert", "not-a-cert",
                                  "key-of-another-cert", "client-ca-without-cert", "bad-client-ca"])
def test_bad_tls_files_stop_start_up(pki, tmp_path, capsys, case):
    garbage, absent = tmp_path / "garbage.pem", tmp_path / "absent.crt"
    garbage.write_text("not PEM at all\n")
    crt, key, other_key = str(pki / "server.crt"), str(pki / "server.key"), str(pki / "client.key")
    flags, named = {
        "cert-without-key": (["--tls-cert", crt], "--tls-cert needs --tls-key"),
        "key-without-cert": (["--tls-key", key], "--tls-key needs --tls-cert"),
        "missing-cert": (["--tls-cert", str(absent), "--tls-key", key], f"--tls-cert {absent}: cannot read it"),
        "not-a-cert": (["--tls-cert", str(garbage), "--tls-key", key], f"--tls-cert {garbage} holds no PEM"),
        "key-of-another-cert": (["--tls-cert", crt, "--tls-key", other_key],
                                f"--tls-key {other_key} is not the private key of the certificate in --tls-cert"),
        "client-ca-without-cert": (["--tls-client-ca", str(pki / "ca.crt")], "--tls-client-ca needs --tls-cert"),
        "bad-client-ca": (["--tls-cert", crt, "--tls-key", key, "--tls-client-ca", str(garbage)],
                          f"--tls-client-ca {garbage} holds no usable PEM CA certificate"),
    }[case]
    assert main(_serve_argv(*flags)) == 2
    assert named in capsys.readouterr().err


def test_token_file_readable_by_others_is_warned_about(tmp_path, caplog):
    path = Path(_token_file(tmp_path, f"{TOKEN}\n"))
    with caplog.at_level(logging.WARNING):
        assert read_token_file(path) == (TOKEN,)
        assert not caplog.records                   # 0600: quiet
        path.chmod(0o644)
        assert read_token_file(path) == (TOKEN,)
    assert f"run `chmod 600 {path}`" in caplog.text and TOKEN not in caplog.text


# --- the command-line clients ----------------------------------------------------------------------

def test_stream_cli_against_tls_and_token(tls_gateway, pki, tmp_path, capsys):
    client_token = _token_file(tmp_path, f"# mine\n{ROTATED}\n{TOKEN}\n")     # the first token is sent
    argv = ["stream", "--server", tls_gateway.target, "¶hello", "¶name", "--encoding", "NONE", "--quiet",
            "--tls-ca", str(pki / "ca.crt")]
    assert main(argv + ["--auth-token-file", client_token]) == 0
    out = capsys.readouterr().out
    assert " frames, 0 notices" in out and not out.startswith("0 frames")

    assert main(argv) == 5                                            # no token: told what to do
    error = capsys.readouterr().err
    assert "UNAUTHENTICATED" in error and "ask the operator for a token" in error
    assert main(argv + ["--tls-cert", str(pki / "client.crt")]) == 2   # a client certificate needs its key
    assert "--tls-cert needs --tls-key" in capsys.readouterr().err
    assert TOKEN not in out + error and ROTATED not in out + error


def test_generate_cli_against_mutual_tls(mtls_gateway, pki, tmp_path, capsys):
    out = tmp_path / "results"
    assert main(["generate", "--server", mtls_gateway.target, "--sign_ids", "¶hello", "--out", str(out),
                 "--no-progress", "--tls-ca", str(pki / "ca.crt"), "--tls-cert", str(pki / "client.crt"),
                 "--tls-key", str(pki / "client.key")]) == 0
    assert (out / "out_video.mp4").stat().st_size > 0 and (out / "normalized_keypoints.pickle").exists()
    assert "from " + mtls_gateway.target in capsys.readouterr().out
