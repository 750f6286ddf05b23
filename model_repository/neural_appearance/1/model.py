"""Triton python-backend adapter: `neural_appearance` on ONNX Runtime (signstream.neural.contract.APPEARANCE)."""
from signstream.extract.triton_adapter import OnnxTritonModel
from signstream.neural.contract import APPEARANCE


class TritonPythonModel(OnnxTritonModel):
    inputs, outputs = APPEARANCE.input_names, APPEARANCE.output_names
