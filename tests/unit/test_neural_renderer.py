"""The NEURAL renderer's logic without Triton: the contract's stand-in models on ONNX Runtime, driven
by the same orchestrator the `renderer` model runs, and the folded sampler update against NumPy.
Stand-in output is noise: these tests prove behaviour (shapes, determinism, conditioning, state),
never pictures."""
from __future__ import annotations

import asyncio

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from signstream.errors import FrameDropped, InvalidArgument, Overloaded
from signstream.models import neural
from signstream.neural import contract as c
from signstream.neural.cache import StreamCache
from signstream.neural.orchestrator import NeuralOrchestrator
from tests.support.renderer import Direct

SIZE = 64


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    root = tmp_path_factory.mktemp("neural")
    return {p.parent.parent.name: ort.InferenceSession(str(p)) for p in neural.write_neural_standins(root)}


def _images(seed: int, height: int = SIZE, width: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return ((rng.random((height, width, 3)) * 255).astype(np.uint8),
            (rng.random((height + 17, width + 9, 3)) * 255).astype(np.uint8))


def _render(sessions, jobs, cache=None):
    """Run `jobs(renderer)` (a coroutine function) on a fresh orchestrator; (its result, the infer)."""
    infer = Direct(sessions)
    renderer = NeuralOrchestrator(infer, cache or StreamCache())
    return asyncio.run(jobs(renderer)), infer, renderer


def test_the_contract_is_what_the_stand_ins_take_and_give(sessions):
    for name, contract in c.NEURAL_MODELS.items():
        session = sessions[name]
        assert tuple(i.name for i in session.get_inputs()) == contract.input_names
        assert tuple(o.name for o in session.get_outputs()) == contract.output_names
        for t, arg in zip(contract.inputs, session.get_inputs()):
            assert len(arg.shape) == len(t.dims) + 1
            assert [d for d in arg.shape[1:] if isinstance(d, int)] == [d for d in t.dims if d > 0]
    model = onnx.load_model_from_string(neural.unet_step_model(np.random.default_rng(0)).SerializeToString())
    assert "noise" in model.doc_string


def test_lcm_schedule_matches_the_published_timesteps_and_ends_on_the_clean_latent():
    assert [c.lcm_timesteps(s) for s in c.STEPS_ALLOWED] == [[999], [999, 499], [999, 759, 499, 259]]
    timesteps, sched = c.schedule(4)
    assert timesteps.shape == (4, 1) and sched.shape == (4, c.SCHED_SIZE)
    assert np.allclose(sched[:, 0] ** 2 + sched[:, 1] ** 2, 1, atol=1e-6)          # √ᾱ² + √(1−ᾱ)² = 1
    assert np.allclose(sched[:-1, 4], sched[1:, 0])                                 # prev = the next step's t
    assert sched[-1, 4] == 1 and sched[-1, 5] == 0
    with pytest.raises(ValueError, match="steps must be one of 1, 2, 4"):
        c.lcm_timesteps(3)


def test_the_folded_sampler_update_equals_the_numpy_reference():
    g = neural.Graph(np.random.default_rng(0))
    neural.sampler_update(g, "sample", "eps", "sched")
    graph = helper.make_graph(g.nodes, "update", [
        helper.make_tensor_value_info("sample", TensorProto.FLOAT, ["b", 4, "h", "w"]),
        helper.make_tensor_value_info("eps", TensorProto.FLOAT, ["b", 4, "h", "w"]),
        helper.make_tensor_value_info("sched", TensorProto.FLOAT, ["b", c.SCHED_SIZE])],
        [helper.make_tensor_value_info("x_prev", TensorProto.FLOAT, ["b", 4, "h", "w"])], initializer=g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", neural.OPSET)])
    session = ort.InferenceSession(model.SerializeToString())
    rng = np.random.default_rng(1)
    sample, eps = (rng.standard_normal((3, 4, 8, 6)).astype(np.float32) for _ in range(2))
    sched = np.concatenate([c.schedule(4)[1][:2], c.schedule(1)[1]])          # different steps in one batch
    got = session.run(["x_prev"], {"sample": sample, "eps": eps, "sched": sched})[0]
    assert np.allclose(got, c.folded_update(sample, eps, sched), rtol=1e-5, atol=1e-5)


def test_same_seed_pose_and_reference_give_the_same_frame_and_another_seed_differs(sessions):
    pose, ref = _images(1)

    async def jobs(renderer):
        a = await renderer.frame(1, pose, ref, seed=5, steps=2)
        b = await renderer.frame(2, pose, ref, seed=5, steps=2)
        again = await renderer.frame(1, pose, steps=2)
        other = await renderer.frame(3, pose, ref, seed=6, steps=2)
        return a, b, again, other

    (a, b, again, other), _, _ = _render(sessions, jobs)
    assert a.shape == (SIZE, SIZE, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and np.array_equal(a, again)
    assert not np.array_equal(a, other)


def test_frames_are_conditioned_on_the_reference_and_on_the_pose(sessions):
    pose, ref = _images(1)
    pose2, ref2 = _images(2)

    async def jobs(renderer):
        return [await renderer.frame(i, p, r, seed=5) for i, (p, r) in enumerate([(pose, ref), (pose, ref2), (pose2, ref)])]

    (base, other_ref, other_pose), _, _ = _render(sessions, jobs)
    assert not np.array_equal(base, other_ref) and not np.array_equal(base, other_pose)


def test_appearance_runs_once_per_stream_even_for_first_frames_that_arrive_together(sessions):
    pose, ref = _images(1)

    async def jobs(renderer):
        first = [renderer.frame(1, pose, ref, seed=1, steps=2) for _ in range(3)]
        later = [renderer.frame(1, pose, steps=2) for _ in range(3)]
        other = [renderer.frame(2, pose, ref, seed=2)]
        return await asyncio.gather(*first, *later, *other)

    frames, infer, renderer = _render(sessions, jobs)
    assert infer.calls[c.APPEARANCE.name] == 2 == renderer.appearance_runs
    assert infer.calls[c.UNET_STEP.name] == 6 * 2 + 1 and infer.calls[c.DECODE.name] == 7
    assert all(np.array_equal(f, frames[0]) for f in frames[:6])     # one stream, one pose: one frame


def test_a_non_square_frame_comes_back_at_the_poses_size(sessions):
    pose, ref = _images(3, height=48, width=80)
    async def jobs(renderer):
        return await renderer.frame(9, pose, ref, seed=1)

    image, _, _ = _render(sessions, jobs)
    assert image.shape == (48, 80, 3)


def test_end_frees_the_state_and_drops_the_frames_still_in_flight(sessions):
    pose, ref = _images(1)

    async def jobs(renderer):
        await renderer.frame(1, pose, ref, seed=1)
        pending = [asyncio.ensure_future(renderer.frame(1, pose, steps=4)) for _ in range(4)]
        await asyncio.sleep(0)                   # they have started
        renderer.end(1)
        results = await asyncio.gather(*pending, return_exceptions=True)
        with pytest.raises(InvalidArgument, match="stream 1 has no reference"):
            await renderer.frame(1, pose)
        return results

    results, infer, renderer = _render(sessions, jobs)
    assert results and all(isinstance(r, FrameDropped) for r in results)
    assert "stream 1 ended" in results[0].message and results[0].status == "CANCELLED"
    assert infer.calls[c.UNET_STEP.name] < 1 + 4 * 4                 # pending steps were not run
    assert renderer.cache.get(1) is None and not renderer.cache.streams


def test_end_that_overtakes_the_first_frame_drops_it_and_leaves_no_state(sessions):
    pose, ref = _images(1)

    async def jobs(renderer):
        first = asyncio.ensure_future(renderer.frame(4, pose, ref, seed=1))
        await asyncio.sleep(0)
        renderer.end(4)
        return await asyncio.gather(first, return_exceptions=True)

    (result,), _, renderer = _render(sessions, jobs)
    assert isinstance(result, FrameDropped) and not renderer.cache.streams


def test_idle_streams_are_freed_and_the_bounds_refuse_a_new_stream_without_evicting_one(sessions):
    pose, ref = _images(1)
    clock = [0.0]
    cache = StreamCache(max_streams=2, idle_s=10, clock=lambda: clock[0])

    async def jobs(renderer):
        await renderer.frame(1, pose, ref, seed=1)
        await renderer.frame(2, pose, ref, seed=2)
        with pytest.raises(Overloaded, match="already holds 2 streams"):
            await renderer.frame(3, pose, ref, seed=3)
        assert set(cache.streams) == {1, 2}               # nobody evicted
        clock[0] = 5.0
        await renderer.frame(2, pose)                     # stream 2 is in use
        clock[0] = 12.0
        assert cache.sweep() == [1]
        await renderer.frame(3, pose, ref, seed=3)        # room again
        return set(cache.streams)

    streams, _, _ = _render(sessions, jobs, cache)
    assert streams == {2, 3}
    small = StreamCache(max_bytes=1024)
    with pytest.raises(Overloaded, match="0.0 MiB"):
        _render(sessions, lambda r: r.frame(1, pose, ref, seed=1), small)


def test_bad_requests_say_what_to_send(sessions):
    pose, ref = _images(1)
    odd = np.zeros((50, 64, 3), np.uint8)

    async def jobs(renderer):
        errors = []
        for call in (lambda: renderer.frame(1, pose),                               # no reference yet
                     lambda: renderer.frame(1, odd, ref),                           # not a multiple of 8
                     lambda: renderer.frame(1, pose, ref, steps=3),
                     lambda: renderer.frame(1, pose.astype(np.float32), ref)):
            with pytest.raises(InvalidArgument) as error:
                await call()
            errors.append(error.value.message)
        await renderer.frame(1, pose, ref, seed=1)
        with pytest.raises(InvalidArgument, match="a stream keeps one frame size"):
            await renderer.frame(1, np.zeros((32, 32, 3), np.uint8))
        return errors

    errors, _, _ = _render(sessions, jobs)
    assert "send REFERENCE with its first frame" in errors[0]
    assert "multiples of 8" in errors[1] and "one of 1, 2, 4" in errors[2] and "uint8" in errors[3]


@pytest.mark.parametrize("config", ["config.pbtxt", "configs/gpu.pbtxt"])
def test_every_shipped_neural_config_is_the_contract(config):
    from pathlib import Path

    from signstream.triton.repository import read_config

    shipped = Path(__file__).resolve().parents[2] / "model_repository"
    for name, contract in c.NEURAL_MODELS.items():
        model = read_config(shipped / name / config)
        assert [(t.name, list(t.dims)) for t in model.input] == [(t.name, list(t.dims)) for t in contract.inputs]
        assert [(t.name, list(t.dims)) for t in model.output] == [(t.name, list(t.dims)) for t in contract.outputs]
        assert model.dynamic_batching is not None and model.max_batch_size == 8
