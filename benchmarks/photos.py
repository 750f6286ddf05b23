"""The real photos that ship in packages, as RGB uint8 arrays: each shows one person facing the camera.

The extraction tests and the extraction and quality benchmarks use them."""
from __future__ import annotations

import os

import cv2
import matplotlib
import numpy as np
import skimage.data


def grace_hopper() -> np.ndarray:
    path = os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")
    return cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)


def camera() -> np.ndarray:
    return cv2.cvtColor(skimage.data.camera(), cv2.COLOR_GRAY2RGB)


PHOTOS = {
    "astronaut": skimage.data.astronaut,
    "camera": camera,
    "grace_hopper": grace_hopper,
}
