from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from infra.faces.liveness import (
    Fingerprint,
    HeadTurnChallenge,
    LivenessChecker,
    Turn,
    check_head_turn,
    fingerprint,
    same_image,
)
from tests.faces.conftest import jpeg, photo, pixels

# Landmarks (right eye, left eye, nose, right and left mouth corner) of a frontal face and of
# the same face turned to the person's own left: the nose slides towards their left (the
# right of an unmirrored frame) and the eye line narrows a little.
FRONTAL = np.array([[100, 100], [160, 100], [130, 135], [108, 165], [152, 165]], np.float32)
TURNED_LEFT = np.array([[106, 100], [158, 100], [147, 135], [112, 165], [151, 165]], np.float32)


def tilted_print(image: np.ndarray, squeeze: float) -> np.ndarray:
    """The photo held up to the camera and turned: narrower, on another background."""
    height, width = image.shape[:2]
    narrow = cv2.resize(image, (int(width * squeeze), height))
    canvas = np.full_like(image, 90)
    left = (width - narrow.shape[1]) // 2
    canvas[:, left : left + narrow.shape[1]] = narrow
    return canvas


@pytest.fixture
def checker(engine):
    return LivenessChecker(engine)


def test_the_same_bytes_sent_twice_are_rejected(checker):
    selfie = photo("person_b_1")

    result = checker.check(HeadTurnChallenge(Turn.LEFT), selfie, selfie)

    assert (result.passed, result.reason) == (False, "same_image")


def test_a_resaved_smaller_copy_of_the_same_picture_is_rejected_as_the_same_image():
    original = pixels("person_b_2")
    copy = cv2.resize(original, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)

    assert same_image(fingerprint(photo("person_b_2")), fingerprint(jpeg(copy, quality=60)))
    assert not same_image(fingerprint(photo("person_b_2")), fingerprint(photo("person_b_1")))


def test_a_selfie_sent_in_an_earlier_session_is_rejected(checker):
    kept = Fingerprint.from_text(fingerprint(photo("person_a_2")).to_text())

    result = checker.check(
        HeadTurnChallenge(Turn.LEFT),
        photo("person_a_2"),
        jpeg(pixels("person_a_2")[:, ::-1]),
        earlier=[kept],
    )

    assert result.reason == "same_image"


def test_a_head_turned_to_the_asked_side_passes(checker):
    # person_a_2 looks slightly to his right; the mirror image looks as far to his left, which
    # is the geometry of a real turn of about 30 degrees.
    before, after = photo("person_a_2"), jpeg(pixels("person_a_2")[:, ::-1])

    passed = checker.check(HeadTurnChallenge(Turn.LEFT), before, after)
    wrong = checker.check(HeadTurnChallenge(Turn.RIGHT), before, after)

    assert (passed.passed, passed.reason) == (True, None)
    assert passed.yaw_after > passed.yaw_before
    assert (wrong.passed, wrong.reason) == (False, "wrong_direction")


def test_a_selfie_camera_that_mirrors_its_frames_swaps_left_and_right(checker):
    before, after = photo("person_a_2"), jpeg(pixels("person_a_2")[:, ::-1])

    result = checker.check(HeadTurnChallenge(Turn.RIGHT), before, after, mirrored=True)

    assert result.passed


def test_two_identical_frames_do_not_pass_the_challenge(engine):
    (face,) = engine.detect(pixels("person_b_1"))

    for direction in Turn:
        result = check_head_turn(direction, face.landmarks, face.landmarks.copy())
        assert (result.passed, result.reason) == (False, "no_head_turn")


def test_a_printed_photo_turned_in_front_of_the_camera_is_refused_as_flat(checker):
    before = photo("person_a_1")
    after = jpeg(tilted_print(pixels("person_a_1"), squeeze=0.45))

    result = checker.check(HeadTurnChallenge(Turn.RIGHT), before, after)

    assert (result.passed, result.reason) == (False, "flat_image")


def test_someone_else_in_the_second_frame_is_refused(checker):
    before, after = photo("person_b_1"), jpeg(pixels("person_a_2")[:, ::-1])

    result = checker.check(HeadTurnChallenge(Turn.LEFT), before, after)

    assert (result.passed, result.reason) == (False, "different_person")


def test_a_poor_first_frame_is_refused_with_its_quality_reason(checker):
    dark = jpeg((pixels("person_b_1").astype(np.float32) * 0.2).astype(np.uint8))

    result = checker.check(HeadTurnChallenge(Turn.LEFT), dark, photo("person_b_2"))

    assert result.reason == "too_dark"


def test_the_turn_is_read_from_the_landmarks_of_two_frames():
    assert check_head_turn(Turn.LEFT, FRONTAL, TURNED_LEFT).passed
    assert check_head_turn(Turn.RIGHT, FRONTAL, TURNED_LEFT).reason == "wrong_direction"
    assert check_head_turn(Turn.RIGHT, FRONTAL, TURNED_LEFT, mirrored=True).passed


def test_the_first_frame_must_face_the_camera():
    result = check_head_turn(Turn.RIGHT, TURNED_LEFT, FRONTAL)

    assert (result.passed, result.reason) == (False, "not_facing_camera")


def test_a_face_only_squeezed_sideways_is_flat_even_when_the_nose_seems_to_move():
    squeezed = TURNED_LEFT.copy()
    centre = squeezed[:, 0].mean()
    squeezed[:, 0] = centre + (squeezed[:, 0] - centre) * 0.5

    assert check_head_turn(Turn.LEFT, FRONTAL, squeezed).reason == "flat_image"


def test_challenges_ask_for_both_directions():
    rng = random.Random(3)

    assert {HeadTurnChallenge.random(rng).direction for _ in range(20)} == set(Turn)


def test_a_second_frame_that_is_not_a_picture_is_refused_with_a_reason(checker):
    result = checker.check(HeadTurnChallenge(Turn.LEFT), photo("person_b_1"), b"garbage")

    assert (result.passed, result.reason) == (False, "not_an_image")
