"""Triton python-backend adapter: SimCC -> keypoints in image pixels (signstream.extract.wholebody)."""
from signstream.extract.triton_adapter import input_array, respond_each
from signstream.extract.wholebody import decode_batch


class TritonPythonModel:
    def execute(self, requests):
        return respond_each(requests, lambda r: decode_batch(
            input_array(r, "simcc_x"), input_array(r, "simcc_y"), input_array(r, "CENTER"), input_array(r, "SCALE")))
