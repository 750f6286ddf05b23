"""Triton python-backend adapter for MediaPipe Holistic: the same extraction the library runs
in-process (`signstream.extract.holistic`), one graph per model instance."""
import numpy as np

from signstream.extract.holistic import HolisticExtractor
from signstream.extract.triton_adapter import input_array, respond_each


class TritonPythonModel:
    def initialize(self, args):
        self.holistic = HolisticExtractor(static_image_mode=True)

    def _infer(self, request):
        images = input_array(request, "IMAGE")   # (B, H, W, 3) RGB
        results = [self.holistic(image) for image in images]
        return {
            "POSE": np.stack([r.pose for r in results]),
            "FACE": np.stack([r.face for r in results]),
            "LEFT_HAND": np.stack([r.left_hand for r in results]),
            "RIGHT_HAND": np.stack([r.right_hand for r in results]),
        }

    def execute(self, requests):
        return respond_each(requests, self._infer)

    def finalize(self):
        self.holistic.close()
