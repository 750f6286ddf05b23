"""Procedural letter signs for fingerspelling, fs-a .. fs-z: procedural, not checked by signers.

Each letter is a handshape (five finger curls; the hand model cannot cross fingers, so R and U, and
U and V, differ only slightly), a finger direction and a palm roll, made by the right hand at a
fingerspelling position beside the right shoulder while the left hand rests. A letter's clip starts
and ends at that position (0.4 s), so letters join each other in a few frames; J and Z trace their
paths (0.8 s): J hooks down and in with the little finger, Z draws its three strokes with the index.
Built by demo_body like the word signs.
"""
from __future__ import annotations

import numpy as np

from signstream.lexicon.demo_body import FPS, DemoSign, SignSpec, build_clip

LETTERS_NOTE = "26 letter signs fs-a..fs-z (procedural, not checked by signers)"
LETTER_SECONDS, PATH_SECONDS = 0.4, 0.8
SPOT = (0.335, 0.52)                     # the right wrist's fingerspelling position (image coordinates)

# letter: (curls thumb, index, middle, ring, pinky), finger direction (deg, -90 up), roll (deg, 0 palm to camera)
_UP = -90
LETTER_SHAPES: dict[str, tuple[tuple[float, ...], float, float]] = {
    "a": ((0.05, 1, 1, 1, 1), _UP, 0), "b": ((0.65, 0, 0, 0, 0), _UP, 0), "c": ((0.3, 0.45, 0.45, 0.45, 0.45), _UP, -80),
    "d": ((0.6, 0, 0.7, 0.7, 0.7), _UP, 0), "e": ((0.9, 0.85, 0.85, 0.85, 0.85), _UP, 0),
    "f": ((0.6, 0.7, 0, 0, 0), _UP, 0), "g": ((0.2, 0, 1, 1, 1), -10, -80), "h": ((0.8, 0, 0, 1, 1), -10, -80),
    "i": ((0.8, 1, 1, 1, 0), _UP, 0), "j": ((0.8, 1, 1, 1, 0), _UP, 0), "k": ((0.3, 0, 0.1, 1, 1), _UP, -20),
    "l": ((0.0, 0, 1, 1, 1), _UP, 0), "m": ((0.95, 0.9, 0.9, 0.9, 1), _UP, 0), "n": ((0.95, 0.9, 0.9, 1, 1), _UP, 0),
    "o": ((0.6, 0.65, 0.65, 0.65, 0.65), _UP, -40), "p": ((0.3, 0, 0.1, 1, 1), 60, -20), "q": ((0.2, 0, 1, 1, 1), 70, -60),
    "r": ((0.8, 0.1, 0, 1, 1), _UP, 10), "s": ((0.8, 1, 1, 1, 1), _UP, 0), "t": ((0.5, 0.9, 1, 1, 1), _UP, 0),
    "u": ((0.8, 0, 0, 1, 1), _UP, 0), "v": ((0.8, 0, 0.05, 1, 1), _UP, 25), "w": ((0.8, 0, 0, 0, 1), _UP, 0),
    "x": ((0.8, 0.55, 1, 1, 1), _UP, -30), "y": ((0.0, 1, 1, 1, 0), _UP, 0), "z": ((0.8, 0, 1, 1, 1), _UP, 0),
}
# Wrist paths (t, dx, dy from SPOT, direction, roll) for the letters that move.
_PATHS = {
    "j": ((0.0, 0.0, 0.0, _UP, 0), (0.4, 0.005, 0.04, _UP, -30), (0.7, 0.03, 0.055, -50, -80), (1.0, 0.045, 0.05, -30, -100)),
    "z": ((0.0, -0.02, -0.03, _UP, 0), (0.3, 0.04, -0.03, _UP, 0), (0.65, -0.02, 0.03, _UP, 0), (1.0, 0.04, 0.03, _UP, 0)),
}


def _spec(letter: str) -> SignSpec:
    curls, direction, roll = LETTER_SHAPES[letter]
    x, y = SPOT
    if letter in _PATHS:
        keys = tuple((t, (x + dx, y + dy, curls, d, r), None, {}) for t, dx, dy, d, r in _PATHS[letter])
        return SignSpec(f"fs-{letter}", f"FS-{letter.upper()}", PATH_SECONDS, keys)
    keys = ((0.0, (x, y, curls, direction, roll), None, {}), (1.0, (x + 0.004, y - 0.004, curls, direction, roll), None, {}))
    return SignSpec(f"fs-{letter}", f"FS-{letter.upper()}", LETTER_SECONDS, keys)


def letter_signs(seed: int = 0) -> list[DemoSign]:
    """The 26 letter signs, deterministic for a given seed (the seed varies only small details)."""
    return [DemoSign(spec.sign_id, spec.gloss, build_clip(spec, np.random.default_rng([int(seed) % 2**63, 1000 + i])),
                     FPS, note="procedural, not checked by signers")
            for i, spec in enumerate(_spec(letter) for letter in sorted(LETTER_SHAPES))]
