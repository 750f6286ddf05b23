"""Triton python-backend adapter: `pose2img` on ONNX Runtime (signstream.neural.contract.POSE2IMG)."""
from signstream.extract.triton_adapter import OnnxTritonModel
from signstream.neural.contract import POSE2IMG


class TritonPythonModel(OnnxTritonModel):
    inputs, outputs = POSE2IMG.input_names, POSE2IMG.output_names
