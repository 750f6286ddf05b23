"""Triton python-backend adapter: raw audio window -> AQ-GT's audio inputs (signstream.gesture.aqgt_audio)."""
from signstream.extract.triton_adapter import input_array, respond_each
from signstream.gesture.aqgt_audio import preprocess_batch


class TritonPythonModel:
    def execute(self, requests):
        return respond_each(requests, lambda r: preprocess_batch(input_array(r, "AUDIO")))
