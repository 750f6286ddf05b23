"""Procedurally animated demo signs: a small built-in lexicon with no video and no I/O.

Fourteen word signs (`demo_signs`) and 26 letter signs fs-a..fs-z for fingerspelling
(`demo_letters.letter_signs`: procedural, not checked by signers), each a short table of keyframes
(wrist targets, handshape, hand direction and roll, head and face state) that demo_body animates.
"""
from __future__ import annotations

import numpy as np

from signstream.config import S3Settings
from signstream.lexicon.demo_body import FPS, DemoSign, SignSpec, build_clip
from signstream.lexicon.demo_letters import LETTERS_NOTE, letter_signs


_SPECS = (
    SignSpec("hello", "HELLO", 1.6, (
        (0.0, None, None, {}), (0.3, (0.37, 0.36, "B", -90, -15), None, {"brow": 0.8, "mouth": 0.5}),
        (0.55, (0.30, 0.37, "B", -95, -15), None, {"brow": 0.6}), (0.8, (0.30, 0.37, "B", -95, -15), None, {}),
        (1.0, None, None, {})), osc=(("r_el", 0.2, 2, 0.55, 0.85),), drop=(("l", 0.35, 0.7),)),
    SignSpec("thank-you", "THANK-YOU", 1.8, (
        (0.0, None, None, {}), (0.35, (0.45, 0.55, "B", -85, -20), None, {"mouth": 0.4}),
        (0.75, (0.40, 0.70, "B", -60, 60), None, {"pitch": 0.15, "mouth": 0.2}),
        (1.0, (0.40, 0.72, "B", -60, 60), None, {}))),
    SignSpec("please", "PLEASE", 1.8, (
        (0.0, None, None, {}), (0.25, (0.46, 0.66, "B", -120, -150), None, {"brow": 0.5, "mouth": 0.3}),
        (0.85, (0.46, 0.66, "B", -120, -150), None, {"brow": 0.5}), (1.0, (0.42, 0.78, "B", 60, -100), None, {})),
        osc=(("r_sh", 0.10, 2, 0.25, 0.85, 0.0), ("r_el", 0.14, 2, 0.25, 0.85, np.pi / 2))),
    SignSpec("yes", "YES", 1.4, (
        (0.0, None, None, {}), (0.25, (0.40, 0.58, "S", -80, -70), None, {}),
        (0.9, (0.40, 0.58, "S", -80, -70), None, {}), (1.0, (0.40, 0.62, "S", -80, -70), None, {})),
        osc=(("r_flex", 0.45, 3, 0.25, 0.9), ("r_el", 0.08, 3, 0.25, 0.9), ("pitch", 0.15, 3, 0.25, 0.9))),
    SignSpec("no", "NO", 1.4, (
        (0.0, None, None, {}), (0.25, (0.42, 0.56, "N", -80, -40), None, {"brow": -0.4}),
        (0.45, (0.42, 0.56, "N0", -80, -40), None, {"brow": -0.4}), (0.6, (0.42, 0.56, "N", -80, -40), None, {}),
        (0.75, (0.42, 0.56, "N0", -80, -40), None, {"brow": -0.3}), (1.0, (0.42, 0.70, "rest", 60, -70), None, {})),
        osc=(("yaw", 0.25, 2, 0.2, 0.9),)),
    SignSpec("help", "HELP", 1.8, (
        (0.0, None, None, {}), (0.3, (0.47, 0.64, "A", -90, -90), (0.52, 0.72, "B", 180, 60), {"brow": 0.6}),
        (0.8, (0.47, 0.54, "A", -90, -90), (0.52, 0.62, "B", 180, 60), {"brow": 0.6, "mouth": 0.3}),
        (1.0, (0.47, 0.55, "A", -90, -90), (0.52, 0.63, "B", 180, 60), {}))),
    SignSpec("name", "NAME", 1.6, (
        (0.0, None, None, {}), (0.3, (0.45, 0.60, "V", 10, 60), (0.56, 0.64, "V", 170, 60), {}),
        (0.85, (0.45, 0.60, "V", 10, 60), (0.56, 0.64, "V", 170, 60), {"mouth": 0.4}),
        (1.0, (0.43, 0.70, "V", 30, 40), (0.58, 0.72, "V", 150, 40), {})),
        osc=(("r_el", 0.12, 2, 0.3, 0.85),)),
    SignSpec("good", "GOOD", 1.8, (
        (0.0, None, None, {}), (0.3, (0.45, 0.55, "B", -85, -20), None, {"mouth": 0.5}),
        (0.7, (0.48, 0.67, "B", -20, 80), (0.55, 0.73, "B", 180, 70), {"pitch": 0.1}),
        (1.0, (0.48, 0.68, "B", -20, 80), (0.55, 0.73, "B", 180, 70), {}))),
    SignSpec("morning", "MORNING", 2.0, (
        (0.0, None, None, {}), (0.3, (0.50, 0.70, "B", -10, 20), (0.42, 0.70, "B", 180, 80), {}),
        (0.8, (0.34, 0.38, "B", -90, -20), (0.42, 0.70, "B", 180, 80), {"mouth": 0.5, "brow": 0.4}),
        (1.0, (0.34, 0.38, "B", -90, -20), (0.42, 0.71, "B", 180, 80), {}))),
    SignSpec("sign", "SIGN", 2.0, (
        (0.0, None, None, {}), (0.2, (0.40, 0.58, "1", -60, -60), (0.60, 0.60, "1", -120, -60), {}),
        (0.9, (0.40, 0.58, "1", -60, -60), (0.60, 0.60, "1", -120, -60), {"mouth": 0.3}),
        (1.0, (0.41, 0.66, "1", -30, -60), (0.59, 0.68, "1", -150, -60), {})),
        osc=(("r_sh", 0.12, 2, 0.2, 0.9, 0.0), ("r_el", 0.15, 2, 0.2, 0.9, np.pi / 2),
             ("l_sh", 0.12, 2, 0.2, 0.9, np.pi), ("l_el", 0.15, 2, 0.2, 0.9, 1.5 * np.pi))),
    SignSpec("friend", "FRIEND", 1.8, (
        (0.0, None, None, {}), (0.3, (0.47, 0.58, "X", 0, -60), (0.53, 0.62, "X", 180, 60), {}),
        (0.5, (0.47, 0.58, "X", 0, -60), (0.53, 0.62, "X", 180, 60), {"mouth": 0.3}),
        (0.8, (0.47, 0.64, "X", 0, 60), (0.53, 0.58, "X", 180, -60), {}),
        (1.0, (0.47, 0.64, "X", 0, 60), (0.53, 0.58, "X", 180, -60), {}))),
    SignSpec("learn", "LEARN", 1.8, (
        (0.0, None, None, {}), (0.3, (0.52, 0.64, "5", 80, -150), (0.55, 0.72, "B", 180, 70), {}),
        (0.45, (0.52, 0.65, "O", 80, -150), (0.55, 0.72, "B", 180, 70), {}),
        (0.85, (0.36, 0.36, "O", -70, -160), (0.55, 0.72, "B", 180, 70), {"brow": 0.5}),
        (1.0, (0.36, 0.35, "B", -70, -160), (0.56, 0.74, "B", 160, 70), {"mouth": 0.3}))),
    SignSpec("where", "WHERE", 1.6, (
        (0.0, None, None, {}), (0.3, (0.33, 0.40, "1", -90, 0), None, {"brow": 1.0, "tilt": 0.1, "shrug": 1}),
        (0.85, (0.33, 0.40, "1", -90, 0), None, {"brow": 1.0, "tilt": 0.1, "shrug": 1}),
        (1.0, (0.34, 0.45, "1", -90, 0), None, {"brow": 0.5})),
        osc=(("r_el", 0.25, 3, 0.3, 0.85),), drop=(("l", 0.0, 0.55),)),
    SignSpec("want", "WANT", 2.0, (
        (0.0, None, None, {}), (0.35, (0.36, 0.68, "5", -20, 70), (0.64, 0.68, "5", -160, 70), {"brow": 0.3}),
        (0.8, (0.40, 0.64, "claw", -60, 70), (0.60, 0.64, "claw", -120, 70), {"mouth": 0.3}),
        (1.0, (0.40, 0.64, "claw", -60, 70), (0.60, 0.64, "claw", -120, 70), {}))),
)


__all__ = ["DemoSign", "LETTERS_NOTE", "demo_signs", "letter_signs", "write_demo_lexicon"]


def demo_signs(seed: int = 0) -> list[DemoSign]:
    """The built-in demo lexicon: deterministic for a given seed (the seed varies only small details)."""
    return [
        DemoSign(spec.sign_id, spec.gloss, build_clip(spec, np.random.default_rng([int(seed) % 2**63, i])), FPS)
        for i, spec in enumerate(_SPECS)
    ]


def write_demo_lexicon(location: str, seed: int = 0, s3: S3Settings | None = None, letters: bool = True) -> int:
    """Write the demo signs into the lexicon at `location`, a folder (created if needed) or
    s3://bucket/prefix reached with `s3`; other signs are kept. `letters`: the 26 letter signs too
    (LETTERS_NOTE). Returns how many were written."""
    from signstream.lexicon import LexiconWriter, open_store

    writer = LexiconWriter(open_store(location, s3 or S3Settings()))
    signs = demo_signs(seed=seed) + (letter_signs(seed=seed) if letters else [])
    for sign in signs:
        writer.add_sign(sign.sign_id, sign.frames, sign.fps, gloss=sign.gloss)
    writer.commit()
    return len(signs)
