"""The 1-minute soak CI runs: `signstream bench --soak 1` as users run it (it starts its own `serve`,
Triton included), and every one of its checks must pass: no lost or duplicated frame in a completed
stream and the formula's count, each bad input's exact outcome, health SERVING and a fresh stream
afterwards, the open-streams gauge at 0, RSS and open FDs back within 5 % of the start."""
from __future__ import annotations

import json
import subprocess
import sys

from signstream.bench.soak_cases import BEHAVIOURS

SOAK_TIMEOUT_S = 280          # server start ~10 s, warm-up 15 s, soak 60 s, settle and stop: ~100 s


def test_a_one_minute_soak_passes_every_check(tmp_path):
    # cwd=tmp_path: the bench writes the server's logs to ./logs
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "signstream", "bench", "--soak", "1", "--seed", "7", "--size", "64",
         "--processes", "2", "--workers", "1", "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=SOAK_TIMEOUT_S)
    doc = json.loads((out / "soak.json").read_text()) if (out / "soak.json").exists() else None
    failed = [c for c in (doc or {}).get("checks", []) if c["met"] is not True]
    assert done.returncode == 0 and doc and not failed, (failed, done.stdout[-4000:], done.stderr[-3000:])

    assert doc["passed"] and doc["setup"]["minutes"] == 1 and doc["setup"]["seed"] == 7
    assert doc["load"]["minutes"] >= 1 and doc["load"]["frames"] > 0
    assert set(doc["outcomes"]) == set(BEHAVIOURS)
    assert all(v["streams"] > 0 for v in doc["outcomes"].values())
    memory = doc["memory"]
    assert memory["rss_start_mib"] > 0 and memory["fds_start"] > 0 and memory["during"]["rss_mib"]
    assert "Soak passed." in (out / "soak.md").read_text()
    assert "| completed streams: frame indexes exactly 0..n-1 (no gap, no duplicate) | 0 |" in done.stdout
    assert "Task was destroyed" not in done.stderr and "Traceback" not in done.stderr, done.stderr[-3000:]
