"""A head turn in a Telegram video note (the round video), for trainees whose Mini App has no
camera: a still photo cannot show a turn, a video can.

The clip is read with OpenCV's own decoder (FFmpeg inside opencv-python-headless), a bounded
number of frames is sampled, and the 5 landmarks of each give its yaw (`head_yaw`). The first
frame facing the camera is the one "before", the frame turned furthest to the asked side after
it is the one "after"; both then go through exactly the checks the Mini App's two frames go
through (`LivenessChecker`: quality gate, same person, a real turn and not a tilted print, no
frame seen before), and the frame facing the camera is compared with the enrolment photo.

Telegram stores a video note as the camera sees the person (not mirrored like the preview), so
"left" is the person's own left, as in an unmirrored photo.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import cv2
import numpy as np

from infra.faces.engine import FaceEngine, FaceRefused, Refusal
from infra.faces.liveness import HeadTurnConfig, Turn, head_yaw

# Telegram's own limits: a video note is at most 640 × 640 and 60 s; a few MB.
MAX_VIDEO_BYTES = 12 * 1024 * 1024
MAX_VIDEO_SIDE = 1280
# A turn on request takes a few seconds: frames after this are not read.
READ_SECONDS = 20.0
SAMPLES = 40
JPEG_QUALITY = 95


@dataclass(frozen=True, slots=True)
class VideoFrames:
    """Two frames of the clip as JPEG: facing the camera, and turned (None: no challenge)."""

    before: bytes
    after: bytes | None


class NotAVideo(Exception):
    pass


def _frames(data: bytes) -> list[np.ndarray]:
    """Up to SAMPLES frames spread over the first READ_SECONDS of the clip."""
    if not data or len(data) > MAX_VIDEO_BYTES:
        raise NotAVideo
    handle, path = tempfile.mkstemp(suffix=".mp4")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        capture = cv2.VideoCapture(path)
        try:
            if not capture.isOpened():
                raise NotAVideo
            width = capture.get(cv2.CAP_PROP_FRAME_WIDTH)
            height = capture.get(cv2.CAP_PROP_FRAME_HEIGHT)
            if not (16 <= width <= MAX_VIDEO_SIDE and 16 <= height <= MAX_VIDEO_SIDE):
                raise NotAVideo
            fps = capture.get(cv2.CAP_PROP_FPS)
            fps = fps if 1 <= fps <= 120 else 30.0
            limit = int(READ_SECONDS * fps)
            total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or limit
            step = max(1, min(total, limit) // SAMPLES)
            frames: list[np.ndarray] = []
            for index in range(min(total, limit)):
                if not capture.grab():
                    break
                if index % step:
                    continue
                ok, frame = capture.retrieve()
                if ok and frame is not None and frame.ndim == 3:
                    frames.append(frame)
            return frames
        finally:
            capture.release()
    finally:
        os.unlink(path)  # a frame of a face: nothing of it stays on the disk


def _jpeg(frame: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    assert ok
    return bytes(encoded.tobytes())


def frames_for_check(
    engine: FaceEngine,
    data: bytes,
    challenge: Turn | None,
    config: HeadTurnConfig | None = None,
) -> VideoFrames:
    """The frames to judge; FaceRefused (`not_a_video`, `no_face`, `not_facing_camera`) when
    the clip has none worth judging. Whether the head really turned is LivenessChecker's call."""
    config = config or HeadTurnConfig()
    try:
        frames = _frames(data)
    except (NotAVideo, cv2.error):
        raise FaceRefused(Refusal.NOT_A_VIDEO) from None
    if not frames:
        raise FaceRefused(Refusal.NOT_A_VIDEO)
    yaws: list[tuple[np.ndarray, float]] = []
    for frame in frames:
        try:
            face = engine.locate(frame)
        except FaceRefused:
            continue  # moving out of the frame for a moment, or a second face passing by
        yaws.append((frame, head_yaw(face.landmarks)))
    if not yaws:
        raise FaceRefused(Refusal.NO_FACE)
    start = next((n for n, (_, yaw) in enumerate(yaws) if abs(yaw) <= config.max_start_yaw), None)
    if start is None:
        raise FaceRefused(Refusal.NOT_FACING_CAMERA)
    before = yaws[start][0]
    if challenge is None:
        return VideoFrames(_jpeg(before), None)
    wanted = 1.0 if challenge is Turn.LEFT else -1.0
    after, yaw = max(yaws[start + 1 :] or yaws[start:], key=lambda item: item[1] * wanted)
    if (yaw - yaws[start][1]) * wanted < config.min_turn:
        raise FaceRefused(Refusal.NO_HEAD_TURN)  # a filmed photo, or a turn the other way
    return VideoFrames(_jpeg(before), _jpeg(after))
