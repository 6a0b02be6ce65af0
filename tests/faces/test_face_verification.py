from __future__ import annotations

import io
import itertools

import cv2
import numpy as np
import pytest
from PIL import Image

from infra.faces import FaceConfig, FaceEngine, Refusal
from infra.faces.engine import DETECTOR_SIZE, align
from tests.faces.conftest import NAMES, SAME_PERSON, photo, pixels

IMPOSTOR_PAIRS = [
    pair for pair in itertools.combinations(NAMES, 2) if frozenset(pair) not in SAME_PERSON
]
QUALITY_CODES = {code.value for code in Refusal}


@pytest.mark.parametrize(
    ("reference", "probe"),
    [
        ("person_b_1", "person_b_2"),
        ("person_b_2", "person_b_1"),
        ("person_a_2", "person_a_1"),
        ("person_a_1", "person_a_2"),
    ],
)
def test_the_same_person_years_apart_matches_or_the_poor_photo_is_refused_with_a_reason(
    engine, reference, probe
):
    result = engine.verify(photo(reference), photo(probe))

    if "person_a_1" in (reference, probe) and not result.match:
        assert result.reason in QUALITY_CODES
    else:
        assert result.match, result
        assert result.reason is None
        assert result.score >= result.threshold


@pytest.mark.parametrize(("reference", "probe"), IMPOSTOR_PAIRS)
def test_two_different_people_never_match(engine, reference, probe):
    for first, second in ((reference, probe), (probe, reference)):
        result = engine.verify(photo(first), photo(second))
        assert not result.match, (first, second, result)
        assert result.score < result.threshold


def test_the_threshold_lies_between_the_measured_impostor_and_genuine_scores(engine):
    embeddings = {name: engine.analyse(photo(name)).embedding for name in NAMES}
    scores = {
        frozenset(pair): float(embeddings[pair[0]] @ embeddings[pair[1]])
        for pair in itertools.combinations(NAMES, 2)
    }
    genuine = [score for pair, score in scores.items() if pair in SAME_PERSON]
    impostor = [score for pair, score in scores.items() if pair not in SAME_PERSON]

    assert max(impostor) + 0.1 < engine.config.threshold < min(genuine) - 0.1


def test_the_detector_decoder_agrees_with_opencvs_yunet(engine, models):
    image = pixels("person_b_2")
    factor = DETECTOR_SIZE / max(image.shape[:2])
    small = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    canvas = np.zeros((DETECTOR_SIZE, DETECTOR_SIZE, 3), np.uint8)
    canvas[: small.shape[0], : small.shape[1]] = small
    opencv = cv2.FaceDetectorYN.create(str(models.detector), "", canvas.shape[1::-1], 0.6)

    _, expected = opencv.detect(canvas)
    (face,) = engine.detect(canvas)

    np.testing.assert_allclose(face.box, expected[0, :4], atol=0.01)
    np.testing.assert_allclose(face.landmarks, expected[0, 4:14].reshape(5, 2), atol=0.01)
    assert face.score == pytest.approx(float(expected[0, 14]), abs=1e-4)


def test_embeddings_equal_opencvs_own_sface_on_the_same_crop(engine, models):
    image = pixels("impostor_2")
    (face,) = engine.detect(image)
    aligned = align(image, face.landmarks)
    opencv = cv2.FaceRecognizerSF.create(str(models.recognizer), "")

    expected = opencv.feature(aligned).ravel()

    assert float(engine.embed(aligned) @ expected / np.linalg.norm(expected)) > 0.9999


def test_a_face_is_matched_against_its_own_photo_scaled_down_and_recompressed(engine):
    image = pixels("person_b_2")
    small = cv2.resize(image, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA)
    probe = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 60])[1].tobytes()

    assert engine.verify(photo("person_b_1"), probe).match


def test_the_result_names_which_photo_the_gate_refused(engine):
    result = engine.verify(photo("person_b_1"), b"not a picture")

    assert (result.match, result.reason, result.photo) == (False, "not_an_image", "probe")
    assert result.as_json() == {
        "match": False,
        "score": 0.0,
        "threshold": engine.config.threshold,
        "reason": "not_an_image",
    }


def test_a_stricter_threshold_from_the_settings_is_applied(models):
    strict = FaceEngine(models, FaceConfig(threshold=0.9))

    result = strict.verify(photo("person_b_1"), photo("person_b_2"))

    assert (result.match, result.threshold) == (False, 0.9)


def test_a_phone_photo_stored_sideways_with_an_orientation_tag_is_turned_upright(engine):
    sideways = cv2.rotate(pixels("person_b_2"), cv2.ROTATE_90_COUNTERCLOCKWISE)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display", as phones write it
    buffer = io.BytesIO()
    Image.fromarray(sideways[:, :, ::-1]).save(buffer, "JPEG", exif=exif.tobytes())

    assert engine.verify(photo("person_b_1"), buffer.getvalue()).match
