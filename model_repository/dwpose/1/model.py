"""Triton python-backend adapter: DWPose-LL on ONNX Runtime (signstream.extract.onnx_model)."""
from signstream.extract import dwpose
from signstream.extract.triton_adapter import OnnxTritonModel


class TritonPythonModel(OnnxTritonModel):
    inputs, outputs = (dwpose.INPUT_NAME,), dwpose.OUTPUT_NAMES
