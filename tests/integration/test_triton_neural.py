"""The NEURAL renderer in the real Triton, on the stand-in repository `signstream models stand-in`
writes (random weights: the frames are noise; these tests prove serving behaviour, never pictures):
every model serves; `renderer` answers each frame at its pose's size; Triton's dynamic batcher merges
step requests of different streams and step indices; appearance runs once per stream; frames are
deterministic batched or alone; END frees a stream's state; streams never share state."""
from __future__ import annotations

import asyncio
import re
import urllib.request

import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from signstream.neural import contract as c
from signstream.neural.triton_client import frame_request
from signstream.triton.launcher import TritonOptions, TritonServer
from tests.support.renderer import render
from tests.support.standins import write_standins

SIZE = 64


@pytest.fixture(scope="module")
def standin_repository(tmp_path_factory):
    return write_standins(tmp_path_factory.mktemp("neural") / "standins")


@pytest.fixture(scope="module")
def triton(standin_repository):
    with TritonServer(TritonOptions(standin_repository, grpc_port=0, http_port=0, metrics_port=0)) as server:
        yield server


def _metric(triton, name: str, model: str) -> float:
    with urllib.request.urlopen(triton.metrics_url, timeout=10) as response:
        text = response.read().decode()
    m = re.search(rf'^{name}{{model="{model}",version="1"}} (\S+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


def _images(seed: int, height: int = SIZE, width: int = SIZE):
    rng = np.random.default_rng(seed)
    return ((rng.random((height, width, 3)) * 255).astype(np.uint8),
            (rng.random((height + 30, width + 10, 3)) * 255).astype(np.uint8))


def _render(triton, requests, end: list[int] = ()) -> tuple[dict[int, list[np.ndarray]], list[str]]:
    return render(triton.grpc_url, requests, end)


def test_every_model_serves_from_the_stand_in_repository(triton):
    ready = set(triton.ready_models())
    assert {"renderer", *c.NEURAL_MODELS, "yolox", "dwpose", "wholebody", "holistic"} <= ready


def test_the_served_configs_are_the_contract(triton):
    client = grpcclient.InferenceServerClient(triton.grpc_url)
    types = {"FP32": "TYPE_FP32", "UINT8": "TYPE_UINT8"}
    for name, contract in c.NEURAL_MODELS.items():
        config = client.get_model_config(name, as_json=True)["config"]
        assert [(t["name"], t["data_type"], [int(d) for d in t["dims"]]) for t in config["input"]] == \
               [(t.name, types[t.dtype], list(t.dims)) for t in contract.inputs]
        assert [(t["name"], t["data_type"], [int(d) for d in t["dims"]]) for t in config["output"]] == \
               [(t.name, types[t.dtype], list(t.dims)) for t in contract.outputs]
    assert client.get_model_config("renderer", as_json=True)["config"]["model_transaction_policy"]["decoupled"]


@pytest.mark.parametrize("height,width", [(SIZE, SIZE), (48, 96)])
def test_the_renderer_answers_each_frame_at_its_poses_size(triton, height, width):
    pose, ref = _images(1, height, width)
    frames, errors = _render(triton, [frame_request(100 + height, 0, pose, ref, seed=3),
                                      frame_request(100 + height, 1, pose)], end=[100 + height])
    assert not errors, errors
    assert sorted(frames) == [0, 1] and all(f[0].shape == (height, width, 3) for f in frames.values())


def test_steps_of_many_streams_batch_together_and_appearance_runs_once_per_stream(triton):
    streams, frames_each, steps = 4, 4, 2
    count, execs = (_metric(triton, n, "neural_unet_step") for n in ("nv_inference_count", "nv_inference_exec_count"))
    appearance = _metric(triton, "nv_inference_count", "neural_appearance")
    requests = []
    for s in range(streams):
        pose, ref = _images(10 + s)
        requests += [frame_request(200 + s, i, pose, ref if i == 0 else None, seed=s + 1, steps=steps)
                     for i in range(frames_each)]
    frames, errors = _render(triton, requests, end=[200 + s for s in range(streams)])
    assert not errors, errors
    ran = _metric(triton, "nv_inference_count", "neural_unet_step") - count
    batches = _metric(triton, "nv_inference_exec_count", "neural_unet_step") - execs
    assert ran == streams * frames_each * steps
    assert batches < ran, f"{ran} step requests ran in {batches} executions: nothing was batched"
    assert _metric(triton, "nv_inference_count", "neural_appearance") - appearance == streams


def test_frames_are_the_same_batched_or_alone_and_streams_share_nothing(triton):
    poses = [_images(20 + i) for i in range(3)]

    def stream(sid, pose, ref, seed):
        return [frame_request(sid, 0, pose, ref, seed=seed, steps=4), frame_request(sid, 1, pose, steps=4)]

    alone = [_render(triton, stream(300 + i, p, r, 9), end=[300 + i])[0][0][0] for i, (p, r) in enumerate(poses)]
    together = []
    for i, (p, r) in enumerate(poses):
        together += stream(310 + i, p, r, 9)
    frames, errors = _render(triton, together, end=[310 + i for i in range(3)])
    assert not errors, errors
    # Frames come back by index; each index holds one frame per stream, in no fixed order: match them up.
    batched = frames[0]
    for image in alone:
        assert any(np.array_equal(image, b) for b in batched)
    assert not np.array_equal(alone[0], alone[1])
    reseeded = _render(triton, [frame_request(320, 0, *poses[0], seed=10, steps=4)], end=[320])[0][0][0]
    assert not np.array_equal(reseeded, alone[0])


def test_end_frees_the_stream_and_a_later_frame_says_to_send_the_reference(triton):
    pose, ref = _images(30)
    frames, errors = _render(triton, [frame_request(400, 0, pose, ref, seed=1)])
    assert 0 in frames and not errors
    _render(triton, [], end=[400])
    frames, errors = _render(triton, [frame_request(400, 1, pose)])
    assert not frames and len(errors) == 1 and "send REFERENCE with its first frame" in errors[0]


def test_pose2img_gives_a_frame_at_the_poses_size(triton):
    pose, _ = _images(40, 48, 80)
    client = grpcclient.InferenceServerClient(triton.grpc_url)
    inputs = []
    for name in ("POSE", "REFERENCE"):
        tensor = grpcclient.InferInput(name, [1, 48, 80, 3], "UINT8")
        tensor.set_data_from_numpy(pose[None])
        inputs.append(tensor)
    image = client.infer("pose2img", inputs).as_numpy("IMAGE")
    assert image.shape == (1, 48, 80, 3) and image.dtype == np.uint8


def test_the_neural_benchmark_measures_batching_and_per_stream_cost(triton):
    from signstream.bench import neural

    rows = neural.per_model(triton.grpc_url, [64], [1, 2], repeats=1)
    assert {(r["model"], r["batch"]) for r in rows} == {(m, b) for m in c.NEURAL_MODELS for b in (1, 2)}
    assert all(r["ms"] > 0 and r["frames_per_s"] > 0 for r in rows)
    (row,) = neural.end_to_end(triton.grpc_url, triton.metrics_url, [3], [2], [64], frames=2)
    assert row["frames"] == 6 and row["errors"] == 0 and row["appearance_runs"] == 3
    assert row["average_step_batch"] is not None and row["average_step_batch"] >= 1
    assert neural.cached_bytes_per_stream(64) == 4 * (77 * 768 + 64 * 320 + 4 * 64)


def _neural_stream(triton, frames, reference, seed, in_flight=None, stream_id=None):
    """Every frame through the rendering seam (FrameWriter + NeuralRenderer + RAW_RGB), and the renderer."""
    from concurrent.futures import ThreadPoolExecutor

    from signstream.frame_writer import FrameWriter
    from signstream.render.encoder import StillEncoder
    from signstream.render.neural import NeuralRenderer

    async def run():
        renderer = NeuralRenderer(SIZE, SIZE, url=triton.grpc_url, reference=reference, seed=seed, steps=2,
                                  stream_id=stream_id)
        if in_flight is not None:
            renderer.max_batch = in_flight
        with ThreadPoolExecutor(2) as pool:
            writer = FrameWriter(renderer, StillEncoder("raw_rgb"), pool)
            try:
                return [np.frombuffer(b, np.uint8).reshape(SIZE, SIZE, 3) async for b in writer.images(frames)], renderer
            finally:
                writer.close()
                await asyncio.sleep(0.3)            # the END goes out
    return asyncio.run(asyncio.wait_for(run(), 120))


def test_a_neural_stream_through_the_rendering_seam_keeps_index_order_and_never_mixes_streams(triton):
    from signstream.lexicon.demo import demo_signs

    frames = demo_signs()[0].frames[:10].astype(np.float32)
    _, ref_a = _images(50)
    _, ref_b = _images(51)
    one_by_one, _ = _neural_stream(triton, frames, ref_a, seed=3, in_flight=1)
    assert len(one_by_one) == 10 and not all(np.array_equal(one_by_one[0], f) for f in one_by_one)

    async def both():
        return await asyncio.gather(asyncio.to_thread(_neural_stream, triton, frames, ref_a, 3),
                                    asyncio.to_thread(_neural_stream, triton, frames, ref_b, 3))

    (a, _), (b, _) = asyncio.run(both())
    assert all(np.array_equal(x, y) for x, y in zip(a, one_by_one))      # 4 in flight: the same frames, in order
    assert not any(np.array_equal(x, y) for x, y in zip(a, b))           # another reference: other frames


def test_closing_a_neural_stream_ends_it_in_triton(triton):
    from signstream.lexicon.demo import demo_signs

    frames = demo_signs()[0].frames[:3].astype(np.float32)
    _, ref = _images(52)
    images, renderer = _neural_stream(triton, frames, ref, seed=1, stream_id=777)
    assert len(images) == 3
    pose, _ = _images(53)
    got, errors = _render(triton, [frame_request(777, 3, pose)])
    assert not got and "send REFERENCE with its first frame" in errors[0]
