"""Stream records -> the figures `signstream bench` reports (all times in milliseconds).

- time to first frame: a stream's first sign sent -> its first frame read (p50 / p99 over streams);
- inter-frame gap: between consecutive frames of one stream (p50 / p99 / max over all gaps);
- frames/s delivered: frames read by all streams / the run's wall time;
- lateness (REALTIME): how much later than one frame period after the previous frame each frame came,
  max(0, gap - 1/fps) (p99 over all frames), the way a player with no buffer sees a stall;
- goodput: streams that kept up with real time at `deadline_fps`: frame j arrived no later than
  `slack` after first frame + j / deadline_fps, for every j; as a share of streams and per second;
- lost / duplicated: frame indexes that are not exactly 0..N-1 in order (must be 0).
"""
from __future__ import annotations

import numpy as np

from .loadgen import StreamRecord

DEADLINE_FPS = 25.0
DEADLINE_SLACK_S = 0.040


def _pct(values, q: float) -> float | None:
    return round(float(np.percentile(values, q)) * 1000, 2) if len(values) else None


def keeps_up(record: StreamRecord, fps: float = DEADLINE_FPS, slack: float = DEADLINE_SLACK_S) -> bool:
    if not record.ok or not record.arrivals:
        return False
    arrivals = np.asarray(record.arrivals)
    due = arrivals[0] + np.arange(len(arrivals)) / fps + slack
    return bool(np.all(arrivals <= due))


def in_order(record: StreamRecord) -> bool:
    return record.indexes == list(range(len(record.indexes)))


def summarize(records: list[StreamRecord], start: float, end: float, fps: float | None = None) -> dict:
    """The figures for one load level. `fps` (REALTIME streams) turns on the lateness figures."""
    wall = max(end - start, 1e-9)
    ok = [r for r in records if r.ok]
    first = [r.first_frame_s for r in ok if r.first_frame_s is not None]
    gaps = np.concatenate([np.diff(r.arrivals) for r in ok if len(r.arrivals) > 1] or [np.zeros(0)])
    frames = sum(len(r.arrivals) for r in records)
    statuses: dict[str, int] = {}
    for r in records:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    good = sum(keeps_up(r) for r in ok)
    summary = {
        "streams_completed": len(ok), "streams_failed": len(records) - len(ok), "statuses": statuses,
        "frames": frames, "frames_per_s": round(frames / wall, 1), "wall_s": round(wall, 2),
        "first_frame_p50_ms": _pct(first, 50), "first_frame_p99_ms": _pct(first, 99),
        "gap_p50_ms": _pct(gaps, 50), "gap_p99_ms": _pct(gaps, 99),
        "gap_max_ms": round(float(gaps.max()) * 1000, 2) if len(gaps) else None,
        "goodput_share": round(good / len(ok), 3) if ok else 0.0, "goodput_streams_per_s": round(good / wall, 2),
        "streams_out_of_order": sum(not in_order(r) for r in ok),
        "mean_frame_bytes": round(sum(r.frame_bytes for r in records) / frames) if frames else 0,
    }
    if fps:
        lateness = np.maximum(gaps - 1.0 / fps, 0.0)
        summary["lateness_p99_ms"] = _pct(lateness, 99)
        summary["lateness_max_ms"] = round(float(lateness.max()) * 1000, 2) if len(lateness) else None
    return summary
