"""`signstream triton` as users run it: ports from flags, plain tritonclient, perf_analyzer, /metrics,
`signstream extract --triton-url`, and a clean stop on SIGTERM that leaves no process behind."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from signstream.clients.process import SignstreamProcess
from signstream.net import free_port
from tests.support.photos import PHOTOS
from tests.support.processes import started

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 180


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def triton_cli(triton_repository, tmp_path_factory):
    """`python -m signstream triton --grpc-port P --http-port Q --metrics-port R` in the foreground."""
    ports = {"grpc": free_port(), "http": free_port(), "metrics": free_port()}
    log_file = tmp_path_factory.mktemp("triton-cli") / "triton.log"
    process = SignstreamProcess(
        ["triton", "--model-repository", str(triton_repository), "--grpc-port", str(ports["grpc"]),
         "--http-port", str(ports["http"]), "--metrics-port", str(ports["metrics"]),
         "--triton-log-file", str(log_file), "--quiet"], "Triton ready")
    with started(process, READY_TIMEOUT_S) as cli:
        pid = int(re.search(r"pid (\d+)", cli.ready_line()).group(1))
        yield {"cli": cli, "ports": ports, "triton_pid": pid, "log_file": log_file}


def test_plain_tritonclient_gets_holistic_on_the_flagged_port(triton_cli):
    client = grpcclient.InferenceServerClient(f"127.0.0.1:{triton_cli['ports']['grpc']}")
    assert client.is_model_ready("holistic")
    image = PHOTOS["camera"]()[None]
    tensor = grpcclient.InferInput("IMAGE", list(image.shape), "UINT8")
    tensor.set_data_from_numpy(image)
    pose = client.infer("holistic", [tensor]).as_numpy("POSE")
    assert pose.shape == (1, 33, 4) and np.all(pose[0, [0, 11, 12], 3] > 0.5)   # nose and shoulders seen
    with urllib.request.urlopen(f"http://127.0.0.1:{triton_cli['ports']['http']}/v2/health/ready", timeout=5) as r:
        assert r.status == 200


def test_perf_analyzer_runs_against_it_and_metrics_count_the_requests(triton_cli, tmp_path):
    csv = tmp_path / "perf.csv"
    url = f"127.0.0.1:{triton_cli['ports']['grpc']}"
    done = subprocess.run([sys.executable, "-m", "signstream.bench.triton_perf", "--url", url, "--concurrency", "1",
                           "--requests-per-window", "3", "--csv", str(csv)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    header, row = csv.read_text().splitlines()[:2]
    assert header.startswith("Concurrency,Inferences/Second")
    assert float(row.split(",")[1]) > 0
    metrics_url = f"http://127.0.0.1:{triton_cli['ports']['metrics']}/metrics"
    with urllib.request.urlopen(metrics_url, timeout=10) as response:
        text = response.read().decode()
    count = next(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
                 if l.startswith('nv_inference_request_success{model="holistic"'))
    assert count >= 9          # perf_analyzer's windows of 3 requests, at least three of them


def test_extract_through_triton_prints_seed_keypoints_and_draws_them(triton_cli, tmp_path):
    image = tmp_path / "grace.png"
    cv2.imwrite(str(image), cv2.cvtColor(PHOTOS["grace_hopper"](), cv2.COLOR_RGB2BGR))
    drawing = tmp_path / "drawn.png"
    done = subprocess.run([sys.executable, "-m", "signstream", "extract", str(image), "--triton-url",
                           f"127.0.0.1:{triton_cli['ports']['grpc']}", "--wholebody", "off", "--draw", str(drawing)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["person"] is True and document["width"] == 512 and document["height"] == 600
    keypoints = document["keypoints"]
    assert np.array(keypoints["bodies"]["candidate"]).shape == (18, 2)
    assert np.array(keypoints["faces"]).shape == (1, 68, 2) and np.array(keypoints["face_mp"]).shape == (1434,)
    drawn = cv2.imread(str(drawing))
    assert drawn.shape == (600, 512, 3)
    assert not np.array_equal(drawn, cv2.imread(str(image)))     # the skeleton is on it


def test_sigterm_stops_triton_cleanly_and_leaves_nothing_running(triton_cli):
    cli = triton_cli["cli"]
    assert cli.stop(timeout=90) == 0, cli.output
    deadline = time.monotonic() + 10
    while _alive(triton_cli["triton_pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(triton_cli["triton_pid"])
    with pytest.raises(ProcessLookupError):
        os.killpg(triton_cli["triton_pid"], 0)      # nor any python stub of its group
    assert "Triton stopped" in cli.output


def _processes_with(marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def test_sigterm_while_triton_starts_stops_it_at_once(triton_repository, tmp_path):
    grpc_port = free_port()
    log_file = tmp_path / "triton.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "signstream", "triton", "--model-repository", str(triton_repository),
         "--grpc-port", str(grpc_port), "--http-port", str(free_port()), "--metrics-port", str(free_port()),
         "--triton-log-file", str(log_file), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not (log_file.exists() and log_file.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.05)                      # tritonserver has been launched and is loading models
        assert _processes_with(f"--grpc-port={grpc_port}"), "tritonserver should be starting"
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0]
        assert process.returncode == 130 and "Triton ready" not in output, output
        deadline = time.monotonic() + 10
        while _processes_with(f"--grpc-port={grpc_port}") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _processes_with(f"--grpc-port={grpc_port}")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
