"""Domain <-> proto conversions: keypoints round-trip bit-exactly, enum tables cover every proto value."""
from __future__ import annotations

import numpy as np
import pytest

from signstream.errors import InvalidArgument
from signstream.gateway import convert
from signstream.kernels import layout as L
from signstream.kernels.seedformat import to_seed_frame
from signstream.lexicon.demo import demo_signs
from signstream.pipeline import FrameKind, SynthesisOptions, synthesize
from signstream.style import DEFAULT_STYLE
from signstream.v1 import signstream_pb2 as pb


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    """Normalized, interpolated frames of the whole demo lexicon, as the gateway streams them."""
    signs = demo_signs(0)
    chunks = synthesize([(s.sign_id, s.frames) for s in signs], DEFAULT_STYLE,
                        SynthesisOptions(num_interpolation=4, num_insert_interpolation=1))
    return np.concatenate([c.frames for c in chunks])


def test_keypoints_round_trip_is_bit_exact(frames):
    flagged = frames[:, : L.POSE_MP.start, 2]
    assert (flagged == 0).sum() > 100                                          # missing points occur
    assert np.all(flagged[:, L.LEFT_HAND] == 0, axis=1).any()                 # and a whole missing hand
    assert (~np.any(frames[:, L.LEFT_HAND_MP] != 0, axis=(1, 2))).any()        # and a missing MediaPipe hand
    for frame in frames:
        back = convert.keypoints_from_proto(convert.keypoints_to_proto(frame))
        assert back.dtype == np.float32 and back.shape == (L.NUM_POINTS, 3)
        assert np.array_equal(back.view(np.uint32), frame.view(np.uint32))


def test_keypoints_follow_the_seed_layout(frames):
    frame = frames[np.argmax((frames[:, L.BODY, 2] == 0).sum(axis=1))]        # one with missing body points
    kp = convert.keypoints_to_proto(frame)
    seed = to_seed_frame(frame)
    sizes = {"body": 36, "hands": 84, "face": 136, "pose_mp": 99, "face_mp": 1434,
             "left_hand_mp": 63, "right_hand_mp": 63}
    assert convert.KEYPOINT_FIELD_SIZES == sizes
    for field, size in sizes.items():
        assert len(getattr(kp, field)) == size
    body = np.where(seed["bodies"]["subset"][0][:, None] >= 0, seed["bodies"]["candidate"], -1.0)
    assert (body == -1).any()
    np.testing.assert_array_equal(np.array(kp.body), body.astype(np.float32).ravel())
    np.testing.assert_array_equal(np.array(kp.hands), seed["hands"].astype(np.float32).ravel())
    np.testing.assert_array_equal(np.array(kp.face), seed["faces"][0].astype(np.float32).ravel())
    for key in L.MEDIAPIPE_PARTS:
        np.testing.assert_array_equal(np.array(getattr(kp, key)), seed[key].astype(np.float32))


def test_missing_points_are_sent_as_minus_one(frames):
    frame = frames[0].copy()
    frame[L.BODY.start + 3] = (0.3, 0.4, 0.0)                  # missing, but with stale coordinates
    frame[L.RIGHT_HAND.start + 5] = (0.6, 0.7, 0.0)
    kp = convert.keypoints_to_proto(frame)
    assert list(kp.body[6:8]) == [-1.0, -1.0]
    assert list(kp.hands[2 * (21 + 5) : 2 * (21 + 5) + 2]) == [-1.0, -1.0]
    back = convert.keypoints_from_proto(kp)
    assert back[L.BODY.start + 3].tolist() == [-1.0, -1.0, 0.0]


@pytest.mark.parametrize("field", ["body", "hands", "face", "pose_mp", "face_mp", "left_hand_mp", "right_hand_mp"])
def test_wrong_field_length_names_the_field(frames, field):
    kp = convert.keypoints_to_proto(frames[0])
    getattr(kp, field).append(0.5)
    with pytest.raises(InvalidArgument, match=f"keypoints.{field}") as info:
        convert.keypoints_from_proto(kp)
    assert info.value.field == f"keypoints.{field}"
    del getattr(kp, field)[:]
    with pytest.raises(InvalidArgument, match=f"keypoints.{field}"):
        convert.keypoints_from_proto(kp)


def test_non_finite_keypoints_are_refused(frames):
    kp = convert.keypoints_to_proto(frames[0])
    kp.face[7] = float("nan")
    with pytest.raises(InvalidArgument) as info:
        convert.keypoints_from_proto(kp)
    assert info.value.field == "keypoints.face"
    with pytest.raises(ValueError):
        convert.keypoints_to_proto(frames[0][:10])


@pytest.mark.parametrize("enum, names, values, expected", [
    (pb.Encoding, convert.ENCODING_NAMES, convert.ENCODING_VALUES, {"jpeg", "png", "raw_rgb", "h264", "none"}),
    (pb.Pacing, convert.PACING_NAMES, convert.PACING_VALUES, {"asap", "realtime"}),
    (pb.Renderer, convert.RENDERER_NAMES, convert.RENDERER_VALUES, {"skeleton", "neural"}),
    (pb.FrameKind, convert.FRAME_KINDS, convert.FRAME_KIND_VALUES, set(FrameKind)),
])
def test_every_enum_value_maps_and_back(enum, names, values, expected):
    assert set(names) == set(enum.values())
    assert set(names.values()) == expected
    for number in enum.values():
        assert values[names[number]] == number
    for name in expected:
        assert names[values[name]] == name


def test_enum_names_match_the_proto_names():
    for number, name in convert.ENCODING_NAMES.items():
        assert pb.Encoding.Name(number).lower() == name
    for number, kind in convert.FRAME_KINDS.items():
        assert pb.FrameKind.Name(number) == kind.name and int(kind) == number


def test_frame_to_proto(frames):
    msg = convert.frame_to_proto(7, "¶hello", np.uint8(FrameKind.TRANSITION), b"\xff\xd8jpeg", "jpeg", 640, 480,
                                 frames[3])
    assert msg.WhichOneof("kind") == "frame"
    f = msg.frame
    assert (f.index, f.sign_id, f.kind, f.image, f.encoding, f.width, f.height) == (
        7, "¶hello", pb.TRANSITION, b"\xff\xd8jpeg", pb.JPEG, 640, 480)
    assert np.array_equal(convert.keypoints_from_proto(f.keypoints), frames[3])
    bare = convert.frame_to_proto(0, "", FrameKind.INSERTED, b"", "h264", 2, 2, None).frame
    assert bare.kind == pb.INSERTED and bare.encoding == pb.H264 and not bare.HasField("keypoints")
    parsed = pb.SynthesizeResponse.FromString(msg.SerializeToString())
    assert parsed == msg
    with pytest.raises(InvalidArgument) as info:
        convert.frame_to_proto(0, "", FrameKind.SIGN, b"", "gif", 2, 2)
    assert info.value.field == "encoding"


def test_notice_to_proto():
    msg = convert.notice_to_proto("UNKNOWN_SIGN", "¶nope", "no such sign; skipped")
    assert msg.WhichOneof("kind") == "notice"
    notice = msg.notice
    assert (notice.code, notice.sign_id, notice.message) == ("UNKNOWN_SIGN", "¶nope", "no such sign; skipped")
    assert convert.notice_to_proto("CORRUPT_CLIP", None, "x").notice.sign_id == ""
