"""The gateway's metrics (`GatewayMetrics`) and the HTTP endpoint that serves them (`MetricsServer`).

    registry = Registry()
    metrics = GatewayMetrics(registry)
    with MetricsServer(registry, port=9464):        # GET http://127.0.0.1:9464/metrics
        metrics.stream_opened("Synthesize")
        with metrics.timed("render"):
            ...

Every method is safe to call from the event loop and from worker threads. The endpoint answers in
its own daemon threads (http.server), so a scrape never runs on, or blocks, the event loop.
"""
from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from signstream.metrics.prometheus import CONTENT_TYPE, Counter, Gauge, Histogram, Registry

__all__ = ["CONTENT_TYPE", "Counter", "Gauge", "GatewayMetrics", "Histogram", "MetricsServer", "Registry"]
Read = Callable[[], float]

log = logging.getLogger(__name__)

RPCS = ("Synthesize", "Retarget", "Gesture")
STAGES = ("lookup", "normalize", "render", "encode", "extract", "send", "gesture")
# 1 ms .. 10 s: a cached lookup is ~1 ms, a cold S3 read or first Triton call can take seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    # rpc and stage come from our code, never from clients; a typo must not become a new series.
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")


class GatewayMetrics:
    """The gateway's metrics, all named `signstream_*`, and the calls the servicer updates them by."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.streams_open: Gauge = registry.gauge(
            "signstream_streams_open", "Streams currently open, by RPC.", ["rpc"])
        self.streams_total: Counter = registry.counter(
            "signstream_streams_total", "Streams opened since start, by RPC.", ["rpc"])
        self.frames_sent: Counter = registry.counter(
            "signstream_frames_sent_total", "Frames written to clients, by RPC and encoding.",
            ["rpc", "encoding"])
        self.first_frame_seconds: Histogram = registry.histogram(
            "signstream_time_to_first_frame_seconds",
            "Seconds from a sign ID (or Retarget image) received to its first frame written.",
            LATENCY_BUCKETS)
        self.stage_seconds: Histogram = registry.histogram(
            "signstream_stage_latency_seconds", "Seconds spent in one pipeline stage, per call.",
            LATENCY_BUCKETS, ["stage"])
        self.lateness_seconds: Histogram = registry.histogram(
            "signstream_frame_lateness_seconds",
            "Seconds a REALTIME-paced frame left after its due time (0 when on time).",
            LATENCY_BUCKETS)
        self.errors: Counter = registry.counter(
            "signstream_errors_total", "Calls ended by an error, by domain error code or gRPC status.",
            ["code"])
        self.notices: Counter = registry.counter(
            "signstream_notices_total", "Notices sent to clients (e.g. UNKNOWN_SIGN), by code.", ["code"])
        self.neural = NeuralFrameMetrics(registry)
        for rpc in RPCS:                # so dashboards show 0, not "no data", before the first stream
            self.streams_open.set(0, rpc=rpc)
            self.streams_total.inc(0, rpc=rpc)

    def track_neural(self, streams: Read, limit: float) -> None:
        """Gauges of the server's NEURAL streams (all gateway processes), beside its bound."""
        self.registry.read_gauge("signstream_server_neural_streams_open",
                                 "NEURAL streams open in the whole server, against --max-neural-streams.", streams)
        self.registry.gauge("signstream_neural_streams_limit",
                            "The server's bound on NEURAL streams (--max-neural-streams; 0: none).").set(limit)

    def track_server(self, streams: Read, frame_bytes: Read, server_frame_bytes: Read, frame_budget: float,
                     extractions: Read, extraction_slots: float) -> None:
        """Gauges read at each scrape: the whole server's open streams (every gateway process), the
        bytes of frames rendered but not yet sent, this process's and the server's, beside the budget,
        and the server's extraction slots in use, beside their number."""
        self.registry.read_gauge("signstream_server_streams_open",
                                 "Streams open in the whole server (all gateway processes), against --max-streams.",
                                 streams)
        self.registry.read_gauge("signstream_frame_memory_bytes",
                                 "Bytes of frames this process has rendered (or is rendering) but not yet sent.",
                                 frame_bytes)
        self.registry.read_gauge("signstream_server_frame_memory_bytes",
                                 "Bytes of frames rendered but not yet sent in the whole server.", server_frame_bytes)
        budget = self.registry.gauge("signstream_frame_memory_budget_bytes",
                                     "The server's budget for frames rendered but not yet sent (0: none; --frame-memory).")
        budget.set(frame_budget)
        self.registry.read_gauge("signstream_server_extractions_busy",
                                 "Images being decoded and extracted in the whole server, against its slots.",
                                 extractions)
        slots = self.registry.gauge("signstream_extraction_slots",
                                    "The server's extraction slots (--max-extractions).")
        slots.set(extraction_slots)

    def stream_opened(self, rpc: str) -> None:
        _check(rpc, RPCS, "rpc")
        self.streams_open.inc(rpc=rpc)
        self.streams_total.inc(rpc=rpc)

    def stream_closed(self, rpc: str) -> None:
        _check(rpc, RPCS, "rpc")
        self.streams_open.dec(rpc=rpc)

    def frame_sent(self, rpc: str, encoding: str) -> None:
        _check(rpc, RPCS, "rpc")
        self.frames_sent.inc(rpc=rpc, encoding=encoding)

    def first_frame(self, seconds: float) -> None:
        self.first_frame_seconds.observe(seconds)

    def lateness(self, seconds: float) -> None:
        self.lateness_seconds.observe(seconds)

    def stage(self, name: str, seconds: float) -> None:
        _check(name, STAGES, "stage")
        self.stage_seconds.observe(seconds, stage=name)

    @contextlib.contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Time the body as `stage`; recorded even when it raises (a slow failure is still slow)."""
        _check(stage, STAGES, "stage")     # before the work, so a typo fails fast
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stage_seconds.observe(time.perf_counter() - start, stage=stage)

    def error(self, code: str) -> None:
        self.errors.inc(code=code)

    def notice(self, code: str) -> None:
        self.notices.inc(code=code)


class NeuralFrameMetrics:
    """NEURAL frames, as their renderers report them (the rendering seam's FrameObserver): seconds a
    batch waited in the gateway before its requests went to Triton (drawing its poses, its turn) and
    seconds Triton took (its queue and the models: Triton's own nv_inference_queue_duration_us splits
    those), frames in Triton now, and frames a REALTIME stream drew below the level it asked for."""

    def __init__(self, registry: Registry):
        self.frame_seconds: Histogram = registry.histogram(
            "signstream_neural_frame_seconds",
            "Seconds a NEURAL frame batch spent per stage: queue (in the gateway, before its requests went "
            "to Triton) and render (Triton: its queue and the models).", LATENCY_BUCKETS, ["stage"])
        self.in_flight: Gauge = registry.gauge(
            "signstream_neural_frames_in_flight", "NEURAL frames sent to Triton and not yet back.")
        self.degraded: Counter = registry.counter(
            "signstream_neural_frames_degraded_total",
            "Frames of REALTIME NEURAL streams drawn below their asked level (fewer steps, lower resolution, "
            "or skeleton) because rendering fell behind real time.")
        self.in_flight.set(0)
        self.degraded.inc(0)

    def frames_sent(self, n: int, queued_s: float) -> None:
        self.frame_seconds.observe(queued_s, stage="queue")
        self.in_flight.inc(n)

    def frames_back(self, n: int, render_s: float) -> None:
        self.frame_seconds.observe(render_s, stage="render")
        self.in_flight.dec(n)

    def degraded_frames(self, n: int) -> None:
        self.degraded.inc(n)


class _MetricsHandler(BaseHTTPRequestHandler):
    server: _MetricsHTTPServer

    def do_GET(self) -> None:
        if urlsplit(self.path).path != "/metrics":
            self._reply(404, b"not found; metrics are at /metrics\n", "text/plain; charset=utf-8")
            return
        self._reply(200, self.server.registry.render().encode("utf-8"), CONTENT_TYPE)

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:     # the base class writes to stderr
        log.debug("metrics %s - %s", self.address_string(), format % args)


class _MetricsHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, registry: Registry):
        self.registry = registry
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _MetricsHandler)

    def handle_error(self, request, client_address) -> None:    # the base class prints to stderr
        log.exception("metrics request from %s failed", client_address)


class MetricsServer:
    """Serves `GET /metrics` for `registry` on host:port (port 0: any free port) in a daemon thread."""

    def __init__(self, registry: Registry, host: str = "127.0.0.1", port: int = 0):
        self.registry = registry
        self.host = host
        self._requested_port = port
        self._httpd: _MetricsHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int | None:
        """The bound port while running, else None."""
        return self._httpd.server_address[1] if self._httpd is not None else None

    def start(self) -> int:
        """Bind, start serving, and return the bound port."""
        if self._httpd is not None:
            raise RuntimeError("metrics server is already running")
        self._httpd = _MetricsHTTPServer(self.host, self._requested_port, self.registry)
        # A short poll interval so stop() returns quickly; the idle wake-ups cost nothing.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="signstream-metrics", daemon=True)
        self._thread.start()
        log.info("metrics at http://%s:%d/metrics", self.host, self.port)
        return self.port

    def stop(self) -> None:
        """Stop serving, close the socket and join the thread; safe to call twice."""
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is None:
            return
        try:
            httpd.shutdown()
        finally:
            httpd.server_close()
            thread.join()

    def __enter__(self) -> MetricsServer:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
