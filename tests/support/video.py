"""Round videos (Telegram video notes) for face-check tests, made from the licensed photos.

A real head turn cannot be filmed here; as in tests/faces/test_face_liveness.py, person_a_2
(who looks slightly to his right) and his mirror image (as far to his left) have the geometry
of a turn of about 30 degrees, which the liveness check accepts. A clip of the one, then the
other, is a head turning to the left."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "faces"


def _square(name: str, side: int) -> np.ndarray:
    image = cv2.imread(str(PHOTOS / f"{name}.jpg"), cv2.IMREAD_COLOR)
    height, width = image.shape[:2]
    edge = min(height, width)
    top, left = (height - edge) // 3, (width - edge) // 2  # keep the face, drop the chest
    return cv2.resize(image[top : top + edge, left : left + edge], (side, side))


def clip(frames: list[np.ndarray], fps: int = 15) -> bytes:
    handle, path = tempfile.mkstemp(suffix=".mp4")
    os.close(handle)
    try:
        side = frames[0].shape[0]
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps, (side, side))
        assert writer.isOpened()
        for frame in frames:
            writer.write(frame)
        writer.release()
        return Path(path).read_bytes()
    finally:
        os.unlink(path)


def head_turn_left(*, side: int = 384, person: str = "person_a_2") -> bytes:
    """About a second facing the camera, then a second turned to the person's own left. (The
    mirror image is a little too far turned to count as facing the camera, so the photos give
    no turn to the right; tests that need a turn draw "left".)"""
    facing = _square(person, side)  # his slight turn to his right, within "facing the camera"
    turned = np.ascontiguousarray(facing[:, ::-1])  # as far to his left
    return clip([facing] * 15 + [turned] * 15)


def still(*, side: int = 384, person: str = "person_a_2") -> bytes:
    """Two seconds of one picture: a photo filmed, no head turning."""
    return clip([_square(person, side)] * 30)


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.support.video OUT.mp4`: the left head turn as a round video, to send in
    the local chat (📎 → Video message) while a face check asks for a turn to the left."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tests.support.video OUT.mp4", file=sys.stderr)
        return 2
    out = Path(args[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(head_turn_left())
    print(f"{out}: a 2-second round video turning left (send it when a check asks for left)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
