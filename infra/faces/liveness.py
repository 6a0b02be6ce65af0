"""Liveness, at the level a chat selfie allows: no replayed picture, and a head turned on request.

Two checks, both explained (with what they do not stop) in docs/faces.md:

* the same picture sent twice: the bytes' SHA-256, or a 256-bit difference hash of the whole
  frame within a few bits (a re-saved, re-compressed, resized or brightened copy);
* an active challenge: a random "turn your head left/right", verified from the 5 landmarks of a
  frame before and a frame after. The nose tip stands out of the plane of the eyes and mouth, so
  only a turning head moves it sideways against them; a printed photo tilted the same way
  narrows the face without that shift, and is refused as `flat_image`.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

from infra.faces.engine import (
    FaceEngine,
    FaceRefused,
    align,
    cosine,
    decode_image,
    imdecode,
    read_header,
)

HASH_SIDE = 16
# Measured on the shared photos: copies re-saved at JPEG quality 50-90, halved or brightened
# differ by 0-19 of 256 bits, a frame moved by 1% of its width by 12-24, other photos by 87+.
SAME_IMAGE_MAX_BITS = 10


class Turn(StrEnum):
    """The person's own left or right."""

    LEFT = "left"
    RIGHT = "right"


class LivenessFailure(StrEnum):
    SAME_IMAGE = "same_image"
    NOT_FACING_CAMERA = "not_facing_camera"
    NO_HEAD_TURN = "no_head_turn"
    WRONG_DIRECTION = "wrong_direction"
    FLAT_IMAGE = "flat_image"
    DIFFERENT_PERSON = "different_person"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What may be kept of a selfie to refuse it later: no face data, no way back to the photo."""

    sha256: str
    dhash: int

    def to_text(self) -> str:
        return f"{self.sha256}:{self.dhash:064x}"

    @classmethod
    def from_text(cls, text: str) -> Fingerprint:
        digest, _, bits = text.partition(":")
        return cls(digest, int(bits, 16))


def fingerprint(data: bytes) -> Fingerprint:
    image = imdecode(data, read_header(data), cv2.IMREAD_GRAYSCALE)
    small = cv2.resize(image, (HASH_SIDE + 1, HASH_SIDE), interpolation=cv2.INTER_AREA)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    value = int("".join("1" if bit else "0" for bit in bits), 2)
    return Fingerprint(hashlib.sha256(data).hexdigest(), value)


def same_image(a: Fingerprint, b: Fingerprint, max_bits: int = SAME_IMAGE_MAX_BITS) -> bool:
    return a.sha256 == b.sha256 or (a.dhash ^ b.dhash).bit_count() <= max_bits


def seen_before(
    candidate: Fingerprint, earlier: list[Fingerprint], max_bits: int = SAME_IMAGE_MAX_BITS
) -> bool:
    return any(same_image(candidate, old, max_bits) for old in earlier)


@dataclass(frozen=True, slots=True)
class HeadTurnConfig:
    # Sideways shift of the nose against the eye and mouth lines, in units of their length:
    # about 0.2 for a 25-30° turn on the shared photos' geometry.
    min_turn: float = 0.2
    # The first frame must look at the camera.
    max_start_yaw: float = 0.15
    # Depth of the nose tip in front of the eyes, in eye distances, to predict how much a real
    # turn narrows the face; `flat_tolerance` is the slack for landmark noise.
    nose_depth: float = 0.5
    flat_tolerance: float = 0.2


@dataclass(frozen=True, slots=True)
class HeadTurnChallenge:
    direction: Turn

    @classmethod
    def random(cls, rng: random.Random) -> HeadTurnChallenge:
        return cls(rng.choice(list(Turn)))


@dataclass(frozen=True, slots=True)
class LivenessResult:
    passed: bool
    reason: str | None
    yaw_before: float | None = None
    yaw_after: float | None = None


def head_yaw(landmarks: np.ndarray) -> float:
    """Signed: positive when the person has turned to their own left (unmirrored frame)."""
    estimates = []
    for first, second in ((0, 1), (3, 4)):  # the eyes, the mouth corners
        axis = landmarks[second] - landmarks[first]
        length = float(np.linalg.norm(axis)) + 1e-6
        offset = landmarks[2] - (landmarks[first] + landmarks[second]) / 2
        estimates.append(float(np.dot(offset, axis)) / length**2)
    return sum(estimates) / len(estimates)


def face_width_ratio(landmarks: np.ndarray) -> float:
    """Eye distance over eye-to-mouth distance: a turn (or a tilted photo) makes it shrink."""
    eyes = landmarks[1] - landmarks[0]
    height = (landmarks[3] + landmarks[4]) / 2 - (landmarks[0] + landmarks[1]) / 2
    return float(np.linalg.norm(eyes)) / (float(np.linalg.norm(height)) + 1e-6)


def check_head_turn(
    direction: Turn,
    before: np.ndarray,
    after: np.ndarray,
    *,
    mirrored: bool = False,
    config: HeadTurnConfig | None = None,
) -> LivenessResult:
    """Landmarks of the frame before and after the instruction, in TEMPLATE order."""
    config = config or HeadTurnConfig()
    sign = -1.0 if mirrored else 1.0
    yaw_before, yaw_after = sign * head_yaw(before), sign * head_yaw(after)

    def result(passed: bool, reason: LivenessFailure | None) -> LivenessResult:
        return LivenessResult(passed, reason and reason.value, yaw_before, yaw_after)

    if abs(yaw_before) > config.max_start_yaw:
        return result(False, LivenessFailure.NOT_FACING_CAMERA)
    wanted = 1.0 if direction is Turn.LEFT else -1.0
    turned = (yaw_after - yaw_before) * wanted
    if turned < config.min_turn:
        moved_away = -turned >= config.min_turn
        return result(
            False, LivenessFailure.WRONG_DIRECTION if moved_away else LivenessFailure.NO_HEAD_TURN
        )
    expected = _cos_turn(yaw_after, config) / _cos_turn(yaw_before, config)
    observed = face_width_ratio(after) / face_width_ratio(before)
    if observed < expected - config.flat_tolerance:
        return result(False, LivenessFailure.FLAT_IMAGE)
    return result(True, None)


def _cos_turn(yaw: float, config: HeadTurnConfig) -> float:
    return math.cos(math.atan(abs(yaw) / config.nose_depth))


class LivenessChecker:
    """Both checks on two frames; synchronous like FaceEngine, run it on its threads."""

    def __init__(self, engine: FaceEngine, config: HeadTurnConfig | None = None) -> None:
        self.engine = engine
        self.config = config or HeadTurnConfig()

    def check(
        self,
        challenge: HeadTurnChallenge,
        before: bytes,
        after: bytes,
        *,
        mirrored: bool = False,
        earlier: list[Fingerprint] | None = None,
    ) -> LivenessResult:
        """`earlier`: fingerprints of this person's past selfies, refused if sent again."""
        try:
            frames = fingerprint(before), fingerprint(after)
            if same_image(*frames) or any(seen_before(f, earlier or []) for f in frames):
                return LivenessResult(False, LivenessFailure.SAME_IMAGE.value)
            start = self.engine.analyse(before)
            image = decode_image(after, self.engine.config)
            face = self.engine.locate(image)
        except FaceRefused as refused:
            return LivenessResult(False, refused.code.value)
        # A turned head does not pass the frontal quality gate, but it must be the same person.
        embedding = self.engine.embed(align(image, face.landmarks))
        if cosine(start.embedding, embedding) < self.engine.config.threshold:
            return LivenessResult(False, LivenessFailure.DIFFERENT_PERSON.value)
        return check_head_turn(
            challenge.direction,
            start.face.landmarks,
            face.landmarks,
            mirrored=mirrored,
            config=self.config,
        )
