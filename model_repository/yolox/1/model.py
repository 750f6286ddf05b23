"""Triton python-backend adapter: YOLOX-L on ONNX Runtime (signstream.extract.onnx_model)."""
from signstream.extract import yolox
from signstream.extract.triton_adapter import OnnxTritonModel


class TritonPythonModel(OnnxTritonModel):
    inputs, outputs = (yolox.INPUT_NAME,), (yolox.OUTPUT_NAME,)
