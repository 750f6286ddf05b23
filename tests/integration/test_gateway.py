"""The gateway over real gRPC: every encoding, both pacings, cancellation that stops server-side work,
Retarget on real-photo video frames, ListSigns and ExtractKeypoints."""
from __future__ import annotations

import asyncio
import io
import time

import av
import cv2
import grpc
import numpy as np
import pytest

from signstream.clients.client import SignStreamClient
from signstream.gateway.convert import keypoints_from_proto
from signstream.kernels import layout as L
from signstream.lexicon.demo import demo_signs
from signstream.pipeline import SynthesisOptions, output_length, synthesize
from signstream.v1 import signstream_pb2 as pb
from tests.support.ingest_media import SHOTS, shot_frames
from tests.support.photos import PHOTOS

LENGTHS = {s.sign_id: len(s.frames) for s in demo_signs()}


def png(rgb: np.ndarray) -> bytes:
    return cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


def jpeg(rgb: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


def run(gateway, coroutine_fn):
    async def main():
        async with SignStreamClient(gateway.target) as client:
            return await coroutine_fn(client)
    return asyncio.run(main())


def frames_of(responses) -> list[pb.Frame]:
    return [r.frame for r in responses if r.WhichOneof("kind") == "frame"]


@pytest.mark.parametrize("encoding", ["JPEG", "PNG", "RAW_RGB", "H264", "NONE"])
def test_every_encoding(gateway, encoding):
    config = pb.SessionConfig(encoding=pb.Encoding.Value(encoding), width=96, height=80, num_interpolation=3,
                              num_insert_interpolation=1, transition="linear")
    responses = run(gateway, lambda c: c.synthesize_all(config, ["¶hello", "¶name"]))
    frames = frames_of(responses)
    expected = output_length([LENGTHS["hello"], LENGTHS["name"]], 3, 1)
    assert [f.index for f in frames] == list(range(expected))
    assert {f.kind for f in frames} == {pb.SIGN, pb.TRANSITION, pb.INSERTED}
    for stage in ("lookup", "normalize") + (("render",) if encoding != "NONE" else ()):
        assert gateway.metric("signstream_stage_latency_seconds_count", stage=stage) > 0, stage
    assert all(f.fps == 25.0 and (f.width, f.height) == (96, 80) for f in frames)
    if encoding in ("JPEG", "PNG"):
        for f in frames[::7]:
            image = cv2.imdecode(np.frombuffer(f.image, np.uint8), cv2.IMREAD_COLOR)
            assert image.shape == (80, 96, 3) and image.any()
    elif encoding == "RAW_RGB":
        assert all(len(f.image) == 96 * 80 * 3 for f in frames)
        assert np.frombuffer(frames[0].image, np.uint8).any()
    elif encoding == "H264":
        stream = b"".join(f.image for f in frames)
        with av.open(io.BytesIO(stream), format="h264") as container:
            decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
        assert len(decoded) == expected and decoded[0].shape == (80, 96, 3)
    else:                                                        # keypoints only
        assert all(f.image == b"" and f.HasField("keypoints") for f in frames)
        first = keypoints_from_proto(frames[0].keypoints)
        assert first.shape == (L.NUM_POINTS, 3) and first[L.BODY][L.NECK, 2] == 1


def test_keypoints_ride_along_when_asked(gateway):
    config = pb.SessionConfig(encoding=pb.JPEG, width=64, height=64, include_keypoints=True)
    frames = frames_of(run(gateway, lambda c: c.synthesize_all(config, ["¶friend"])))
    assert frames and all(f.HasField("keypoints") and f.image for f in frames)


@pytest.mark.parametrize("normalization", ["signmail", "retarget"])
def test_smooth_transitions_stream_the_in_process_sentence_frame_for_frame(gateway, normalization):
    from signstream.results import SentenceFrames
    from signstream.style import default_style

    signs = ["hello", "name", "good"]
    config = pb.SessionConfig(encoding=pb.NONE, transition="smooth", normalization=normalization, num_interpolation=5)
    frames = frames_of(run(gateway, lambda c: c.synthesize_all(config, ["¶" + s for s in signs])))
    demo = {s.sign_id: s.frames for s in demo_signs()}
    whole = SentenceFrames.from_chunks(synthesize([(s, demo[s]) for s in signs], default_style(),
                                                  SynthesisOptions(5, 0, normalization, "smooth")))
    assert [f.index for f in frames] == list(range(len(whole.frames)))
    np.testing.assert_array_equal(np.stack([keypoints_from_proto(f.keypoints) for f in frames]), whole.frames)
    assert [f.sign_id for f in frames] == ["¶" + s for s in whole.sign_ids]     # the withheld end under its sign
    assert [f.kind for f in frames] == list(whole.kinds)


def test_realtime_pacing_spaces_frames_at_the_fps(gateway):
    config = pb.SessionConfig(encoding=pb.NONE, pacing=pb.REALTIME, fps=50, num_interpolation=2)

    async def timed(client):
        call = client.synthesize(config)
        await call.send("¶hello")
        await call.done_sending()
        return [time.monotonic() async for _ in call]

    arrivals = run(gateway, timed)
    assert len(arrivals) == LENGTHS["hello"]
    span = arrivals[-1] - arrivals[0]
    # Frames leave 20 ms apart: never faster (a sleep only makes it later), and no long stalls.
    assert span >= (len(arrivals) - 1) * 0.020 * 0.95
    assert span <= (len(arrivals) - 1) * 0.020 * 3


def test_asap_is_faster_than_realtime(gateway):
    config = pb.SessionConfig(encoding=pb.NONE, fps=10)
    start = time.monotonic()
    frames = frames_of(run(gateway, lambda c: c.synthesize_all(config, ["¶hello"])))
    assert len(frames) == LENGTHS["hello"] and frames[0].fps == 10.0
    assert time.monotonic() - start < (len(frames) - 1) / 10          # realtime would need this long


def test_a_cancelled_stream_stops_its_work_on_the_server(gateway):
    before = gateway.metric("signstream_frames_sent_total", encoding="raw_rgb", rpc="Synthesize")
    config = pb.SessionConfig(encoding=pb.RAW_RGB, width=256, height=256, pacing=pb.REALTIME, fps=25)

    async def cancel_early(client):
        call = client.synthesize(config)
        for sign_id in ["¶hello", "¶name", "¶sign", "¶learn"] * 5:
            await call.send(sign_id)
        received = 0
        async for _ in call:
            received += 1
            if received == 5:
                call.cancel()
                break
        return received

    assert run(gateway, cancel_early) == 5
    deadline = time.monotonic() + 10
    while gateway.metric("signstream_streams_open", rpc="Synthesize") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gateway.metric("signstream_streams_open", rpc="Synthesize") == 0
    sent = gateway.metric("signstream_frames_sent_total", encoding="raw_rgb", rpc="Synthesize") - before
    time.sleep(0.5)                                 # 12 more frames would be due at 25 fps
    assert gateway.metric("signstream_frames_sent_total", encoding="raw_rgb", rpc="Synthesize") - before == sent
    assert sent <= 5 + 2                            # the frames in flight when the client left, no more


def test_retarget_renders_real_photo_video_frames_in_order(gateway):
    frames = shot_frames(SHOTS["grace_hopper"])[:6]
    config = pb.SessionConfig(style_image=png(PHOTOS["astronaut"]()), encoding=pb.JPEG, width=128, height=128,
                              include_keypoints=True)

    async def retarget(client):
        call = client.retarget(config)
        for i, rgb in enumerate(frames):
            await call.send(jpeg(rgb) if i != 2 else b"garbage")
        await call.done_sending()
        return [r async for r in call]

    responses = run(gateway, retarget)
    notices = [r.notice for r in responses if r.WhichOneof("kind") == "notice"]
    out = frames_of(responses)
    assert [n.code for n in notices] == ["INVALID_IMAGE"]
    assert [f.index for f in out] == list(range(5))
    kps = [keypoints_from_proto(f.keypoints) for f in out]
    assert all(k[L.BODY][L.NECK, 2] == 1 for k in kps)
    # The first frame's neck lands on the style (astronaut) neck, as signmail anchors a clip.
    style = run(gateway, lambda c: c.extract(png(PHOTOS["astronaut"]())))
    np.testing.assert_allclose(kps[0][L.BODY][L.NECK, :2], np.array(style.body).reshape(18, 2)[1], atol=1e-5)


def test_list_signs_and_extract_keypoints(gateway):
    assert run(gateway, lambda c: c.list_signs(prefix="¶th")) == ["thank-you"]
    assert len(run(gateway, lambda c: c.list_signs(limit=3))) == 3
    keypoints = run(gateway, lambda c: c.extract(png(PHOTOS["camera"]())))
    assert len(keypoints.body) == 36 and len(keypoints.face_mp) == 1434
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        run(gateway, lambda c: c.extract(b"\x89PNG broken"))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_smooth_stream_sends_a_signs_held_frames_when_the_next_sign_is_late(gateway):
    """The contract in protos/ with smooth transitions (the default): a client that waits for the whole of a sign
    before sending the next still gets it. The last frames, held back for the join, go out after at
    most their playing time (7 frames at 25 fps: 0.28 s); the next sign then joins the last frame sent,
    trimming nothing from it, exactly as Sentence does after finish()."""
    from signstream.pipeline import Sentence
    from signstream.style import default_style

    config = pb.SessionConfig(encoding=pb.NONE, num_interpolation=5)

    async def main(client):
        call = client.synthesize(config)
        responses = aiter(call)
        await call.send("¶hello")
        first, got = None, []
        while len(got) < LENGTHS["hello"]:               # the whole sign, without sending another
            got.append((await asyncio.wait_for(anext(responses), 10)).frame)
            first = first or time.monotonic()
        waited = time.monotonic() - first
        await call.send("¶name")
        await call.done_sending()
        got += [r.frame async for r in responses]
        return got, waited

    frames, waited = run(gateway, main)
    demo = {s.sign_id: s.frames for s in demo_signs()}
    sentence = Sentence(default_style(), SynthesisOptions(num_interpolation=5))
    chunks = [sentence.add("hello", demo["hello"]), sentence.finish(), sentence.add("name", demo["name"]),
              sentence.finish()]
    expected = np.concatenate([c.frames for c in chunks if c is not None])
    assert [f.index for f in frames] == list(range(len(expected)))
    np.testing.assert_array_equal(np.stack([keypoints_from_proto(f.keypoints) for f in frames]), expected)
    assert [f.sign_id for f in frames[: LENGTHS["hello"]]] == ["¶hello"] * LENGTHS["hello"]
    assert 0.2 < waited < 5.0                           # the held frames waited about their playing time


def test_a_finished_stream_is_freed_by_reference_counting_alone(gateway):
    """A stream that ended (completed, cancelled, or refused for its config) leaves nothing for the
    cycle collector: its guard task, session and gRPC call state go as soon as it ends. Two cycles
    did that: a cancelled guard task's traceback held the stream that held the task, and a refusal's
    AbortError, kept by the call, had a traceback through the handler's frame that held the call.
    Their memory waited for a full collection and grew the server's RSS under load."""
    import gc

    from signstream.streaming import OpenStream

    def open_streams() -> int:
        return sum(isinstance(o, OpenStream) for o in gc.get_objects())

    async def streams(client):
        await client.synthesize_all(pb.SessionConfig(encoding=pb.NONE), ["¶hello", "¶name"])
        call = client.synthesize(pb.SessionConfig(encoding=pb.NONE))
        await call.send("¶hello")
        await anext(aiter(call))
        call.cancel()
        with pytest.raises(grpc.aio.AioRpcError):
            await client.synthesize_all(pb.SessionConfig(encoding=pb.NONE, width=100_000), ["¶hello"])

    gc.collect()
    gc.disable()
    try:
        run(gateway, streams)
        deadline = time.monotonic() + 5
        while open_streams() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert open_streams() == 0
    finally:
        gc.enable()


def test_notices_for_bad_ids_do_not_extend_the_hold(gateway):
    """Sign IDs that only give a notice do not keep a sign's held frames back: they go out their
    playing time (0.28 s) after the sign's other frames, while the notices keep coming (every 0.1 s
    for 0.8 s here), not after them."""
    async def main(client):
        call = client.synthesize(pb.SessionConfig(encoding=pb.NONE, num_interpolation=5))
        await call.send("¶hello")
        for k in range(8):
            await asyncio.sleep(0.1)
            await call.send(f"¶no-such-sign-{k}")
        await call.done_sending()
        return [r async for r in call]

    responses = run(gateway, main)
    kinds = [r.WhichOneof("kind") for r in responses]
    frames = [r.frame for r in responses if r.WhichOneof("kind") == "frame"]
    assert [f.index for f in frames] == list(range(LENGTHS["hello"])) and kinds.count("notice") == 8
    last_frame = max(i for i, kind in enumerate(kinds) if kind == "frame")
    assert kinds[:last_frame].count("notice") < 8, kinds          # the held frames came before the last notice
