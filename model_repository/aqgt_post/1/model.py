"""Triton python-backend adapter: AQ-GT offsets -> 53 joint positions (signstream.gesture.aqgt_pose)."""
import json
from pathlib import Path

import numpy as np

from signstream.extract.triton_adapter import input_array, respond_each
from signstream.gesture.aqgt_contract import POSE_DIM
from signstream.gesture.aqgt_pose import rebuild_positions


class TritonPythonModel:
    def initialize(self, args):
        name = json.loads(args["model_config"])["parameters"]["weights"]["string_value"]
        mean = np.load(Path(args["model_repository"]) / str(args["model_version"]) / name, allow_pickle=False)
        if mean.size != POSE_DIM:
            raise ValueError(f"{name} must hold {POSE_DIM} floats (53 x 3 mean offsets), got shape {mean.shape}")
        self.mean = mean.reshape(POSE_DIM).astype(np.float32)

    def execute(self, requests):
        return respond_each(requests, lambda r: {"POSITIONS": rebuild_positions(input_array(r, "out_dir_vec"), self.mean)})
