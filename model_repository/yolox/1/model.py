"""Triton python-backend adapter: YOLOX-L on ONNX Runtime (signstream.extract.onnx_model).
Queued requests run as one session call; a bad request gets its own error."""
from signstream.extract import yolox
from signstream.extract.onnx_model import OnnxBatchModel, raise_or_return
from signstream.extract.triton_adapter import input_array, respond_each


class TritonPythonModel:
    def initialize(self, args):
        self.model = OnnxBatchModel.from_triton_args(args, inputs=(yolox.INPUT_NAME,), outputs=(yolox.OUTPUT_NAME,))

    def execute(self, requests):
        batches = [{name: input_array(r, name) for name in self.model.input_names} for r in requests]
        return respond_each(self.model.run_batches(batches), raise_or_return)
