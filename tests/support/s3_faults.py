"""S3 faults for tests: a moto_server of one's own (stop it, start it again on the same port) and a
loopback HTTP proxy in front of it that answers some requests badly, per a programmable plan.

    with MotoServer() as moto, FaultProxy(moto.endpoint) as proxy:
        proxy.add(Fault("status", r"/clips/", times=2, status=503, code="SlowDown"))
        ...   # point S3Settings(endpoint_url=proxy.endpoint) at it
        proxy.seen("GET", r"/clips/")       # what the proxy saw, and what it did to each request

Fault kinds, each for the first `times` requests whose method matches and whose path matches the
`pattern` (re.search); later requests pass through untouched:

    status     answer `status` with an S3 XML error body carrying `code` (503 SlowDown, 500 InternalError)
    stall      wait `seconds` (longer than the client's read timeout), then forward as usual
    reset      read the request, then drop the connection without an answer (RST)
    cut_body   forward, send the headers and half the body, wait `seconds`, then drop the connection
"""
from __future__ import annotations

import http.client
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from signstream.net import free_port

MOTO_START_TIMEOUT_S = 30.0
UPSTREAM_TIMEOUT_S = 30.0
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "upgrade", "expect"}
FAULT_KINDS = ("status", "stall", "reset", "cut_body")


def answers_http(url: str) -> bool:
    """True if anything answers HTTP at url (any status)."""
    try:
        with urllib.request.urlopen(url, timeout=1.0):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


class MotoServer:
    """A `moto_server` process on 127.0.0.1 that a test may stop and start again on the same port
    (its buckets live in memory: a restart starts empty). Always `stop()` it (or use `with`)."""

    def __init__(self, log_path: Path, port: int | None = None):
        self.port = port or free_port()
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "MotoServer":
        """Start it and wait until it answers HTTP; raises RuntimeError with its log if it does not."""
        if self.process is not None and self.process.poll() is None:
            return self
        with open(self.log_path, "ab") as log_file:    # a file, not a pipe: a full pipe would block moto
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + MOTO_START_TIMEOUT_S
        while not answers_http(self.endpoint):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"moto_server did not come up on {self.endpoint}; log:\n"
                                   f"{self.log_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Stop the process (terminate, then kill) and wait for it; harmless if it is not running."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def __enter__(self) -> "MotoServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class Fault:
    """One rule of the plan (see the module docstring)."""

    kind: str
    pattern: str
    times: int = 1
    method: str = "GET"
    status: int = 503
    code: str = "SlowDown"
    seconds: float = 0.0

    def __post_init__(self):
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind {self.kind!r} is not one of {FAULT_KINDS}")


@dataclass(frozen=True)
class Seen:
    """One request the proxy received and what it did with it: the fault kind, or "forwarded"."""

    method: str
    path: str
    action: str
    at: float                          # time.monotonic() when it arrived


class FaultProxy:
    """A threading HTTP/1.1 proxy on 127.0.0.1 that forwards to `upstream` except where the plan says."""

    def __init__(self, upstream: str):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self._plan: list[Fault] = []
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="s3-fault-proxy", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._plan.append(fault)
        return fault

    def clear(self) -> None:
        """Lift every fault: from now on everything is forwarded."""
        with self._lock:
            self._plan.clear()

    def seen(self, method: str | None = None, pattern: str = "") -> list[Seen]:
        """The requests received so far (method and path pattern optional), oldest first."""
        with self._lock:
            return [s for s in self._seen
                    if (method is None or s.method == method) and re.search(pattern, s.path)]

    def _take(self, method: str, path: str) -> Fault | None:
        """Record the request; the fault that applies to it (using one of its `times`), if any."""
        with self._lock:
            fault = next((f for f in self._plan if f.times > 0 and f.method == method
                          and re.search(f.pattern, path)), None)
            if fault is not None:
                fault.times -= 1
            self._seen.append(Seen(method, path, fault.kind if fault else "forwarded", time.monotonic()))
            return fault

    def wait(self, seconds: float) -> None:
        """Sleep, but wake up at once when the proxy stops (so teardown never waits on a stall)."""
        self._stopping.wait(seconds)

    def start(self) -> "FaultProxy":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(_FaultHandler):
        owner = proxy
    return Handler


class _FaultHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"      # keep-alive, as botocore's connection pool expects
    owner: FaultProxy

    def log_message(self, format, *args):     # noqa: A002 - quiet: tests read proxy.seen() instead
        pass

    def do_GET(self):
        self._handle()

    do_PUT = do_POST = do_HEAD = do_DELETE = do_GET

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        body = self._read_body()
        fault = self.owner._take(self.command, self.path)
        if fault is None:
            self._forward(body)
        elif fault.kind == "status":
            self._error(fault.status, fault.code)
        elif fault.kind == "stall":
            self.owner.wait(fault.seconds)
            self._forward(body)
        elif fault.kind == "reset":
            self._drop()
        else:
            self._forward(body, cut_after=fault.seconds)

    def _upstream(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """The upstream's status, headers and body for this request, or 502 if it cannot be reached."""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        connection = http.client.HTTPConnection(*self.owner.upstream, timeout=UPSTREAM_TIMEOUT_S)
        try:
            connection.request(self.command, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()
            return response.status, response.getheaders(), data
        except OSError as exc:
            xml = _error_xml("BadGateway", f"the fault proxy cannot reach the upstream: {exc}")
            return 502, [("Content-Type", "application/xml")], xml
        finally:
            connection.close()

    def _forward(self, body: bytes, cut_after: float | None = None) -> None:
        status, headers, data = self._upstream(body)
        try:
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            length = len(data) if self.command != "HEAD" else int(dict(
                (k.lower(), v) for k, v in headers).get("content-length", 0))
            self.send_header("Content-Length", str(length))
            self.end_headers()
            if self.command == "HEAD":
                return
            if cut_after is None:
                self.wfile.write(data)
                return
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.owner.wait(cut_after)
            self._drop()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True      # the client gave up (e.g. its read timeout): fine

    def _error(self, status: int, code: str) -> None:
        xml = _error_xml(code, f"injected by the test fault proxy ({status})")
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(xml)))
        self.end_headers()
        self.wfile.write(xml)

    def _drop(self) -> None:
        """Close the connection with a TCP reset, answering nothing (more)."""
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


def _error_xml(code: str, message: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f"<RequestId>fault-proxy</RequestId></Error>").encode()
