"""AqgtSource's own logic with the three models run in-process (NumPy pre/post, ONNX Runtime on the
stand-in graph) behind a fake Triton client: when windows run, that each seeds from the previous
window's output, the frame count, and the errors."""
from __future__ import annotations

import asyncio

import numpy as np
import onnxruntime as ort
import pytest

from signstream.errors import InvalidArgument, TritonUnavailable
from signstream.gesture.aqgt import AQGT_LOOKAHEAD_S, AqgtSource, missing_models_message
from signstream.gesture.aqgt_audio import preprocess_batch
from signstream.gesture.aqgt_contract import (GENERATOR_FILE, HOP_SAMPLES, MEAN_FILE, N_PRE_POSES, POSE_DIM,
                                              WINDOW_SAMPLES)
from signstream.gesture.aqgt_pose import rebuild_positions
from signstream.gesture.aqgt_windows import window_count
from signstream.models.aqgt_standin import generator_model, rest_offsets


class _Result:
    def __init__(self, outputs):
        self.outputs = outputs

    def as_numpy(self, name):
        return self.outputs[name]


class FakeTriton:
    """infer(model, inputs, outputs) like tritonclient.grpc.aio, recording every generator call."""

    def __init__(self):
        self.session = ort.InferenceSession(generator_model().SerializeToString(), providers=["CPUExecutionProvider"])
        self.calls: list[tuple[str, dict]] = []
        self.closed = False

    async def infer(self, model, inputs, outputs=None):
        feeds = {t.name(): t._np for t in inputs}
        self.calls.append((model, feeds))
        if model == "aqgt_pre":
            return _Result(preprocess_batch(feeds["AUDIO"]))
        if model == "aqgt_generator":
            return _Result({"out_dir_vec": self.session.run(None, feeds)[0]})
        return _Result({"POSITIONS": rebuild_positions(feeds["out_dir_vec"], rest_offsets())})

    async def is_model_ready(self, name):
        return True

    async def close(self):
        self.closed = True


@pytest.fixture(autouse=True)
def _keep_arrays(monkeypatch):
    """InferInput keeps its array where the fake can read it."""
    import tritonclient.grpc.aio as triton_aio

    original = triton_aio.InferInput.set_data_from_numpy

    def keep(self, array):
        self._np = array
        return original(self, array)
    monkeypatch.setattr(triton_aio.InferInput, "set_data_from_numpy", keep)


def _run(audio: np.ndarray, fps: float = 25.0, chunk: int = 8000):
    client = FakeTriton()
    source = AqgtSource("fake:0", fps, AQGT_LOOKAHEAD_S, client=client)

    async def go():
        out, ran = [], []
        for at in range(0, len(audio), chunk):
            out.append(await source.feed(audio[at:at + chunk]))
            ran.append(sum(m == "aqgt_generator" for m, _ in client.calls))
        out.append(await source.finish())
        await source.close()
        return np.concatenate(out), ran
    frames, ran = asyncio.run(go())
    return frames, ran, client


def test_windows_run_when_their_audio_is_in_and_seed_from_the_previous_output():
    audio = (np.random.default_rng(0).standard_normal(16_000 * 7) * 0.1).astype(np.float32)
    frames, ran, client = _run(audio, chunk=4000)
    assert len(frames) == round(7 * 25)
    for k, count in enumerate(ran):                   # after (k + 1) chunks of 4000 samples
        samples = (k + 1) * 4000
        assert count == sum(1 for i in range(10) if samples >= i * HOP_SAMPLES + WINDOW_SAMPLES)
    seeds = [f["pre_seq"][0] for m, f in client.calls if m == "aqgt_generator"]
    outs = [client.session.run(None, f)[0][0] for m, f in client.calls if m == "aqgt_generator"]
    assert len(seeds) == window_count(7.0) == 4
    assert not seeds[0][:, :POSE_DIM].any()                               # the mean pose first
    for i in range(1, len(seeds)):
        np.testing.assert_array_equal(seeds[i][:N_PRE_POSES, :POSE_DIM], outs[i - 1][-N_PRE_POSES:])
        assert np.all(seeds[i][:N_PRE_POSES, POSE_DIM] == 1) and not seeds[i][N_PRE_POSES:].any()
    assert client.closed


def test_short_speech_still_gets_its_one_window_and_its_frames():
    frames, ran, client = _run(np.zeros(8_000, np.float32), fps=30.0)
    assert len(frames) == 15 and ran == [0]
    assert sum(m == "aqgt_generator" for m, _ in client.calls) == 1


def test_bad_audio_and_audio_after_the_end_are_refused():
    source = AqgtSource("fake:0", 25.0, AQGT_LOOKAHEAD_S, client=FakeTriton())
    with pytest.raises(InvalidArgument, match="NaN"):
        asyncio.run(source.feed(np.array([np.nan], np.float32)))
    asyncio.run(source.finish())
    with pytest.raises(InvalidArgument, match="after the end"):
        asyncio.run(source.feed(np.zeros(10, np.float32)))


def test_a_failing_model_is_triton_unavailable():
    from tritonclient.utils import InferenceServerException

    class Failing(FakeTriton):
        async def infer(self, model, inputs, outputs=None):
            raise InferenceServerException("boom")
    source = AqgtSource("fake:0", 25.0, AQGT_LOOKAHEAD_S, client=Failing())
    with pytest.raises(TritonUnavailable, match="aqgt_pre"):
        asyncio.run(source.finish())


def test_the_missing_models_message_names_the_files_and_the_recipe():
    text = missing_models_message("h:1", ["aqgt_generator"])
    assert GENERATOR_FILE in text and MEAN_FILE in text and "README" in text and "CC BY-NC" in text


def test_missing_models_fail_the_first_call_and_a_closed_source_refuses():
    from signstream.errors import SourceUnavailable

    class Bare(FakeTriton):
        async def is_model_ready(self, name):
            return name == "aqgt_pre"
    source = AqgtSource("fake:0", 25.0, AQGT_LOOKAHEAD_S, client=Bare())
    with pytest.raises(SourceUnavailable, match="aqgt_generator, aqgt_post"):
        asyncio.run(source.check())
    asyncio.run(source.close())
    with pytest.raises(InvalidArgument, match="closed"):
        asyncio.run(source.feed(np.zeros(10, np.float32)))
