"""Prometheus registry, text format, the gateway's metric set and the /metrics endpoint."""
from __future__ import annotations

import socket
import sys
import threading
import urllib.error
import urllib.request

import pytest

from signstream.metrics import CONTENT_TYPE, GatewayMetrics, MetricsServer, Registry


def samples(text: str) -> dict[str, float]:
    """Sample lines of a rendered registry -> {'name{labels}': value}."""
    pairs = (line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {name: float(value) for name, value in pairs}


# -- text format -----------------------------------------------------------------------------------
def test_render_is_exact_text_format():
    registry = Registry()
    requests = registry.counter("app_requests_total", "Requests served.\nBy rpc \\ code.", ["rpc", "code"])
    depth = registry.gauge("app_queue_depth", "Items waiting.")
    latency = registry.histogram("app_latency_seconds", "Latency.", [0.1, 1, 2.5], ["stage"])

    requests.inc(rpc="Synthesize", code="OK")
    requests.inc(2, code="OK", rpc="Retarget")
    requests.inc(code='say "hi"\\now\nplease', rpc="Retarget")
    depth.set(3)
    depth.inc(0.5)
    depth.dec(2)
    for value in (0.05, 0.1, 0.7, 3.0):            # 0.1 sits on a bound: le is "less or equal"
        latency.observe(value, stage="render")

    assert registry.render() == (
        "# HELP app_requests_total Requests served.\\nBy rpc \\\\ code.\n"
        "# TYPE app_requests_total counter\n"
        'app_requests_total{code="OK",rpc="Retarget"} 2\n'
        'app_requests_total{code="OK",rpc="Synthesize"} 1\n'
        'app_requests_total{code="say \\"hi\\"\\\\now\\nplease",rpc="Retarget"} 1\n'
        "# HELP app_queue_depth Items waiting.\n"
        "# TYPE app_queue_depth gauge\n"
        "app_queue_depth 1.5\n"
        "# HELP app_latency_seconds Latency.\n"
        "# TYPE app_latency_seconds histogram\n"
        'app_latency_seconds_bucket{stage="render",le="0.1"} 2\n'
        'app_latency_seconds_bucket{stage="render",le="1"} 3\n'
        'app_latency_seconds_bucket{stage="render",le="2.5"} 3\n'
        'app_latency_seconds_bucket{stage="render",le="+Inf"} 4\n'
        'app_latency_seconds_sum{stage="render"} 3.85\n'
        'app_latency_seconds_count{stage="render"} 4\n'
    )


def test_unlabelled_metrics_render_zero_and_labelled_ones_only_their_header():
    registry = Registry()
    registry.counter("a_total", "A.")
    registry.counter("b_total", "B.", ["code"])
    registry.histogram("c_seconds", "C.", [1])
    assert registry.render().splitlines() == [
        "# HELP a_total A.", "# TYPE a_total counter", "a_total 0",
        "# HELP b_total B.", "# TYPE b_total counter",
        "# HELP c_seconds C.", "# TYPE c_seconds histogram",
        'c_seconds_bucket{le="1"} 0', 'c_seconds_bucket{le="+Inf"} 0', "c_seconds_sum 0", "c_seconds_count 0",
    ]


def test_histogram_buckets_are_cumulative_and_inf_equals_count():
    registry = Registry()
    latency = registry.histogram("h_seconds", "H.", [0.001, 0.01, 0.1, float("inf")])
    observed = [0.0005, 0.001, 0.002, 0.05, 0.05, 0.5, 20.0]
    for value in observed:
        latency.observe(value)
    got = samples(registry.render())
    assert [got[f'h_seconds_bucket{{le="{le}"}}'] for le in ("0.001", "0.01", "0.1", "+Inf")] == [2, 3, 5, 7]
    assert got["h_seconds_count"] == len(observed) == latency.value()
    assert got["h_seconds_sum"] == pytest.approx(sum(observed))


# -- concurrency -----------------------------------------------------------------------------------
def test_concurrent_updates_from_8_threads_sum_exactly():
    registry = Registry()
    counter = registry.counter("c_total", "C.", ["rpc"])
    gauge = registry.gauge("g", "G.")
    histogram = registry.histogram("h_seconds", "H.", [0.5])
    threads, per_thread = 8, 5_000
    start = threading.Barrier(threads)

    def work():
        start.wait()
        for _ in range(per_thread):
            counter.inc(rpc="Synthesize")
            gauge.inc()
            histogram.observe(1.0)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)                    # switch threads often, so lost updates would show
    try:
        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(switch)
    total = threads * per_thread
    assert counter.value(rpc="Synthesize") == total
    assert gauge.value() == total
    got = samples(registry.render())
    assert got['h_seconds_bucket{le="+Inf"}'] == got["h_seconds_count"] == total
    assert got["h_seconds_sum"] == total


# -- validation ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["", "1abc", "a-b", "a b", "caf\u00e9", "a{b}"])
def test_invalid_metric_names_raise(name):
    with pytest.raises(ValueError, match="metric name"):
        Registry().counter(name, "x")


@pytest.mark.parametrize("labels", [["__reserved"], ["1a"], ["a-b"], [""], ["rpc", "rpc"], ["amount"]])
def test_invalid_label_names_raise(labels):
    with pytest.raises(ValueError, match="label name"):
        Registry().counter("ok_total", "x", labels)


def test_histogram_refuses_le_label_and_bad_buckets():
    registry = Registry()
    with pytest.raises(ValueError, match="reserved"):
        registry.histogram("h1", "x", [1], ["le"])
    for buckets in ([], [2, 1], [1, 1], [float("nan")]):
        with pytest.raises(ValueError, match="buckets"):
            registry.histogram("h2", "x", buckets)


def test_misuse_at_update_time_raises():
    registry = Registry()
    counter = registry.counter("c_total", "x", ["rpc"])
    with pytest.raises(ValueError, match="takes labels"):
        counter.inc()
    with pytest.raises(ValueError, match="takes labels"):
        counter.inc(rpc="Synthesize", code="OK")
    with pytest.raises(ValueError, match="only go up"):
        counter.inc(-1, rpc="Synthesize")
    with pytest.raises(ValueError, match="already registered"):
        registry.gauge("c_total", "again")


# -- HTTP endpoint ---------------------------------------------------------------------------------
def _get(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.headers["Content-Type"], response.read().decode("utf-8")


def test_metrics_server_serves_current_values_and_404_then_stops():
    registry = Registry()
    counter = registry.counter("hits_total", "Hits.")
    with MetricsServer(registry) as server:
        port = server.port
        assert port and server.host == "127.0.0.1"
        url = f"http://127.0.0.1:{port}/metrics"
        counter.inc()
        status, content_type, body = _get(url)
        assert (status, content_type) == (200, CONTENT_TYPE)
        assert "hits_total 1\n" in body
        counter.inc(2)
        assert "hits_total 3\n" in _get(url + "?x=1")[2]
        with pytest.raises(urllib.error.HTTPError) as excinfo:
            _get(f"http://127.0.0.1:{port}/")
        assert excinfo.value.code == 404
    assert server.port is None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    server.stop()                                  # a second stop is harmless


def test_metrics_server_start_returns_port_and_refuses_double_start():
    server = MetricsServer(Registry())
    port = server.start()
    try:
        assert port == server.port and port > 0
        with pytest.raises(RuntimeError):
            server.start()
    finally:
        server.stop()


# -- the gateway's metric set ----------------------------------------------------------------------
EXPECTED_METRICS = {
    "signstream_streams_open": "gauge",
    "signstream_streams_total": "counter",
    "signstream_frames_sent_total": "counter",
    "signstream_time_to_first_frame_seconds": "histogram",
    "signstream_stage_latency_seconds": "histogram",
    "signstream_frame_lateness_seconds": "histogram",
    "signstream_errors_total": "counter",
    "signstream_notices_total": "counter",
    "signstream_neural_frame_seconds": "histogram",
    "signstream_neural_frames_in_flight": "gauge",
    "signstream_neural_frames_degraded_total": "counter",
}


def test_gateway_metrics_names_and_types():
    registry = Registry()
    GatewayMetrics(registry)
    types = dict(line.split()[2:4] for line in registry.render().splitlines() if line.startswith("# TYPE"))
    assert types == EXPECTED_METRICS


def test_gateway_metrics_updates():
    registry = Registry()
    metrics = GatewayMetrics(registry)
    metrics.stream_opened("Synthesize")
    metrics.stream_opened("Synthesize")
    metrics.stream_closed("Synthesize")
    metrics.frame_sent("Synthesize", "jpeg")
    metrics.first_frame(0.02)
    metrics.lateness(0.0)
    metrics.stage("lookup", 0.003)
    with pytest.raises(KeyError):
        with metrics.timed("render"):              # recorded even when the stage fails
            raise KeyError("boom")
    metrics.error("UNKNOWN_SIGN")
    metrics.notice("UNKNOWN_SIGN")
    got = samples(registry.render())
    assert got['signstream_streams_open{rpc="Synthesize"}'] == 1
    assert got['signstream_streams_open{rpc="Retarget"}'] == 0
    assert got['signstream_streams_total{rpc="Synthesize"}'] == 2
    assert got['signstream_frames_sent_total{encoding="jpeg",rpc="Synthesize"}'] == 1
    assert got['signstream_time_to_first_frame_seconds_bucket{le="0.025"}'] == 1
    assert got['signstream_time_to_first_frame_seconds_bucket{le="0.01"}'] == 0
    assert got['signstream_frame_lateness_seconds_bucket{le="0.001"}'] == 1
    assert got['signstream_stage_latency_seconds_count{stage="lookup"}'] == 1
    assert got['signstream_stage_latency_seconds_count{stage="render"}'] == 1
    assert got['signstream_errors_total{code="UNKNOWN_SIGN"}'] == 1
    assert got['signstream_notices_total{code="UNKNOWN_SIGN"}'] == 1
    bounds = [name for name in got if name.startswith("signstream_time_to_first_frame_seconds_bucket")]
    assert bounds[0].endswith('le="0.001"}') and bounds[-2].endswith('le="10"}')


def test_gateway_metrics_refuse_unknown_rpc_and_stage():
    metrics = GatewayMetrics(Registry())
    with pytest.raises(ValueError, match="rpc"):
        metrics.stream_opened("Synthesise")
    with pytest.raises(ValueError, match="stage"):
        with metrics.timed("rendering"):
            pass
