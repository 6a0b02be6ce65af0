"""The chance the study service draws its challenges from, for tests (production draws from the
system's randomness, which nobody can seed or foresee)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from infra.faces.liveness import Turn

T = TypeVar("T")


class LeftTurnsOnlyWhenOwed(random.Random):
    """Never a head turn by luck on a random check (so a challenged random check is an owed
    one), and every turn to the left: the one turn the licensed photos can show
    (tests/support/video.py)."""

    def random(self) -> float:
        return 0.99

    def choice(self, seq: Sequence[T]) -> T:
        return next(item for item in seq if item == Turn.LEFT)
