"""Pictures of person B (enrolled as person_b_1) for face checks: another one each time, as a
camera gives, because the same picture twice is refused as a replay."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "faces"
_taken = itertools.count()


def selfie() -> bytes:
    """Crops of person_b_2 shifted by a few percent: each differs from the others (and from
    both originals) by more than a re-saved copy does, and all match person_b_1."""
    image = cv2.imdecode(
        np.frombuffer((PHOTOS / "person_b_2.jpg").read_bytes(), np.uint8), cv2.IMREAD_COLOR
    )
    height, width = image.shape[:2]
    n = next(_taken)
    dx, dy = int(width * 0.03 * (n % 6)), int(height * 0.025 * (n // 6 % 4))
    crop = image[dy : height - int(height * 0.1) + dy, dx : width - int(width * 0.15) + dx]
    return bytes(cv2.imencode(".jpg", crop)[1].tobytes())
