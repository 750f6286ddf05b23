"""`signstream bench` figures from hand-made stream records: exact percentiles, gaps, frames/s, lateness,
goodput (a stall loses it), out-of-order indexes and failed streams; the target rows; the Markdown
table and the PNG plot."""
from __future__ import annotations

import cv2
import pytest

from signstream.bench import report
from signstream.bench.loadgen import StreamRecord
from signstream.bench.stats import in_order, keeps_up, summarize
from signstream.bench.targets import TARGETS, evaluate


def record(first_sent: float, arrivals: list[float], indexes: list[int] | None = None, status: str = "OK",
           frame_bytes: int = 0) -> StreamRecord:
    return StreamRecord(opened=first_sent - 0.01, sent=[first_sent], arrivals=list(arrivals),
                        indexes=list(range(len(arrivals))) if indexes is None else list(indexes),
                        frame_bytes=frame_bytes, status=status, closed=(arrivals or [first_sent])[-1] + 0.01)


# Five streams over a 2 s run (t = 10 .. 12). Frame periods are 40 ms (25 fps) unless stated.
STEADY = record(10.0, [10.10, 10.14, 10.18, 10.22], frame_bytes=400)                 # first frame 100 ms
STALLED = record(10.0, [10.20, 10.24, 10.38, 10.42], frame_bytes=400)                # 140 ms stall, first 200 ms
SKIPPING = record(10.0, [10.30, 10.34], indexes=[0, 2], frame_bytes=200)             # index 1 lost, first 300 ms
FAILED = record(10.0, [10.50, 10.90], status="UNAVAILABLE", frame_bytes=100)         # two frames, then an error
NEVER = record(10.0, [], status="DEADLINE_EXCEEDED")
RECORDS = [STEADY, STALLED, SKIPPING, FAILED, NEVER]


@pytest.fixture(scope="module")
def summary() -> dict:
    return summarize(RECORDS, 10.0, 12.0, fps=25.0)


def test_first_frame_percentiles_are_over_completed_streams_only(summary):
    # 100, 200, 300 ms (the failed streams are left out): p50 200, p99 200 + 0.98 * 100 (linear).
    assert STEADY.first_frame_s == pytest.approx(0.100)
    assert NEVER.first_frame_s is None
    assert summary["first_frame_p50_ms"] == pytest.approx(200.0)
    assert summary["first_frame_p99_ms"] == pytest.approx(298.0)


def test_gaps_are_between_consecutive_frames_of_one_stream(summary):
    # Gaps: STEADY 40 40 40, STALLED 40 140 40, SKIPPING 40 -> six of 40 ms and one of 140 ms; a gap
    # across two streams (e.g. 10.22 -> 10.20) would show up as a negative or odd value, and the failed
    # stream's 400 ms gap is left out.
    assert summary["gap_p50_ms"] == pytest.approx(40.0)
    assert summary["gap_p99_ms"] == pytest.approx(40.0 + 0.94 * 100.0)
    assert summary["gap_max_ms"] == pytest.approx(140.0)


def test_frames_per_second_counts_every_frame_read_over_the_wall_time(summary):
    assert summary["frames"] == 4 + 4 + 2 + 2                        # the failed stream's frames were read too
    assert summary["wall_s"] == pytest.approx(2.0)
    assert summary["frames_per_s"] == pytest.approx(6.0)
    assert summary["mean_frame_bytes"] == round((400 + 400 + 200 + 100) / 12)


def test_lateness_at_25_fps_is_the_gap_beyond_one_frame_period(summary):
    # Only the 140 ms gap is late, by 100 ms; p99 over seven values interpolates 0 -> 100 at 0.94.
    assert summary["lateness_max_ms"] == pytest.approx(100.0)
    assert summary["lateness_p99_ms"] == pytest.approx(94.0)
    assert "lateness_p99_ms" not in summarize(RECORDS, 10.0, 12.0)          # ASAP: no lateness figures


def test_goodput_counts_the_streams_that_kept_up(summary):
    assert keeps_up(STEADY) and keeps_up(SKIPPING)
    assert not keeps_up(STALLED)                   # frame 2 due by 10.20 + 0.08 + 0.04 = 10.32, came 10.38
    assert not keeps_up(FAILED) and not keeps_up(NEVER)
    assert summary["goodput_share"] == pytest.approx(2 / 3, abs=1e-3)
    assert summary["goodput_streams_per_s"] == pytest.approx(1.0)


def test_keeps_up_allows_exactly_the_slack():
    # Binary fractions, so the boundary is exact: frame 1 due at 0 + 1/4 + 1/8.
    on_time = record(0.0, [0.0, 0.375])
    late = record(0.0, [0.0, 0.5])
    assert keeps_up(on_time, fps=4.0, slack=0.125)
    assert not keeps_up(late, fps=4.0, slack=0.125)
    assert keeps_up(late, fps=4.0, slack=0.25)
    assert keeps_up(record(0.0, [3.0, 3.25, 3.5]), fps=4.0, slack=0.0)      # due times count from the first frame


def test_out_of_order_and_lost_indexes_are_counted(summary):
    assert in_order(STEADY) and in_order(record(0.0, []))
    assert not in_order(SKIPPING)
    assert not in_order(record(0.0, [1, 2], indexes=[1, 0]))
    assert not in_order(record(0.0, [1, 2, 3], indexes=[0, 0, 1]))           # a duplicate
    assert not in_order(record(0.0, [1, 2], indexes=[1, 2]))                 # not starting at 0
    assert summary["streams_out_of_order"] == 1


def test_failed_streams_are_counted_by_status(summary):
    assert summary["streams_completed"] == 3
    assert summary["streams_failed"] == 2
    assert summary["statuses"] == {"OK": 3, "UNAVAILABLE": 1, "DEADLINE_EXCEEDED": 1}


def test_a_level_where_every_stream_failed_has_no_latency_figures():
    s = summarize([NEVER, record(0.0, [], status="UNAVAILABLE")], 0.0, 1.0, fps=25.0)
    assert s["streams_completed"] == 0 and s["streams_failed"] == 2
    assert s["first_frame_p50_ms"] is None and s["gap_max_ms"] is None and s["lateness_max_ms"] is None
    assert s["goodput_share"] == 0.0 and s["frames"] == 0 and s["mean_frame_bytes"] == 0


# ---- targets ----------------------------------------------------------------------------------------------
SMALL_DOC = {
    "load": {"jpeg@16": {"first_frame_p50_ms": 20.0, "first_frame_p99_ms": 150.0}},
    "realtime": {"streams": 24, "lateness_p99_ms": 40.0},          # both exactly on their bound
    "idle": {"rss_per_stream_mib": 2.5},
    "kernels": "not a dict",                                       # a path through a non-dict is missing
}


def test_targets_are_met_missed_or_missing():
    rows = {row["figure"]: row for row in evaluate(SMALL_DOC)}
    assert list(rows) == [t.name for t in TARGETS]
    expected = {
        "time to first frame p50, 16 streams JPEG ASAP": (20.0, True),
        "time to first frame p99, 16 streams JPEG ASAP": (150.0, False),
        "REALTIME 25 fps, p99 lateness (ms) at the realtime stream count": (40.0, True),      # <= bound
        "REALTIME streams held": (24, True),                                                   # >= bound
        "server RSS per idle stream": (2.5, False),
    }
    for name, row in rows.items():
        value, met = expected.get(name, (None, None))
        assert (row["value"], row["met"]) == (value, met), name
    assert rows["time to first frame p50, 16 streams JPEG ASAP"]["target"] == "<= 25 ms"
    assert rows["REALTIME streams held"]["target"] == ">= 24"


def test_a_figure_on_the_wrong_side_of_a_greater_than_target_is_missed():
    rows = {row["figure"]: row for row in evaluate({"realtime": {"streams": 23}, "jpeg_ceiling": {"best_share": 0.6}})}
    assert rows["REALTIME streams held"]["met"] is False
    assert rows["JPEG ASAP frames/s / encode ceiling"]["met"] is True


# ---- report -----------------------------------------------------------------------------------------------
def _level(streams: int, records: list[StreamRecord], fps: float | None = None) -> dict:
    s = summarize(records, 10.0, 12.0, fps)
    s.update(streams=streams, client_cores_busy=0.5, server_cores_busy=1.25, server_rss_mib=210.0)
    return s


@pytest.fixture(scope="module")
def doc() -> dict:
    d = {
        "benchmark": "signstream bench --quick", "date": "2024-01-02", "machine": "x86_64, 2 cores, Python 3.11",
        "command": "signstream bench --quick",
        "setup": {"size": 64, "signs": ["¶hello", "¶name"], "duration_s": 2.0, "arrivals": "all",
                  "processes": 2, "workers": 1, "server": "started here"},
        "jpeg_ceiling": {"frames_per_s": 900.0, "frames_per_stream": 77, "best_share": 0.4},
        "load": {"jpeg@1": _level(1, [STEADY]), "jpeg@5": _level(5, RECORDS),
                 "none@1": _level(1, [STALLED]), "none@3": _level(3, [STEADY, STALLED, SKIPPING])},
        "realtime": _level(3, [STEADY, STALLED, SKIPPING], fps=25.0),
    }
    d["load"]["best_none_frames_per_s"] = 5.0
    d["targets"] = evaluate(d)
    return d


def test_markdown_has_every_target_row_and_every_load_row(doc):
    text = report.markdown(doc)
    lines = text.splitlines()
    for row in doc["targets"]:
        met = {True: "yes", False: "**no**", None: "–"}[row["met"]]
        matching = [l for l in lines if l.startswith(f"| {row['figure']} |")]
        assert len(matching) == 1, row["figure"]
        assert matching[0].endswith(f"| {row['target']} | {met} |"), matching[0]
    assert any(l.startswith("| time to first frame p50") and "| – |" in l for l in lines)   # missing: a dash
    jpeg5 = next(l for l in lines if l.startswith("| jpeg@5 |"))
    assert "| 3 (+2 failed) | 6 |" in jpeg5 and "| 200 / 298 |" in jpeg5 and "| 40 / 134 / 140 |" in jpeg5
    for name in ("jpeg@1", "none@1", "none@3", "realtime@3"):
        assert sum(l.startswith(f"| {name} |") for l in lines) == 1, name
    assert not any("best_none_frames_per_s" in l for l in lines)              # not a load level
    assert "2 gateway process(es) × 1 CPU threads" in text
    assert "900 frames/s (77 frames per stream)" in text


def test_plot_writes_a_png(doc, tmp_path):
    path = tmp_path / "bench.png"
    report.plot(doc, path)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (400, 1000, 3)            # figsize 10 x 4 at 100 dpi
    assert len({tuple(p) for p in image.reshape(-1, 3)[::97]}) > 3         # something was drawn
