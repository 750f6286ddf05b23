"""`signstream ingest` SIGKILLed mid-run, as a real subprocess, then run again.

Whatever the kill point, the lexicon folder as left is usable (a signs.json opens and every sign it
lists loads; no half-written file under a final name), and a second, uninterrupted run exits 0,
redoes nothing that was finished (committed to the manifest) before the kill, and leaves a lexicon
identical, file for file, to an uninterrupted run's (`clean_lexicon`).

Kill points: while clips are written (found by polling the folder: a clip appears, the manifest
holds two signs), and inside the commit. The commit's writes are a few milliseconds apart, too close
to hit by polling, so those runs go through a tiny wrapper around the same CLI that stops the process
(SIGSTOP) at an exact point, halfway through writing signs.json's temp file, or just before the
manifest's rename; the test then SIGKILLs the stopped process. One ingest here takes ~3-4 s.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from signstream.config import Settings
from signstream.ingest.state import MANIFEST_KEY
from signstream.lexicon import SignTable, decode_clip, open_lexicon
from signstream.lexicon.table import TABLE_KEY
from tests.support.ingest_media import CLIP_LENGTHS, tree_bytes

RUN_TIMEOUT_S = 120.0          # one ingest subprocess, start to finish, on a loaded 2-core machine
POLL_S = 0.002

# Runs the real CLI, but stops itself (SIGSTOP) at one exact store write, for the test to SIGKILL:
# PAUSE_AT=<file name>:<n-th write of it>:<half-written | before-rename>.
PAUSING_CLI = r"""
import os, signal, sys, threading

target, nth, phase = os.environ["PAUSE_AT"].split(":")
writes = 0
real_fdopen, real_replace = os.fdopen, os.replace


def pause_at_nth():
    global writes
    writes += 1
    if writes == int(nth):
        # To this thread: it stops before it runs another line. (os.kill(getpid()) is taken by the
        # main thread, and this one could finish the write before the whole process is stopped.)
        signal.pthread_kill(threading.get_ident(), signal.SIGSTOP)


class HalfThenPause:
    # The file LocalStore.put writes (a temp file): half the bytes go to disk, then the process stops.
    def __init__(self, handle):
        self._handle = handle

    def write(self, data):
        self._handle.write(data[:len(data) // 2])
        self._handle.flush()
        pause_at_nth()
        return self._handle.write(data[len(data) // 2:]) + len(data) // 2

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._handle.__exit__(*exc)


def fdopen(fd, *args, **kwargs):
    handle = real_fdopen(fd, *args, **kwargs)
    name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
    written = name == target or name.startswith(f".{target}.")       # the file, or its temp file
    return HalfThenPause(handle) if phase == "half-written" and written else handle


def replace(src, dst, *args, **kwargs):
    if phase == "before-rename" and os.path.basename(dst) == target:
        pause_at_nth()
    return real_replace(src, dst, *args, **kwargs)


os.fdopen, os.replace = fdopen, replace
from signstream.cli import main
sys.exit(main(sys.argv[1:]))
"""


@dataclass(frozen=True)
class KillPoint:
    name: str
    extra_args: tuple[str, ...] = ()          # e.g. ("--commit-every", "1")
    pause_at: str = ""                        # PAUSE_AT for PAUSING_CLI; "" = plain CLI, poll the folder
    committed: tuple[int, int] = (0, 4)       # how many signs the manifest may hold at the kill (min, max)


def clip_files(folder: Path) -> list[Path]:
    return [p for p in (folder / "clips").glob("*.npz")] if (folder / "clips").is_dir() else []


def manifest_signs(folder: Path) -> set[str]:
    path = folder / MANIFEST_KEY
    return set(json.loads(path.read_text())["signs"]) if path.is_file() else set()


# When a polled run is killed: as soon as this is true of the lexicon folder.
TRIGGERS = {
    "first-clip-appears": lambda folder: len(clip_files(folder)) >= 1,
    "midway-two-signs-committed": lambda folder: len(manifest_signs(folder)) >= 2,
    "uncommitted-batch-three-clips": lambda folder: len(clip_files(folder)) >= 3,
}

KILL_POINTS = [
    KillPoint("first-clip-appears", ("--commit-every", "1"), committed=(0, 1)),
    KillPoint("midway-two-signs-committed", ("--commit-every", "1"), committed=(2, 3)),
    # The default --commit-every 25: nothing is committed before the end, so everything is redone.
    KillPoint("uncommitted-batch-three-clips", committed=(0, 0)),
    # hello committed; the commit of thank-you stops with half of signs.json's temp file written.
    KillPoint("signs-json-half-written", ("--commit-every", "1"), "signs.json:2:half-written", (1, 1)),
    # hello committed; thank-you in signs.json, and its manifest record about to be renamed in.
    KillPoint("manifest-before-rename", ("--commit-every", "1"), "manifest.json:2:before-rename", (1, 1)),
]


def ingest_argv(video_dir: Path, lexicon: Path) -> list[str]:
    """The clean_lexicon fixture's command."""
    return ["ingest", "--videos", str(video_dir), "--table", "signs.csv", "--lexicon", str(lexicon), "--no-progress"]


def start(argv: list[str], cwd: Path, log_name: str, pause_at: str = "") -> subprocess.Popen:
    """`signstream ARGV` in a subprocess (through PAUSING_CLI if pause_at), output to files in cwd."""
    env = {**os.environ, "PAUSE_AT": pause_at}
    command = [sys.executable, "-c", PAUSING_CLI, *argv] if pause_at else [sys.executable, "-m", "signstream", *argv]
    with open(cwd / f"{log_name}.out", "wb") as out, open(cwd / f"{log_name}.err", "wb") as err:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)


def is_stopped(process: subprocess.Popen) -> bool:
    """The process is stopped by a signal (state T in /proc/<pid>/stat)."""
    try:
        stat = Path(f"/proc/{process.pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] in ("T", "t")


def kill_when(process: subprocess.Popen, ready, what: str, logs: Path) -> None:
    """SIGKILL the process as soon as ready() holds; fail if it ends or times out first."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not ready():
        if process.poll() is not None:
            pytest.fail(f"ingest exited ({process.returncode}) before the kill point {what}; stderr:\n"
                        f"{(logs / 'killed.err').read_text(errors='replace')[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"the kill point {what} was not reached within {RUN_TIMEOUT_S:.0f} s")
        time.sleep(POLL_S)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def assert_usable(folder: Path) -> None:
    """What anyone may rely on at any moment: every file under a final name is complete, signs.json
    opens as a lexicon and every sign in it loads, the manifest only claims signs.json's signs."""
    for path in folder.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            if path.suffix == ".npz":
                decode_clip(path.read_bytes(), path.name)               # raises CorruptClip if cut short
            elif path.suffix == ".json":
                json.loads(path.read_text())
        elif path.is_file():
            assert re.fullmatch(r"\..+\.partial", path.name), f"unexpected hidden file {path}"
    if not (folder / TABLE_KEY).is_file():
        assert manifest_signs(folder) == set()
        return
    lexicon = open_lexicon(Settings(lexicon=str(folder)))
    for sign_id in lexicon.list_signs():
        assert lexicon.get_clip(sign_id).frames.shape[0] == CLIP_LENGTHS[sign_id]
    table = SignTable.from_json_bytes((folder / TABLE_KEY).read_bytes())
    assert table.rejected == []
    records = json.loads((folder / MANIFEST_KEY).read_text())["signs"] if (folder / MANIFEST_KEY).is_file() else {}
    for sign_id, record in records.items():
        assert table.entries[sign_id].clip_key == record["clip_key"]


def summary(stdout: str) -> tuple[int, int, int]:
    """(built, up to date, failed) from the CLI's summary line."""
    match = re.search(r"ingest: (\d+) signs built, (\d+) up to date, (\d+) failed", stdout)
    assert match, stdout
    return tuple(int(n) for n in match.groups())


@pytest.mark.parametrize("point", KILL_POINTS, ids=[p.name for p in KILL_POINTS])
def test_sigkill_mid_ingest_loses_nothing_and_a_rerun_finishes_it_exactly(video_dir, clean_lexicon, tmp_path, point):
    lexicon = tmp_path / "lexicon"
    process = start(ingest_argv(video_dir, lexicon) + list(point.extra_args), tmp_path, "killed", point.pause_at)
    try:
        if point.pause_at:
            kill_when(process, lambda: is_stopped(process), point.name, tmp_path)
        else:
            kill_when(process, lambda: TRIGGERS[point.name](lexicon), point.name, tmp_path)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)

    assert_usable(lexicon)
    finished = manifest_signs(lexicon)
    low, high = point.committed
    assert low <= len(finished) <= high, (point.name, finished)
    if point.name == "signs-json-half-written":          # the half file is there, but only as a temp file
        assert [p.name for p in lexicon.glob(".signs.json.*.partial")], sorted(lexicon.iterdir())
        assert set(SignTable.from_json_bytes((lexicon / TABLE_KEY).read_bytes()).entries) == {"hello"}
    if point.name == "manifest-before-rename":           # signs.json is one sign ahead of the manifest
        assert set(open_lexicon(Settings(lexicon=str(lexicon))).list_signs()) == {"hello", "thank-you"}

    rerun = start(ingest_argv(video_dir, lexicon), tmp_path, "rerun")
    try:
        assert rerun.wait(timeout=RUN_TIMEOUT_S) == 0, (tmp_path / "rerun.err").read_text(errors="replace")[-3000:]
    finally:
        if rerun.poll() is None:
            rerun.kill()
            rerun.wait(timeout=30)
    built, up_to_date, failed = summary((tmp_path / "rerun.out").read_text())
    assert (built, up_to_date, failed) == (len(CLIP_LENGTHS) - len(finished), len(finished), 0), point.name
    assert tree_bytes(lexicon) == tree_bytes(clean_lexicon), point.name
