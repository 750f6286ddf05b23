"""MediaPipe → OpenPose-18 and 478 → iBUG-68 on real photos: sides, order and the seed-dict round trip.

Each photo shows one person facing the camera, so the subject's RIGHT side is on the IMAGE LEFT.
"""
from __future__ import annotations

import numpy as np
import pytest

from signstream.extract.holistic import HolisticExtractor
from signstream.kernels import layout as L
from signstream.kernels.mappings import has_person
from signstream.kernels.seedformat import from_seed_frame, to_seed_frame
from signstream.style import params_from_frame
from tests.support.photos import PHOTOS




@pytest.fixture(scope="module")
def extractor():
    with HolisticExtractor(static_image_mode=True) as ex:
        yield ex


@pytest.fixture(scope="module", params=sorted(PHOTOS))
def photo_frame(request, extractor):
    rgb = PHOTOS[request.param]()
    return request.param, extractor(rgb)


def test_person_found_with_pose_and_refined_face(photo_frame):
    name, arrays = photo_frame
    frame = arrays.to_frame()
    assert has_person(frame), name
    assert np.any(arrays.face), f"{name}: MediaPipe finds a face in this photo"
    assert np.all(frame[L.FACE, 2] == 1.0)
    assert np.any(frame[L.FACE_MP, :2] != 0)


def test_body_sides(photo_frame):
    name, arrays = photo_frame
    body = arrays.to_frame()[L.BODY]
    x = body[:, 0]
    assert x[L.R_SHOULDER] < x[L.NECK] < x[L.L_SHOULDER], name
    assert x[L.R_EYE] < x[L.L_EYE], name
    assert x[L.R_EAR] < x[L.L_EAR], name
    # the neck is the shoulders' midpoint and below the nose
    np.testing.assert_allclose(body[L.NECK, :2], (body[L.R_SHOULDER, :2] + body[L.L_SHOULDER, :2]) / 2, atol=1e-6)
    assert body[L.NECK, 1] > body[L.NOSE, 1]


def test_face68_order_matches_dwpose(photo_frame):
    """iBUG-68 as DWPose emits it: jaw 0→16 runs image-left to image-right, 36-41 is the image-left
    eye, 8 is the chin (lowest jaw point), the nose (27-30) above the mouth (51, 57)."""
    name, arrays = photo_frame
    f = arrays.to_frame()[L.FACE, :2]
    body = arrays.to_frame()[L.BODY, :2]
    assert f[0, 0] < f[8, 0] < f[16, 0], name
    assert np.argmax(f[:17, 1]) in (7, 8, 9), name
    assert f[36:42, 0].mean() < f[42:48, 0].mean(), name
    assert f[27, 1] < f[30, 1] < f[51, 1] < f[57, 1], name
    assert f[17:22, 0].mean() < f[22:27, 0].mean(), name      # brows: subject's right on image left
    # the image-left eye of the face is the body's R-eye, not the L-eye
    r_eye, l_eye = body[L.R_EYE], body[L.L_EYE]
    left_eye_centre = f[36:42].mean(axis=0)
    assert np.linalg.norm(left_eye_centre - r_eye) < np.linalg.norm(left_eye_centre - l_eye), name


def test_seed_dict_round_trip_is_exact(photo_frame):
    _, arrays = photo_frame
    frame = arrays.to_frame()
    d = to_seed_frame(frame)
    assert d["bodies"]["candidate"].shape == (18, 2) and d["bodies"]["subset"].shape == (1, 18)
    assert d["hands"].shape == (2, 21, 2) and d["faces"].shape == (1, 68, 2)
    assert d["pose_mp"].shape == (99,) and d["face_mp"].shape == (1434,)
    assert d["left_hand_mp"].shape == (63,) and d["right_hand_mp"].shape == (63,)
    # no hands in these photos: the seed's markers
    assert np.all(d["hands"] == -1) and np.all(d["left_hand_mp"] == 0)
    np.testing.assert_array_equal(from_seed_frame(d), frame)
    d2 = to_seed_frame(from_seed_frame(d))
    for key in ("hands", "faces", "pose_mp", "face_mp"):
        np.testing.assert_array_equal(d2[key], d[key])
    np.testing.assert_array_equal(d2["bodies"]["subset"], d["bodies"]["subset"])


def test_style_params_from_photo(photo_frame):
    name, arrays = photo_frame
    params, defaulted = params_from_frame(arrays.to_frame())
    assert defaulted == (), name
    assert 0.05 < params.shoulder < 0.9 and 0.02 < params.ear_x < 0.5 and 0.005 < params.face_length < 0.3
