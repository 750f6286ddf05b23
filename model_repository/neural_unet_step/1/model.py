"""Triton python-backend adapter: `neural_unet_step` on ONNX Runtime (signstream.neural.contract.UNET_STEP)."""
from signstream.extract.triton_adapter import OnnxTritonModel
from signstream.neural.contract import UNET_STEP


class TritonPythonModel(OnnxTritonModel):
    inputs, outputs = UNET_STEP.input_names, UNET_STEP.output_names
