"""The stand-in model repository (`signstream models stand-in`, random weights: the output is noise),
written by the CLI as a user would."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def write_standins(dest: Path) -> Path:
    """`signstream models stand-in DEST`, checked to say that its output is noise; DEST."""
    done = subprocess.run([sys.executable, "-m", "signstream", "models", "stand-in", str(dest)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "NOISE" in done.stdout and (dest / "STAND-IN.txt").is_file()
    return dest
