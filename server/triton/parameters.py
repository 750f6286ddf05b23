"""The `parameters` SignStream's model configs carry, and where the weights they name come from.

They are the model repository's contract: `config.pbtxt` names them, the launcher reads and fills
them in (`repository`), the python models read them at initialize() (`extract.onnx_model`) and
clients read them back from Triton (`extract.remote`). No imports beyond the standard library, so
the models that run inside Triton can use them.
"""
from __future__ import annotations

from pathlib import Path

WEIGHTS_PARAMETER = "weights"              # Triton config parameter naming the .onnx file
THREADS_PARAMETER = "intra_op_threads"     # ONNX Runtime threads inside one operator
PART_OF_PARAMETER = "part_of"    # a step model only its ensemble uses: left out with it
STAND_IN_PARAMETER = "stand_in"   # "true": the model's weights are random stand-ins (its output is noise)
DELAY_PARAMETER = "delay_ms"      # added to each execution of an ONNX model: simulates a slower device (tests)
NEEDS_PARAMETER = "needs"        # a BLS model's comma-separated models: left out unless they all load
DIGEST_PARAMETER = "weights_sha256"   # written at start-up: clients put it in their extractor version

# Where the weights that cannot ship with SignStream come from (README, "Adding real weights").
WEIGHT_SOURCES = {
    "yolox_l.onnx": "DWPose's YOLOX-L detector: IDEA-Research/DWPose README (also on Hugging Face, "
                    "yzd-v/DWPose; the same file is Megvii-BaseDetection/YOLOX release 0.1.1rc0)",
    "dw-ll_ucoco_384.onnx": "DWPose-LL wholebody: IDEA-Research/DWPose README (also on Hugging Face, "
                            "yzd-v/DWPose)",
    **{f"{name}.onnx": "your local diffusers folders with `signstream renderer export` (README, 'Real NEURAL "
                       "weights'; `signstream models stand-in DIR` writes random-weight stand-ins: noise)"
       for name in ("neural_appearance", "neural_unet_step", "neural_decode", "pose2img")},
    **{name: "your own AQ-GT checkout with deploy/aqgt/export_aqgt.py (README, 'The aqgt source'; AQ-GT is "
             "CC BY-NC 3.0, non-commercial)" for name in ("aqgt_generator.onnx", "aqgt_mean_dir_vec.npy")},
}


def missing_weights_message(path: Path) -> str:
    source = WEIGHT_SOURCES.get(path.name, "the model's publisher")
    return f"weights file {path} not found: get {path.name} from {source} and put it at {path}"
