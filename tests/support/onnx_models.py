"""The YOLOX and DWPose stand-ins the tests load: `signstream.models.detectors` (`signstream models
stand-in` writes the same ones)."""
from signstream.models.detectors import *  # noqa: F401,F403
from signstream.models.detectors import (  # noqa: F401
    DWPOSE_FILE, NUM_KEYPOINTS, TEST_BOX, TEST_PEAKS, YOLOX_FILE, put_yolox_box, simcc_tables, write_dwpose_onnx,
    write_identity_onnx, write_test_weights, write_yolox_onnx, yolox_cell, yolox_table,
)
