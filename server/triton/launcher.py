"""Start and stop the real `tritonserver` from the `nvidia-pytriton` wheel, on 127.0.0.1 and free ports.

    with TritonServer(TritonOptions(model_repository=Path("model_repository"), grpc_port=0)) as triton:
        client = tritonclient.grpc.InferenceServerClient(triton.grpc_url)

What the wheel's binary needs, done here once:
- a backend folder with `python/libtriton_python.so`, `triton_python_backend_utils.py` and the
  python stub built for *this* interpreter's version (`python_backend_stubs/3.11/...`);
- `LD_LIBRARY_PATH` to the wheel's bundled libraries (`nvidia_pytriton.libs`);
- this environment's `bin/` first on `PATH`: the stub takes its packages from the first `python3`
  there, so the models can import numpy, mediapipe and signstream.

Triton runs in its own process group, bound to 127.0.0.1 unless asked; port 0 means "pick a free
one". Its output goes to a log file and, if asked, to our log. `stop()` sends SIGTERM (Triton
finishes in-flight requests and unloads models), then SIGKILLs the whole group after a grace
period so no stub process is ever left behind.
"""
from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path

from signstream.errors import TritonUnavailable
from signstream.net import free_port
from signstream.triton.repository import RepositoryReport, build_runtime_repository

log = logging.getLogger(__name__)

BACKEND_FILES = ("libtriton_python.so", "triton_python_backend_utils.py")
STUB = "triton_python_backend_stub"
PR_SET_PDEATHSIG = 1          # linux/prctl.h


@dataclass(frozen=True)
class TritonOptions:
    model_repository: Path
    host: str = "127.0.0.1"
    grpc_port: int = 8001        # 0: a free port
    http_port: int = 8000
    metrics_port: int = 8002
    instances: int = 1           # per model (holistic, yolox, dwpose, ...)
    gpu: bool = False            # use each model's configs/gpu.pbtxt
    log_file: Path | None = None  # default: triton.log in the work folder
    echo: bool = False           # also pass Triton's output to our log (the CLI does)
    ready_timeout: float = 300.0
    stop_timeout: float = 30.0
    verbose: int = 0


def pytriton_root() -> Path:
    """The wheel's `pytriton/tritonserver` folder."""
    try:
        import pytriton
    except ImportError as exc:   # pragma: no cover - a broken install
        raise TritonUnavailable("the nvidia-pytriton wheel is not installed; run `make install`") from exc
    return Path(pytriton.__file__).resolve().parent / "tritonserver"


def _wheel_libs(root: Path) -> Path:
    return root.parent.parent / "nvidia_pytriton.libs"


def assemble_backends(root: Path, dest: Path) -> Path:
    """`dest/python/` with the backend library, its utils and the stub for this Python version."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = root / "python_backend_stubs" / version / STUB
    if not stub.is_file():
        raise TritonUnavailable(f"the nvidia-pytriton wheel has no python stub for Python {version} ({stub})")
    python_dir = dest / "python"
    python_dir.mkdir(parents=True, exist_ok=True)
    for name in BACKEND_FILES:
        (python_dir / name).write_bytes((root / "backends" / "python" / name).read_bytes())
    target = python_dir / STUB
    target.write_bytes(stub.read_bytes())
    target.chmod(0o755)
    return dest


def triton_environment(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (str(_wheel_libs(root)), env.get("LD_LIBRARY_PATH", "")) if p)
    env["PATH"] = os.pathsep.join((sysconfig.get_path("scripts"), env.get("PATH", "")))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def die_with_parent() -> None:
    """In the child before exec: Linux sends it SIGTERM when the process that started it dies, even
    by SIGKILL, so Triton never outlives a killed `serve` (it runs in its own session, out of reach
    of signals sent to ours)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):   # not Linux: the explicit stop() still applies
        pass


def _with_free_ports(options: TritonOptions) -> TritonOptions:
    """Port 0 -> a port that is free now (Triton itself cannot report the port it bound)."""
    chosen = {name: getattr(options, name) or free_port(options.host)
              for name in ("grpc_port", "http_port", "metrics_port")}
    return replace(options, **chosen)


class TritonServer:
    """The real Triton as a context manager. `start()` returns once every loaded model is ready."""

    def __init__(self, options: TritonOptions):
        self.requested = options
        self.options = options
        self.report: RepositoryReport | None = None
        self._process: subprocess.Popen | None = None
        self._workdir: tempfile.TemporaryDirectory | None = None
        self._pump: threading.Thread | None = None
        self._log_start = 0          # where this run's lines begin in the (appended) log file

    # -- addresses -----------------------------------------------------------------------------
    @property
    def grpc_url(self) -> str:
        return f"{self.options.host}:{self.options.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"{self.options.host}:{self.options.http_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.options.host}:{self.options.metrics_port}/metrics"

    @property
    def log_file(self) -> Path:
        assert self.options.log_file is not None
        return self.options.log_file

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    # -- life cycle ----------------------------------------------------------------------------
    def command(self, root: Path, backends: Path, repository: Path) -> list[str]:
        o = self.options
        return [
            str(root / "bin" / "tritonserver"),
            f"--model-repository={repository}",
            f"--backend-directory={backends}",
            f"--http-address={o.host}", f"--http-port={o.http_port}",
            f"--grpc-address={o.host}", f"--grpc-port={o.grpc_port}",
            f"--metrics-address={o.host}", f"--metrics-port={o.metrics_port}",
            "--allow-metrics=true", "--allow-gpu-metrics=false", "--allow-cpu-metrics=true",
            "--strict-readiness=false",  # readiness is judged per model (is_ready)
            "--exit-on-error=false",   # a model that fails to load must not take the others down
            "--exit-timeout-secs=" + str(int(o.stop_timeout)),
            f"--log-verbose={o.verbose}",
        ]

    def start(self) -> "TritonServer":
        root = pytriton_root()
        self._workdir = tempfile.TemporaryDirectory(prefix="signstream-triton-")
        work = Path(self._workdir.name)
        try:
            backends = assemble_backends(root, work / "backends")
            self.report = build_runtime_repository(
                self.requested.model_repository, work / "models",
                instances=self.requested.instances, gpu=self.requested.gpu)
            self.report.log_skipped()
            self._start_process(root, backends)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_process(self, root: Path, backends: Path) -> None:
        attempts = 3 if 0 in (self.requested.grpc_port, self.requested.http_port, self.requested.metrics_port) else 1
        for attempt in range(attempts):
            self.options = _with_free_ports(self.requested)
            if self.requested.log_file is None:
                self.options = replace(self.options, log_file=Path(self._workdir.name) / "triton.log")
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._launch(root, backends)
            try:
                self.wait_ready()
                log.info("Triton ready: gRPC %s, HTTP %s, metrics %s; models ready: %s",
                         self.grpc_url, self.http_url, self.metrics_url, ", ".join(self.ready_models()) or "none")
                return
            except TritonUnavailable:
                exited = self._process.poll() is not None
                self._terminate()
                if not exited or attempt == attempts - 1 or "address already in use" not in self.log_tail():
                    raise
                log.info("a chosen port was taken meanwhile; retrying with new ports")

    def _launch(self, root: Path, backends: Path) -> None:
        cmd = self.command(root, backends, self.report.path)
        log.debug("starting %s", " ".join(cmd))
        log_handle = open(self.log_file, "ab", buffering=0)
        self._log_start = log_handle.tell()
        try:
            self._process = subprocess.Popen(
                cmd, env=triton_environment(root), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=die_with_parent)
        except BaseException:
            log_handle.close()
            raise
        self._pump = threading.Thread(target=self._copy_output, args=(self._process, log_handle),
                                      name="triton-log", daemon=True)
        self._pump.start()

    def _copy_output(self, process: subprocess.Popen, handle) -> None:
        """Triton's stdout/stderr -> the log file (always) and our log (when echo is on)."""
        with handle, process.stdout:
            for line in iter(process.stdout.readline, b""):
                handle.write(line)
                if self.options.echo:
                    log.info("triton: %s", line.decode("utf-8", "replace").rstrip())

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _http(self, path: str, body: bytes | None = None, timeout: float = 2.0) -> object | None:
        """JSON from Triton's HTTP API, or None when it does not answer (yet)."""
        request = urllib.request.Request(f"http://{self.http_url}{path}", data=body, method="POST" if body else "GET")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                text = response.read()
                return json.loads(text) if text else {}
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def model_states(self) -> dict[str, tuple[str, str]]:
        """model -> (state, reason) from Triton's repository index: READY, UNAVAILABLE, LOADING..."""
        index = self._http("/v2/repository/index", body=b"{}") or []
        return {m["name"]: (m.get("state", ""), m.get("reason", "")) for m in index if isinstance(m, dict)}

    def ready_models(self) -> list[str]:
        return sorted(name for name, (state, _) in self.model_states().items() if state == "READY")

    def is_ready(self) -> bool:
        """Live, and every model of the runtime repository has finished loading (ready or failed)."""
        if self._http("/v2/health/live") is None:
            return False
        states = self.model_states()
        return all(states.get(name, ("", ""))[0] in ("READY", "UNAVAILABLE") for name in self.report.models)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.options.ready_timeout
        while time.monotonic() < deadline:
            if not self.is_running():
                self._join_pump()          # its last lines say why
                raise TritonUnavailable(
                    f"tritonserver exited with code {self._process.returncode} while starting; "
                    f"its log ({self.log_file}) ends with:\n{self.log_tail()}")
            if self.is_ready():
                for name, (state, reason) in sorted(self.model_states().items()):
                    if state != "READY":
                        log.error("model %s failed to load: %s (details in %s)", name, reason, self.log_file)
                return
            time.sleep(0.2)
        raise TritonUnavailable(f"tritonserver was not ready after {self.options.ready_timeout:.0f} s; "
                                f"its log ({self.log_file}) ends with:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        """The last lines this run wrote to the log."""
        try:
            with open(self.log_file, "rb") as handle:
                handle.seek(self._log_start)
                text = handle.read().decode("utf-8", errors="replace")
        except (OSError, AssertionError):
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _join_pump(self) -> None:
        if self._pump is not None:
            self._pump.join(timeout=5)
            self._pump = None

    def wait(self) -> int:
        """Block until Triton exits by itself; its exit code."""
        return self._process.wait()

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                # Triton itself gives in-flight requests stop_timeout (--exit-timeout-secs); allow it
                # a little longer to unload models before the group is killed.
                process.wait(timeout=self.options.stop_timeout + 10)
            except subprocess.TimeoutExpired:
                log.warning("tritonserver did not stop within %.0f s; killing it", self.options.stop_timeout)
            except ProcessLookupError:
                pass
        # The python stubs are Triton's children in the same group: make sure none outlives it.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()
        self._join_pump()

    def restart(self) -> None:
        """Start Triton again after its process died: same ports (clients keep their URL), same
        runtime repository; returns once it is ready, or raises TritonUnavailable."""
        if self._workdir is None or self.report is None:
            raise TritonUnavailable("Triton was never started here; use start()")
        self._terminate()                   # reaps the dead process and kills what is left of its group
        self._launch(pytriton_root(), Path(self._workdir.name) / "backends")
        try:
            self.wait_ready()
        except TritonUnavailable:
            self._terminate()
            raise
        log.info("Triton restarted: gRPC %s; models ready: %s", self.grpc_url, ", ".join(self.ready_models()) or "none")

    def stop(self) -> None:
        self._terminate()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> "TritonServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

