"""Fingerspelled letters in the sentence: letters of a word join in 3 frames at 25 fps (not
num_interpolation), are never trimmed, the last is held, and the frame-count rule counts them."""
from __future__ import annotations

import numpy as np
import pytest

from signstream.lexicon.demo import demo_signs, letter_signs
from signstream.pipeline import FrameKind, Join, SynthesisOptions, output_length, sentence_length, synthesize
from signstream.style import default_style
from signstream.text import Step

LETTERS = {s.sign_id: s for s in letter_signs()}
WORDS = {s.sign_id: s for s in demo_signs()}


def clips(steps: list[Step]) -> list[tuple]:
    out = []
    for step in steps:
        sign = LETTERS.get(step.sign_id) or WORDS[step.sign_id]
        out.append((sign.sign_id, sign.frames, sign.fps, step.join(sign.fps)))
    return out


def spelled(word: str) -> list[Step]:
    return [Step(f"fs-{c}", letter=True, first=i == 0, last=i == len(word) - 1) for i, c in enumerate(word)]


SENTENCE = [Step("hello"), *spelled("tom"), Step("thank-you", after_letters=True)]


@pytest.mark.parametrize("m", [0, 1])
def test_linear_letter_joins_and_hold(m):
    options = SynthesisOptions(num_interpolation=8, num_insert_interpolation=m, transition="linear")
    sentence = clips(SENTENCE)
    chunks = synthesize(sentence, default_style(), options)
    lengths = [c[1].shape[0] for c in sentence]
    assert lengths == [40, 10, 10, 10, 45]
    joins = [c[3] for c in sentence]
    hold = joins[3].hold
    assert hold == 8
    expected = sum(t + (t - 1) * m for t in [40, 10, 10, 10 + hold, 45]) + 8 + 3 + 3 + 8
    assert sum(len(c) for c in chunks) == expected == sentence_length(sentence, default_style(), options)
    assert output_length(lengths, 8, m, joins) == expected
    o, mm = chunks[2], chunks[3]                      # fs-o, fs-m: 3 transition frames lead in
    assert list(o.kinds[:4]) == [FrameKind.TRANSITION] * 3 + [FrameKind.SIGN]
    assert list(mm.kinds[:3]) == [FrameKind.TRANSITION] * 3
    held = mm.frames[-(hold * (m + 1)):]               # the held last letter: its last frame, again and again
    assert np.array_equal(held, np.broadcast_to(mm.frames[-1], held.shape))


def test_letter_joins_do_not_follow_num_interpolation():
    sentence = clips(spelled("ab"))
    for n in (0, 8, 30):
        options = SynthesisOptions(num_interpolation=n, transition="linear")
        assert sentence_length(sentence, default_style(), options) == 10 + 3 + 10 + 8


def test_smooth_letters_keep_every_frame_and_join_in_3():
    options = SynthesisOptions(num_interpolation=8)
    sentence = clips(spelled("lz"))
    chunks = synthesize(sentence, default_style(), options)
    kinds = np.concatenate([c.kinds for c in chunks])
    assert (kinds == FrameKind.TRANSITION).sum() == 3
    assert len(kinds) == 10 + 3 + 20 + 8 == sentence_length(sentence, default_style(), options)
    ids = np.concatenate([c.frame_sign_ids() for c in chunks])
    assert list(ids).count("fs-l") == 10 and list(ids).count("fs-z") == 3 + 20 + 8


def test_smooth_keeps_the_hold_before_the_next_word():
    options = SynthesisOptions(num_interpolation=8)
    chunks = synthesize(clips([*spelled("ab"), Step("yes", after_letters=True)]), default_style(), options)
    ids = np.concatenate([c.frame_sign_ids() for c in chunks])
    kinds = np.concatenate([c.kinds for c in chunks])
    b_sign = (ids == "fs-b") & (kinds == FrameKind.SIGN)
    assert b_sign.sum() == 10 + 8                       # every frame of B and its hold, none trimmed


def test_a_join_without_overrides_is_the_options_join():
    assert Join().transition(8) == 8 and Join(frames=2).transition(8) == 2
