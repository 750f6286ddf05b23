"""The aqgt gesture source against a real Triton (one per module) serving the aqgt family on the
random-weight stand-in of AQ-GT's export (the motion is noise; these tests prove the contract, the
windowing and the streaming, never gestures): exactly round(duration * fps) frames for audio fed in
uneven chunks, finite and in [0, 1], deterministic, constant bone lengths; a Triton without the
export is refused with the missing file named."""
from __future__ import annotations

import asyncio
import shutil

import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from signstream.errors import InvalidArgument
from signstream.errors import SourceUnavailable
from signstream.gesture.aqgt import AQGT_LOOKAHEAD_S, open_aqgt_source
from signstream.gesture.aqgt_contract import (GENERATOR_FILE, GENERATOR_INPUTS, GENERATOR_OUTPUTS, MODELS,
                                              POST_INPUTS, POST_OUTPUTS, PRE_INPUTS, PRE_OUTPUTS, SAMPLE_RATE)
from signstream.kernels import layout as L
from signstream.kernels.retarget import bone_length_cv
from signstream.models.aqgt_standin import write_aqgt_standin
from signstream.models.standin import copy_repository
from signstream.triton.launcher import TritonOptions, TritonServer
from tests.unit.test_aqgt_repository import REPO


def _family(dest, export: bool, keep: tuple[str, ...] = ()):
    copy_repository(REPO, dest)
    for model in dest.iterdir():                  # only the aqgt family (and `keep`): Triton starts in seconds
        if model.is_dir() and model.name not in MODELS + keep:
            shutil.rmtree(model)
    if export:
        write_aqgt_standin(dest)
    return dest


@pytest.fixture(scope="module")
def triton(tmp_path_factory):
    # holistic too: a gateway on this Triton needs it to start (the Gesture rpc tests below)
    repo = _family(tmp_path_factory.mktemp("aqgt") / "models", export=True, keep=("holistic",))
    with TritonServer(TritonOptions(repo, grpc_port=0, http_port=0, metrics_port=0)) as server:
        yield server


def _speech(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    syllables = (np.sin(2 * np.pi * 3.1 * t) > 0.3).astype(np.float32)
    return (0.4 * syllables * np.sin(2 * np.pi * 180 * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


async def _stream(url: str, audio: np.ndarray, fps: float, chunks: list[int]) -> tuple[np.ndarray, list[int]]:
    source = open_aqgt_source(url, fps, AQGT_LOOKAHEAD_S + 0.1)
    got, counts, at, i = [], [], 0, 0
    try:
        while at < len(audio):
            n = chunks[i % len(chunks)]
            out = await source.feed(audio[at:at + n])
            assert out.ndim == 3 and out.shape[1:] == (L.NUM_POINTS, 3)
            got.append(out)
            counts.append(len(out))
            at, i = at + n, i + 1
            # never ahead of the audio, never more than the lookahead behind it
            sent = sum(counts)
            assert sent <= round(min(at, len(audio)) / SAMPLE_RATE * fps)
            assert at / SAMPLE_RATE - sent / fps <= AQGT_LOOKAHEAD_S + 0.1 + 1 / fps
        got.append(await source.finish())
    finally:
        await source.close()
    return np.concatenate(got), counts


def test_the_family_serves_the_contract_and_logs_the_licence(triton):
    assert set(MODELS) <= set(triton.ready_models())
    assert "CC BY-NC 3.0" in triton.log_file.read_text(errors="replace")
    client = grpcclient.InferenceServerClient(triton.grpc_url)
    for model, inputs, outputs in (("aqgt_pre", PRE_INPUTS, PRE_OUTPUTS),
                                   ("aqgt_generator", GENERATOR_INPUTS, GENERATOR_OUTPUTS),
                                   ("aqgt_post", POST_INPUTS, POST_OUTPUTS)):
        config = client.get_model_config(model, as_json=True)["config"]
        assert [(t["name"], [int(d) for d in t["dims"]]) for t in config["input"]] == \
               [(n, list(d)) for n, (_, d) in inputs.items()]
        assert [(t["name"], [int(d) for d in t["dims"]]) for t in config["output"]] == \
               [(n, list(d)) for n, (_, d) in outputs.items()]


@pytest.mark.parametrize("seconds,fps", [(1.3, 25.0), (5.1, 25.0), (6.37, 30.0)])
def test_exactly_round_duration_times_fps_frames_for_uneven_chunks(triton, seconds, fps):
    audio = _speech(seconds)
    frames, counts = asyncio.run(_stream(triton.grpc_url, audio, fps, [7_919, 1_000, 8_000, 333]))
    assert len(frames) == round(seconds * fps)
    assert np.all(np.isfinite(frames))
    valid = L.validity(frames)
    assert frames[..., :2][valid].min() >= 0 and frames[..., :2][valid].max() <= 1
    if seconds > 5:
        assert sum(counts) > 0            # frames came while the speech was still arriving


def test_the_same_audio_gives_the_same_frames_whatever_the_chunks(triton):
    audio = _speech(4.8, seed=2)
    a, _ = asyncio.run(_stream(triton.grpc_url, audio, 25.0, [8_000]))
    b, _ = asyncio.run(_stream(triton.grpc_url, audio, 25.0, [1_234, 5_000, 77]))
    np.testing.assert_array_equal(a, b)
    c, _ = asyncio.run(_stream(triton.grpc_url, _speech(4.8, seed=3) * 0.2, 25.0, [8_000]))
    assert not np.array_equal(a, c)       # the audio matters


def test_bone_lengths_stay_constant_and_the_arms_move(triton):
    frames, _ = asyncio.run(_stream(triton.grpc_url, _speech(7.0, seed=4), 25.0, [4_000]))
    assert all(cv < 1e-4 for cv in bone_length_cv(frames).values())
    assert np.ptp(frames[:, [L.L_WRIST, L.R_WRIST], :2], axis=0).max() > 0.005


def test_a_lookahead_below_one_window_is_refused(triton):
    with pytest.raises(InvalidArgument, match="lookahead"):
        open_aqgt_source(triton.grpc_url, 25.0, 1.0)


def test_a_triton_without_the_export_is_refused_naming_the_file(tmp_path):
    repo = _family(tmp_path / "models", export=False)     # Triton starts with nothing to serve
    with TritonServer(TritonOptions(repo, grpc_port=0, http_port=0, metrics_port=0)) as server:
        assert not set(MODELS) & set(server.ready_models())
        assert GENERATOR_FILE in server.report.skipped["aqgt_generator"]
        source = open_aqgt_source(server.grpc_url, 25.0, AQGT_LOOKAHEAD_S)

        async def first_audio():
            try:
                await source.feed(np.zeros(800, np.float32))
            finally:
                await source.close()
        with pytest.raises(SourceUnavailable, match=GENERATOR_FILE) as err:
            asyncio.run(first_audio())
    assert err.value.status == "FAILED_PRECONDITION" and "README" in err.value.message


# -- through the gateway's Gesture rpc -------------------------------------------------------------

@pytest.fixture(scope="module")
def gateway(triton, demo_lexicon_dir):
    from signstream.config import Settings
    from signstream.extract.remote import TritonExtractor
    from signstream.lexicon import open_lexicon
    from tests.support.gateway import GatewayThread

    running = GatewayThread(open_lexicon(Settings(lexicon=str(demo_lexicon_dir))),
                            TritonExtractor(triton.grpc_url, wholebody=False)).start()
    yield running
    running.stop()


def _gesture(gateway, config, audio: np.ndarray):
    from signstream.clients.client import SignStreamClient
    from signstream.gesture.speech_corpus import pcm16
    from tests.support.gateway import read_all

    async def main():
        async with SignStreamClient(gateway.target) as client:
            call = client.gesture(config)
            data = pcm16(audio)
            for at in range(0, len(data), 16_000):
                await call.send(data[at:at + 16_000])
            await call.done_sending()
            return await read_all(call)
    return asyncio.run(main())


def test_a_gesture_stream_with_source_aqgt_gets_its_frames(gateway):
    from signstream.v1 import signstream_pb2 as pb

    config = pb.GestureConfig(session=pb.SessionConfig(encoding=pb.JPEG, width=64, height=64, fps=20),
                              source="aqgt")
    got, error = _gesture(gateway, config, _speech(4.6))
    assert error is None, error
    frames = [r.frame for r in got if r.WhichOneof("kind") == "frame"]
    assert [f.index for f in frames] == list(range(round(4.6 * 20))) and {f.kind for f in frames} == {pb.GESTURE}


def test_a_gesture_lookahead_below_the_aqgt_window_is_refused_naming_the_field(gateway):
    import grpc

    from signstream.v1 import signstream_pb2 as pb

    config = pb.GestureConfig(session=pb.SessionConfig(encoding=pb.NONE), source="aqgt", lookahead_ms=500)
    _, error = _gesture(gateway, config, _speech(0.5))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "lookahead_ms" in error.details()
    assert "2334" in error.details()
