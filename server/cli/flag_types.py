"""argparse `type=` converters for numeric flags. A value out of range or not a number is an argparse
error naming the flag (usage, exit 2), never a traceback from deep inside a command.

    p.add_argument("--limit", type=COUNT, default=0)       # whole number >= 0
    p.add_argument("--concurrency", type=POSITIVE)          # whole number >= 1
    p.add_argument("--fps", type=NON_NEGATIVE_REAL)         # finite number >= 0
"""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def whole_number(minimum: int) -> Callable[[str], int]:
    """A converter to int that refuses anything that is not a whole number >= `minimum`."""
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number: give one of {minimum} or more") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}: give a whole number of {minimum} or more")
        return value
    return convert


def real_number(minimum: float) -> Callable[[str], float]:
    """A converter to float that refuses anything that is not a finite number >= `minimum`."""
    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"'{text}' is not a finite number: give one of {minimum:g} or more")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text} is below {minimum:g}: give a number of {minimum:g} or more")
        return value
    return convert


COUNT = whole_number(0)
POSITIVE = whole_number(1)
NON_NEGATIVE_REAL = real_number(0.0)
