"""The NEURAL done-when, end to end: `signstream serve --model-repository <stand-ins>` as a user runs it,
and an outside client that knows only the contract in protos/ and learns the messages through server
reflection opens 4 concurrent NEURAL streams; each gets its frames in index order at the asked size,
and their pixels depend on the reference image and on the seed (each stream's seed comes back on its
frames). Stand-in weights: the pictures are noise, which the stream's first Notice says."""
from __future__ import annotations

import threading

import cv2
import grpc
import numpy as np
import pytest
from google.protobuf import descriptor_pool, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from signstream.clients.process import serve_process
from tests.support.photos import PHOTOS
from tests.support.processes import started
from tests.support.standins import write_standins

WIDTH, HEIGHT = 96, 64


@pytest.fixture(scope="module")
def served(demo_lexicon_dir, tmp_path_factory):
    repository = write_standins(tmp_path_factory.mktemp("neural_e2e") / "standins")
    process, target = serve_process(str(demo_lexicon_dir), "--model-repository", str(repository), "--wholebody", "off",
                                    "--processes", "1")
    with started(process):
        yield target


def _png(rgb: np.ndarray) -> bytes:
    return cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


def test_four_concurrent_neural_streams_from_a_reflection_only_client(served):
    channel = grpc.insecure_channel(served)
    pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
    method = pool.FindServiceByName("signstream.v1.SignStream").methods_by_name["Synthesize"]
    Request = message_factory.GetMessageClass(method.input_type)
    Response = message_factory.GetMessageClass(method.output_type)
    Config = message_factory.GetMessageClass(pool.FindMessageTypeByName("signstream.v1.SessionConfig"))
    neural = pool.FindEnumTypeByName("signstream.v1.Renderer").values_by_name["NEURAL"].number
    png = pool.FindEnumTypeByName("signstream.v1.Encoding").values_by_name["PNG"].number
    synthesize = channel.stream_stream("/signstream.v1.SignStream/Synthesize",
                                       request_serializer=lambda m: m.SerializeToString(),
                                       response_deserializer=Response.FromString)
    references = {"astronaut": _png(PHOTOS["astronaut"]()), "camera": _png(PHOTOS["camera"]())}
    streams = {"a": ("astronaut", 21), "b": ("camera", 21), "c": ("astronaut", 22), "d": ("camera", 23)}
    results: dict[str, list] = {}

    def run(name: str) -> None:
        reference, seed = streams[name]
        requests = [Request(config=Config(style_image=references[reference], encoding=png, width=WIDTH, height=HEIGHT,
                                          renderer=neural, neural_steps=2, seed=seed, transition="linear",
                                          num_interpolation=2)),
                    Request(sign_id="¶hello"), Request(sign_id="¶name")]
        results[name] = list(synthesize(iter(requests), timeout=240))

    threads = [threading.Thread(target=run, args=(name,)) for name in streams]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert set(results) == set(streams), "a stream did not finish"

    pictures = {}
    for name, responses in results.items():
        frames = [r.frame for r in responses if r.WhichOneof("kind") == "frame"]
        notices = [r.notice for r in responses if r.WhichOneof("kind") == "notice"]
        assert [f.index for f in frames] == list(range(len(frames))) and len(frames) > 8
        assert {(f.width, f.height, f.renderer, f.seed, f.neural_steps) for f in frames} == \
            {(WIDTH, HEIGHT, neural, streams[name][1], 2)}
        assert notices[0].code == "STAND_IN_WEIGHTS"
        pictures[name] = [cv2.imdecode(np.frombuffer(f.image, np.uint8), cv2.IMREAD_COLOR) for f in frames]
        assert all(p.shape == (HEIGHT, WIDTH, 3) for p in pictures[name])
    # same seed and poses, another reference: other pixels; same reference, another seed: other pixels
    assert not np.array_equal(pictures["a"][0], pictures["b"][0])
    assert not np.array_equal(pictures["a"][0], pictures["c"][0])
    assert not np.array_equal(pictures["c"][0], pictures["d"][0])
