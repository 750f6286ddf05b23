"""A `signstream` command run as a child process in its own session, its output collected line by
line, ready once it prints a given line: how `make demo` and the tests run `serve` and `triton`."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from signstream.net import free_port


class SignstreamProcess:
    def __init__(self, args: list[str], ready_prefix: str, log_path: Path | None = None,
                 env: dict[str, str] | None = None):
        self.args = args
        self.ready_prefix = ready_prefix
        self.log_path = log_path
        self.env = env                        # added to this process's environment
        self.lines: list[str] = []
        self.process: subprocess.Popen | None = None
        self._ready = threading.Event()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def ready_line(self) -> str:
        return next(line for line in self.lines if line.startswith(self.ready_prefix))

    def start(self, timeout: float) -> "SignstreamProcess":
        """Start `python -m signstream ARGS` and wait for its ready line; RuntimeError (with the
        output's tail) if it exits first or takes longer than `timeout` seconds."""
        self.process = subprocess.Popen([sys.executable, "-m", "signstream", *self.args], stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True, start_new_session=True,
                                         env={**os.environ, **self.env} if self.env else None)
        threading.Thread(target=self._pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"signstream {self.args[0]} did not get ready (exit code "
                                   f"{self.process.returncode}):\n" + "".join(self.lines[-30:]))
        return self

    def _pump(self) -> None:
        log = open(self.log_path, "w") if self.log_path else None
        try:
            for line in self.process.stdout:
                self.lines.append(line)
                if log:
                    log.write(line)
                    log.flush()
                if line.startswith(self.ready_prefix):
                    self._ready.set()
        finally:
            if log:
                log.close()

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM (a clean drain), then SIGKILL to the whole group after `timeout`; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        return self.process.returncode

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


SERVE_READY = "SignStream serving"      # the line `signstream serve` prints once every gateway is SERVING


def serve_process(lexicon: str, *flags: str, log_path: Path | None = None,
                  env: dict[str, str] | None = None) -> tuple[SignstreamProcess, str]:
    """`signstream serve` on a free loopback port with metrics off, plus `flags` (and `env` added to
    its environment); not started yet. Returns the process and its gRPC target."""
    port = free_port()
    process = SignstreamProcess(["serve", "--port", str(port), "--metrics-port", "-1", "--lexicon", lexicon, *flags],
                                SERVE_READY, log_path, env)
    return process, f"127.0.0.1:{port}"


def metrics_flags(processes: int, host: str = "127.0.0.1") -> tuple[list[str], list[str]]:
    """Flags giving `serve --processes N` its /metrics on free ports (gateway i serves on M + i),
    and the N URLs. Pass the flags after serve_process's own: the last --metrics-port wins."""
    for _ in range(100):
        first = free_port(host)
        try:
            for i in range(1, processes):
                with socket.socket() as s:
                    s.bind((host, first + i))
        except OSError:
            continue
        return ["--metrics-port", str(first)], [f"http://{host}:{first + i}/metrics" for i in range(processes)]
    raise RuntimeError(f"no {processes} consecutive free ports on {host}")
