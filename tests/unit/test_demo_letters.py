"""The demo lexicon's 26 letter signs: procedural, at a fingerspelling position, a handshape each, J and Z
moving along their paths, and written by `lexicon demo` beside the word signs."""
from __future__ import annotations

import numpy as np
import pytest

from signstream.config import Settings
from signstream.kernels import layout as L
from signstream.lexicon import open_lexicon
from signstream.lexicon.demo import LETTERS_NOTE, demo_signs, letter_signs


@pytest.fixture(scope="module")
def letters():
    return letter_signs()


def test_26_letters_labelled_procedural(letters):
    assert [s.sign_id for s in letters] == [f"fs-{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    assert all(s.note == "procedural, not checked by signers" and s.fps == 25.0 for s in letters)
    assert "procedural, not checked by signers" in LETTERS_NOTE
    assert all(s.frames.shape[1:] == (L.NUM_POINTS, 3) and np.isfinite(s.frames).all() for s in letters)


def test_the_right_hand_spells_beside_the_shoulder_and_the_left_rests(letters):
    for s in letters:
        assert (s.frames[:, L.RIGHT_HAND, 2] > 0).all(), s.sign_id
        wrist = s.frames[:, L.BODY][:, L.R_WRIST, :2]
        assert np.all(np.abs(wrist - [0.335, 0.52]).max(axis=1) < 0.07), s.sign_id
        left = s.frames[:, L.BODY][:, L.L_WRIST, :2]
        assert left[:, 1].min() > 0.7, s.sign_id                       # at rest, low
        valid = L.validity(s.frames)
        assert s.frames[..., :2][valid].min() >= 0.02 and s.frames[..., :2][valid].max() <= 0.98


def _shape(s) -> np.ndarray:
    hand = s.frames[len(s.frames) // 2, L.RIGHT_HAND, :2]
    return hand - hand[0]


def test_every_letter_has_its_own_handshape(letters):
    shapes = np.stack([_shape(s) for s in letters if s.sign_id not in ("fs-j",)])   # J is I moving
    d = np.linalg.norm(shapes[:, None] - shapes[None], axis=-1).mean(-1)
    np.fill_diagonal(d, np.inf)
    assert d.min() > 1e-3


def test_j_and_z_trace_paths_and_the_others_hold_still(letters):
    travel = {s.sign_id: float(np.ptp(s.frames[:, L.BODY][:, L.R_WRIST, :2], axis=0).max()) for s in letters}
    assert travel["fs-j"] > 0.03 and travel["fs-z"] > 0.05
    assert max(v for k, v in travel.items() if k not in ("fs-j", "fs-z")) < 0.03
    lengths = {s.sign_id: len(s.frames) for s in letters}
    assert lengths["fs-j"] == lengths["fs-z"] == 20 and lengths["fs-a"] == 10


def test_lexicon_demo_writes_letters_and_words(demo_lexicon_dir):
    ids = open_lexicon(Settings(lexicon=str(demo_lexicon_dir))).list_signs()
    assert len(ids) == 40 and {s.sign_id for s in demo_signs()} | {f"fs-{c}" for c in "az"} <= set(ids)
