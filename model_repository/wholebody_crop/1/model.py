"""Triton python-backend adapter: YOLOX output -> DWPose person crop (signstream.extract.wholebody)."""
from signstream.extract.triton_adapter import input_array, respond_each
from signstream.extract.wholebody import crop_batch


class TritonPythonModel:
    def execute(self, requests):
        return respond_each(requests, lambda r: crop_batch(
            input_array(r, "IMAGE"), input_array(r, "output"), input_array(r, "RATIO")))
