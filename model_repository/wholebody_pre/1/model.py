"""Triton python-backend adapter: RGB image -> YOLOX letterbox (signstream.extract.wholebody)."""
from signstream.extract.triton_adapter import input_array, respond_each
from signstream.extract.wholebody import preprocess_batch


class TritonPythonModel:
    def execute(self, requests):
        return respond_each(requests, lambda r: preprocess_batch(input_array(r, "IMAGE")))
