"""Glosses -> the signs a sentence is synthesized from, in order, each with how it joins the sign
before it: fingerspelled letters join each other with a short transition (LETTER_JOIN_S: 3 frames
at 25 fps) instead of num_interpolation, are never trimmed by a smooth join, and a word's last
letter is held (LETTER_HOLD_S) before the next sign.

    for step in plan(glosses):
        join = step.join(clip.fps)          # None: the options' own join
"""
from __future__ import annotations

from dataclasses import dataclass

from signstream.pipeline import Join
from signstream.text.items import SIGN, SPELLED, Gloss

LETTER_JOIN_S = 0.12        # letters inside a word: 3 transition frames at 25 fps
LETTER_HOLD_S = 0.32        # a word's last letter: its last frame shown 8 more times at 25 fps


def letter_join_frames(fps: float) -> int:
    return max(1, round(LETTER_JOIN_S * fps))


def letter_hold_frames(fps: float) -> int:
    return max(1, round(LETTER_HOLD_S * fps))


@dataclass(frozen=True)
class Step:
    sign_id: str                # canonical
    letter: bool = False        # a fingerspelled letter
    first: bool = False         # letter: the first of its word
    last: bool = False          # letter: the last of its word
    after_letters: bool = False # the sign right after a fingerspelled word (keeps its hold)

    def join(self, fps: float) -> Join | None:
        """How this sign joins the one before it, for a clip at `fps`; None: the options' way."""
        hold = letter_hold_frames(fps) if self.letter and self.last else 0
        if self.letter:
            return Join(None if self.first else letter_join_frames(fps), trim=False, hold=hold)
        return Join(trim=False) if self.after_letters else None


def staged(glosses: list[Gloss]) -> list[tuple[Gloss, list[Step]]]:
    """Each gloss with the steps it makes frames with (none for a dropped word or a Notice), in order."""
    out: list[tuple[Gloss, list[Step]]] = []
    after = False
    for item in glosses:
        steps: list[Step] = []
        if item.kind == SIGN:
            for sign_id in item.sign_ids:
                steps.append(Step(sign_id, after_letters=after))
                after = False
        elif item.kind == SPELLED:
            count = len(item.sign_ids)
            steps += [Step(s, letter=True, first=i == 0, last=i == count - 1) for i, s in enumerate(item.sign_ids)]
            after = True
        out.append((item, steps))
    return out


def plan(glosses: list[Gloss]) -> list[Step]:
    """The steps of the glosses that make frames (signs and letters), in order."""
    return [step for _, steps in staged(glosses) for step in steps]
