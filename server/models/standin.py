"""`signstream models stand-in DIR`: a copy of the model repository with random-weight stand-ins for
every model whose weights cannot ship (YOLOX, DWPose and the NEURAL models), so that Triton serves
every model here. Stand-ins have the real files' tensor names and shapes; what they output is noise
(YOLOX always sees one person, DWPose a fixed grid of keypoints, the neural models random textures),
and the copy says so in STAND-IN.txt.

    write_standin_repository(source=Path("model_repository"), dest=Path("standin_models"))
"""
from __future__ import annotations

import shutil
from pathlib import Path

from signstream.models.detectors import write_test_weights
from signstream.models.neural import write_neural_standins
from signstream.triton.parameters import STAND_IN_PARAMETER

NOTICE = """Random-weight stand-ins (signstream models stand-in): every model here serves, with the real
tensor names and shapes, but the YOLOX, DWPose and NEURAL models' outputs are noise: YOLOX sees one
fixed person box, DWPose a fixed grid of keypoints, the neural renderer paints random textures.
Use them to test serving, batching and streaming, never to judge pictures or keypoints.
Real weights: README, "Adding real weights" and "Real NEURAL weights".
"""


def copy_repository(source: Path, dest: Path) -> None:
    """`source`'s configs and model code, without weight files, as `dest` (which may be an empty folder)."""
    source = Path(source)
    if not any(source.glob("*/config.pbtxt")):
        raise FileNotFoundError(f"{source} is not a model repository (no */config.pbtxt)")
    shutil.copytree(source, dest, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.onnx", "*.onnx.data", "*.plan", "*.pyc"))


def write_standin_repository(source: Path, dest: Path, overwrite: bool = False) -> list[Path]:
    """Copy `source` (configs and model code, not weight files) to `dest` and write the stand-ins;
    the weight files written."""
    dest = Path(dest)
    if dest.exists():
        if not overwrite:
            raise FileExistsError(f"{dest} exists: pick a new folder or pass --overwrite")
        shutil.rmtree(dest)
    copy_repository(source, dest)
    written = []
    write_test_weights(dest)
    written += [dest / "yolox" / "1" / "yolox_l.onnx", dest / "dwpose" / "1" / "dw-ll_ucoco_384.onnx"]
    written += write_neural_standins(dest)
    for weights in written:
        mark_stand_in(weights.parent.parent)
    (dest / "STAND-IN.txt").write_text(NOTICE, encoding="utf-8")
    return written


def mark_stand_in(model_dir: Path) -> None:
    """Say in the model's configs (CPU and GPU) that its weights are stand-ins: clients that read the
    config (the gateway, at a NEURAL stream's start) tell their users the output is noise."""
    for config in [model_dir / "config.pbtxt", *sorted((model_dir / "configs").glob("*.pbtxt"))]:
        if config.is_file() and STAND_IN_PARAMETER not in config.read_text(encoding="utf-8"):
            with config.open("a", encoding="utf-8") as out:
                out.write(f'# written by `signstream models stand-in`: random weights, the output is noise\n'
                          f'parameters {{ key: "{STAND_IN_PARAMETER}" value {{ string_value: "true" }} }}\n')
