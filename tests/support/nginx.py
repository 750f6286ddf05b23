"""Debian's nginx as an L7 gRPC balancer (grpc_pass over plain-text HTTP/2) for the multi-node
rehearsal: config, pid, logs and temp files in a test's folder, run as the current user on a free
127.0.0.1 port, in the foreground as this test's child, always stopped."""
from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from signstream.net import free_port

DEBIAN_NGINX = "/usr/sbin/nginx"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or (DEBIAN_NGINX if os.access(DEBIAN_NGINX, os.X_OK) else None)


class GrpcBalancer:
    """nginx round-robin over `upstreams` (host:port gRPC servers), one upstream per gRPC call.

        with GrpcBalancer(tmp_path, ["127.0.0.1:5001", "127.0.0.1:5002"]) as lb:
            lb.target                      # "127.0.0.1:PORT"
            lb.set_upstreams([...])        # reload: new calls go to these; running calls finish
    """

    def __init__(self, root: Path, upstreams: list[str], stream_timeout_s: int = 600):
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed: `make system-deps` installs Debian's nginx")
        self.binary, self.root, self.timeout = binary, root, stream_timeout_s
        self.port = free_port()
        self.conf = root / "nginx.conf"
        for folder in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        self._write(upstreams)
        self.process: subprocess.Popen | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def error_log(self) -> Path:
        return self.root / "error.log"

    def _write(self, upstreams: list[str]) -> None:
        r = self.root
        # As root, nginx would hand its workers to `nobody`; keep them this user's, like the rest of the test.
        user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
        servers = "\n".join(f"    server {u} max_fails=1 fail_timeout=5s;" for u in upstreams)
        self.conf.write_text(f"""
{user}
worker_processes 1;
daemon off;
pid {r}/nginx.pid;
error_log {r}/error.log notice;
events {{ worker_connections 512; }}
http {{
  access_log {r}/access.log;
  client_body_temp_path {r}/client_body;
  proxy_temp_path {r}/proxy;
  fastcgi_temp_path {r}/fastcgi;
  uwsgi_temp_path {r}/uwsgi;
  scgi_temp_path {r}/scgi;
  upstream gateways {{
{servers}
  }}
  server {{
    listen 127.0.0.1:{self.port} http2;
    # A stream is one HTTP/2 request as long as the stream: the timeouts must outlast the longest one.
    grpc_read_timeout {self.timeout}s;
    grpc_send_timeout {self.timeout}s;
    client_body_timeout {self.timeout}s;
    client_max_body_size 0;
    location / {{ grpc_pass grpc://gateways; }}
  }}
}}
""")

    def _log_count(self, what: str) -> int:
        return self.error_log.read_text().count(what) if self.error_log.exists() else 0

    def start(self, timeout: float = 20) -> "GrpcBalancer":
        self.process = subprocess.Popen([self.binary, "-p", str(self.root), "-e", str(self.error_log), "-c",
                                         str(self.conf)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited ({self.process.returncode}): {self.process.stderr.read()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nginx did not listen on {self.target} within {timeout} s")
            time.sleep(0.05)

    def set_upstreams(self, upstreams: list[str], timeout: float = 10) -> None:
        """New calls go to `upstreams` only (what an endpoints change does to an ingress); calls already
        running go on through the old worker until they end (nginx's graceful reload)."""
        # Reloaded once the new worker is up and the old one has stopped accepting (it then only
        # finishes the calls it has).
        marks = {what: self._log_count(what) for what in ("start worker process", "gracefully shutting down")}
        self._write(upstreams)
        self.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while any(self._log_count(what) <= count for what, count in marks.items()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not reload within {timeout} s: {self.error_log.read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)          # fast shutdown: the master stops its workers
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> "GrpcBalancer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
