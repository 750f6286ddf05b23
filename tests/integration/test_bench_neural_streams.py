"""`signstream bench --renderer neural --streams --quick` on tiny frames, as a user runs it: it starts
Triton on stand-ins and a gateway, runs NEURAL streams ASAP and REALTIME, and writes every figure;
the figures agree with each other (each ASAP frame is one neural_unet_step request at 1 step, all
frames of all streams arrive in order, ASAP never degrades)."""
from __future__ import annotations

import json

from signstream.cli import main

STREAMS = (1, 3)
FIELDS = ("first_frame_p50_ms", "first_frame_p95_ms", "frames_per_s", "frames_per_s_per_stream_mean",
          "average_unet_step_batch", "degraded_notices", "degraded_frames", "gateway_queue_ms_per_batch",
          "triton_ms_per_batch")


def test_the_quick_neural_streams_bench_writes_every_figure(tmp_path, capsys):
    assert main(["bench", "--renderer", "neural", "--streams", *map(str, STREAMS), "--quick",
                 "--neural-sizes", "32", "--processes", "1", "--out", str(tmp_path)]) == 0
    doc = json.loads((tmp_path / "bench-neural-streams-quick.json").read_text())
    table = (tmp_path / "bench-neural-streams-quick.md").read_text()
    assert "| pacing | streams |" in table and "not speed" in table
    assert doc["stand_in"] is True and doc["setup"]["size"] == 32
    levels = {(r["pacing"], r["streams"]): r for r in doc["levels"]}
    assert set(levels) == {(p, s) for p in ("asap", "realtime") for s in STREAMS}
    per_stream = levels["asap", 1]["frames"]
    assert per_stream > 8
    for (pacing, streams), r in levels.items():
        assert all(r[name] is not None for name in FIELDS), r
        assert r["streams_completed"] == streams and r["streams_failed"] == 0 and r["streams_out_of_order"] == 0
        assert r["frames"] == streams * per_stream and r["stand_in"]
        assert r["first_frame_p50_ms"] <= r["first_frame_p95_ms"]
        assert r["average_unet_step_batch"] >= 1
        if pacing == "asap":
            assert r["unet_step_requests"] == r["frames"]        # one request a frame at 1 step
            assert r["degraded_notices"] == r["degraded_frames"] == 0
        else:
            assert r["frames_per_s_per_stream_mean"] < 25 * 1.2    # paced at 25 fps
    assert levels["asap", 3]["average_unet_step_batch"] > 1         # Triton's batcher merged requests
