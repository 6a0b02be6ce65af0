from __future__ import annotations

import cv2
import numpy as np
import pytest

from infra.faces import FaceRefused, Refusal
from tests.faces.conftest import jpeg, pixels


def refusal(engine, data: bytes) -> Refusal | None:
    try:
        engine.analyse(data)
    except FaceRefused as refused:
        return refused.code
    return None


def side_by_side(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    height = min(first.shape[0], second.shape[0])
    resized = [
        cv2.resize(im, (im.shape[1] * height // im.shape[0], height)) for im in (first, second)
    ]
    return np.hstack(resized)


def on_canvas(image: np.ndarray, width: int, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    small = cv2.resize(
        image, (width, image.shape[0] * width // image.shape[1]), interpolation=cv2.INTER_AREA
    )
    canvas = np.full((*size, 3), 120, np.uint8)
    canvas[20 : 20 + small.shape[0], 20 : 20 + small.shape[1]] = small
    return canvas


@pytest.mark.parametrize(
    "name", ["person_a_1", "person_a_2", "person_b_1", "person_b_2", "impostor_1", "impostor_2"]
)
def test_every_shared_photo_passes_the_enrolment_gate(engine, name):
    assert refusal(engine, jpeg(pixels(name))) is None


def test_a_photo_without_a_face_is_refused_as_no_face(engine):
    rng = np.random.default_rng(7)
    scene = np.tile(np.linspace(40, 220, 640, dtype=np.uint8)[None, :, None], (480, 1, 3))
    for _ in range(12):
        x, y = (int(v) for v in rng.integers(0, 600, 2))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(scene, (x, y), (x + 80, y + 50), colour, -1)
        cv2.circle(scene, (y, x % 480), 30, colour, 3)

    assert refusal(engine, jpeg(scene)) is Refusal.NO_FACE


def test_two_people_side_by_side_are_refused_as_several_faces(engine):
    pair = side_by_side(pixels("person_b_1"), pixels("impostor_2"))

    assert refusal(engine, jpeg(pair)) is Refusal.SEVERAL_FACES


def test_a_far_away_face_behind_the_person_does_not_count_as_a_second_face(engine):
    photo = pixels("person_b_2").copy()
    far = cv2.resize(pixels("impostor_1"), (80, 92), interpolation=cv2.INTER_AREA)
    photo[10:102, 10:90] = far
    assert len(engine.detect(photo)) == 2

    assert refusal(engine, jpeg(photo)) is None


def test_a_face_far_from_the_camera_is_refused_as_too_small(engine):
    selfie = on_canvas(pixels("person_b_2"), width=90)

    assert refusal(engine, jpeg(selfie)) is Refusal.FACE_TOO_SMALL


def test_a_darkened_photo_is_refused_as_too_dark(engine):
    dark = (pixels("person_b_1").astype(np.float32) * 0.2).astype(np.uint8)

    assert refusal(engine, jpeg(dark)) is Refusal.TOO_DARK


def test_a_dark_skinned_face_in_normal_light_is_not_taken_for_a_dark_photo(engine):
    # impostor_1 has the darkest face of the set: the gate reads the highlights, not the mean.
    analysis = engine.analyse(jpeg(pixels("impostor_1")))

    assert analysis.quality.brightness > 2 * engine.config.min_brightness


def test_a_blurred_photo_is_refused_as_too_blurred(engine):
    blurred = cv2.GaussianBlur(pixels("person_b_2"), (0, 0), 10)

    assert refusal(engine, jpeg(blurred)) is Refusal.TOO_BLURRED


def test_a_slightly_soft_photo_still_passes(engine):
    soft = cv2.GaussianBlur(pixels("person_b_2"), (0, 0), 2)

    assert refusal(engine, jpeg(soft)) is None


@pytest.mark.parametrize("colour", [(15, 15, 15), (120, 140, 180)])
def test_covered_eyes_are_refused_as_eyes_not_visible(engine, colour):
    photo = pixels("person_b_1").copy()
    (face,) = engine.detect(photo)
    right_eye, left_eye = face.landmarks[0], face.landmarks[1]
    reach = float(np.linalg.norm(left_eye - right_eye))
    for eye in (right_eye, left_eye):
        centre = (int(eye[0]), int(eye[1]))
        cv2.ellipse(photo, centre, (int(reach * 0.35), int(reach * 0.22)), 0, 0, 360, colour, -1)

    assert refusal(engine, jpeg(photo)) is Refusal.EYES_NOT_VISIBLE


@pytest.mark.parametrize("data", [b"", b"GIF89a not really", b"\xff\xd8\xff" + bytes(100)])
def test_something_that_is_not_a_picture_is_refused_as_not_an_image(engine, data):
    assert refusal(engine, data) is Refusal.NOT_AN_IMAGE
