"""Small ONNX stand-ins for YOLOX-L and DWPose-LL with the real files' tensor names and shapes.

No weights can be downloaded here, so the tests, `make demo` and the benchmarks run the real loading
and batching code on these (`signstream models stand-in` writes them; their keypoints are a fixed
grid, not a pose):
    write_yolox_onnx(path, box=(x1, y1, x2, y2), score=0.9)   images (N,3,640,640) -> output (N,8400,85)
    write_dwpose_onnx(path, peaks)                              input (N,3,384,288) -> simcc_x (N,133,576),
                                                                                       simcc_y (N,133,768)
Each answers a fixed table, whatever the image, but reads its input (adds 0 * mean(input)) and
copies the table once per image, so the batch dimension ("batch", or a fixed int) follows the input.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
YOLOX_SIZE, YOLOX_CELLS, YOLOX_WIDTH = 640, 8400, 85
# First output row of each stride's cells in YOLOX's order (stride 8 first, each row-major).
YOLOX_STRIDE_OFFSET = {8: 0, 16: 80 * 80, 32: 80 * 80 + 40 * 40}
DWPOSE_W, DWPOSE_H, NUM_KEYPOINTS, SPLIT = 288, 384, 133, 2


def yolox_cell(cx: float, cy: float, stride: int) -> tuple[int, int, int]:
    """The output row of the stride-`stride` cell holding (cx, cy), and that cell's x, y."""
    n = YOLOX_SIZE // stride
    gx, gy = min(int(cx // stride), n - 1), min(int(cy // stride), n - 1)
    return YOLOX_STRIDE_OFFSET[stride] + gy * n + gx, gx, gy


def put_yolox_box(table: np.ndarray, box, score: float, stride: int = 32, cls: int = 0) -> int:
    """Write raw YOLOX outputs into `table` (8400, 85) so that the cell holding the box centre
    decodes to `box` (x1, y1, x2, y2, letterbox pixels) with objectness 1 and class `cls` = score.
    Returns the row used."""
    x1, y1, x2, y2 = (float(v) for v in box)
    cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1
    row, gx, gy = yolox_cell(cx, cy, stride)
    table[row, :] = 0.0
    table[row, 0:4] = (cx / stride - gx, cy / stride - gy, np.log(w / stride), np.log(h / stride))
    table[row, 4] = 1.0
    table[row, 5 + cls] = score
    return row


def yolox_table(box, score: float = 0.9, stride: int = 32) -> np.ndarray:
    """(8400, 85) float32: one person at `box`; every other cell scores 0 (dropped)."""
    table = np.zeros((YOLOX_CELLS, YOLOX_WIDTH), dtype=np.float32)
    put_yolox_box(table, box, score, stride)
    return table


def simcc_tables(peaks: np.ndarray, scores=1.0) -> tuple[np.ndarray, np.ndarray]:
    """peaks (133, 2) x, y in 288 x 384 input pixels -> simcc_x (133, 576), simcc_y (133, 768)
    float32 with one peak of height `scores` (scalar or (133,)) at bins round(2 * coordinate).
    A keypoint with a negative coordinate gets all-zero rows (decodes as missing)."""
    peaks = np.asarray(peaks, dtype=np.float64).reshape(NUM_KEYPOINTS, 2)
    heights = np.broadcast_to(np.asarray(scores, dtype=np.float32), (NUM_KEYPOINTS,))
    simcc_x = np.zeros((NUM_KEYPOINTS, DWPOSE_W * SPLIT), dtype=np.float32)
    simcc_y = np.zeros((NUM_KEYPOINTS, DWPOSE_H * SPLIT), dtype=np.float32)
    for k, (x, y) in enumerate(peaks):
        if x < 0 or y < 0:
            continue
        simcc_x[k, int(round(x * SPLIT))] = heights[k]
        simcc_y[k, int(round(y * SPLIT))] = heights[k]
    return simcc_x, simcc_y


def _constant_model(input_name: str, input_shape: tuple[int, ...], outputs: dict[str, np.ndarray],
                    batch: str | int) -> onnx.ModelProto:
    """input (batch, *input_shape) -> each output (batch, *table.shape) = table + 0 * mean(input)."""
    nodes = [
        helper.make_node("Shape", [input_name], ["input_shape"]),
        helper.make_node("Slice", ["input_shape", "zero", "one"], ["batch_size"]),
        helper.make_node("ReduceMean", [input_name], ["input_mean"], axes=list(range(1, len(input_shape) + 1)),
                         keepdims=1),
        helper.make_node("Mul", ["input_mean", "zero_f"], ["nothing"]),
    ]
    initializers = [
        numpy_helper.from_array(np.array([0], dtype=np.int64), "zero"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "one"),
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero_f"),
    ]
    graph_outputs = []
    for name, table in outputs.items():
        nodes += [
            helper.make_node("Constant", [], [f"{name}_table"], value=numpy_helper.from_array(table[None], f"{name}_v")),
            helper.make_node("Concat", ["batch_size", f"{name}_dims"], [f"{name}_shape"], axis=0),
            helper.make_node("Expand", [f"{name}_table", f"{name}_shape"], [f"{name}_copies"]),
            helper.make_node("Reshape", ["nothing", f"{name}_ones"], [f"{name}_nothing"]),
            helper.make_node("Add", [f"{name}_copies", f"{name}_nothing"], [name]),
        ]
        initializers += [
            numpy_helper.from_array(np.array(table.shape, dtype=np.int64), f"{name}_dims"),
            numpy_helper.from_array(np.array([-1] + [1] * table.ndim, dtype=np.int64), f"{name}_ones"),
        ]
        graph_outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, *table.shape]))
    graph = helper.make_graph(
        nodes, "signstream_stand_in",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [batch, *input_shape])],
        graph_outputs, initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="signstream-stand-in")
    onnx.checker.check_model(model, full_check=True)
    return model


def write_yolox_onnx(path: str | Path, box=(160.0, 64.0, 480.0, 608.0), score: float = 0.9,
                     stride: int = 32, batch: str | int = "batch") -> Path:
    """A YOLOX stand-in at `path`: one person `box` (letterbox pixels) with `score`, at the
    stride-`stride` cell holding its centre. `batch=1` fixes the batch dimension like some exports."""
    model = _constant_model("images", (3, YOLOX_SIZE, YOLOX_SIZE), {"output": yolox_table(box, score, stride)}, batch)
    onnx.save(model, str(path))
    return Path(path)


def write_dwpose_onnx(path: str | Path, peaks: np.ndarray, scores=1.0, batch: str | int = "batch") -> Path:
    """A DWPose stand-in at `path` whose SimCC outputs peak at `peaks` (133, 2), in 288 x 384
    input pixels (bins = 2 * coordinates), with heights `scores` (scalar or (133,))."""
    simcc_x, simcc_y = simcc_tables(peaks, scores)
    model = _constant_model("input", (3, DWPOSE_H, DWPOSE_W), {"simcc_x": simcc_x, "simcc_y": simcc_y}, batch)
    onnx.save(model, str(path))
    return Path(path)


# The stand-ins the Triton tests load: one person box and a grid of 133 peaks inside the crop, one
# of them (a right-hand point) missing.
TEST_BOX = (160.0, 64.0, 480.0, 608.0)
TEST_PEAKS = np.array([(20.0 + (k % 12) * 22.0, 20.0 + (k // 12) * 30.0) for k in range(NUM_KEYPOINTS)])
TEST_PEAKS[120] = (-1.0, -1.0)
YOLOX_FILE, DWPOSE_FILE = "yolox_l.onnx", "dw-ll_ucoco_384.onnx"


def write_test_weights(repository: str | Path) -> None:
    """Put the two stand-ins where a user puts the real files: <repo>/yolox/1, <repo>/dwpose/1."""
    repository = Path(repository)
    write_yolox_onnx(repository / "yolox" / "1" / YOLOX_FILE, box=TEST_BOX)
    write_dwpose_onnx(repository / "dwpose" / "1" / DWPOSE_FILE, TEST_PEAKS)


def write_identity_onnx(path: str | Path, name: str, shape: tuple[int, ...]) -> Path:
    """input `name` (batch, *shape) -> output "output" = input: the smallest model TensorRT can build."""
    graph = helper.make_graph(
        [helper.make_node("Identity", [name], ["output"])], "identity",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", *shape])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", *shape])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)]), str(path))
    return Path(path)
