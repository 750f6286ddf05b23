"""Triton python-backend adapter: `neural_decode` on ONNX Runtime (signstream.neural.contract.DECODE)."""
from signstream.extract.triton_adapter import OnnxTritonModel
from signstream.neural.contract import DECODE


class TritonPythonModel(OnnxTritonModel):
    inputs, outputs = DECODE.input_names, DECODE.output_names
