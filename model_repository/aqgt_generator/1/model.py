"""Triton python-backend adapter: AQ-GT's exported generator on ONNX Runtime (signstream.extract.onnx_model).
Logs AQ-GT's licence (CC BY-NC 3.0) when it loads."""
import logging

from signstream.extract.triton_adapter import OnnxTritonModel
from signstream.gesture.aqgt_contract import GENERATOR_INPUTS, GENERATOR_OUTPUTS, LICENCE_NOTICE


class TritonPythonModel(OnnxTritonModel):
    inputs, outputs = tuple(GENERATOR_INPUTS), tuple(GENERATOR_OUTPUTS)

    def initialize(self, args):
        super().initialize(args)
        logging.getLogger(__name__).warning(LICENCE_NOTICE)
