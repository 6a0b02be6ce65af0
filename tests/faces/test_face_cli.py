from __future__ import annotations

import json

from jijiao.cli import main
from tests.faces.conftest import PHOTOS


def run(monkeypatch, capsys, data_dir, *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("APP_DATA_DIR", str(data_dir))
    status = main(["face-verify", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_face_verify_prints_exactly_one_json_object_for_a_match(monkeypatch, capsys, data_dir):
    status, out, _ = run(
        monkeypatch,
        capsys,
        data_dir,
        str(PHOTOS / "person_b_1.jpg"),
        str(PHOTOS / "person_b_2.jpg"),
    )

    assert status == 0
    assert out.count("\n") == 1
    result = json.loads(out)
    assert list(result) == ["match", "score", "threshold", "reason"]
    assert result["match"] is True and result["reason"] is None
    assert result["score"] >= result["threshold"]


def test_face_verify_reports_different_people_and_exits_1(monkeypatch, capsys, data_dir):
    status, out, _ = run(
        monkeypatch,
        capsys,
        data_dir,
        str(PHOTOS / "person_a_2.jpg"),
        str(PHOTOS / "impostor_2.jpg"),
    )

    assert status == 1
    assert json.loads(out)["match"] is False


def test_face_verify_gives_the_quality_reason_and_names_the_photo(
    monkeypatch, capsys, data_dir, tmp_path
):
    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_text("hello")

    status, out, err = run(
        monkeypatch,
        capsys,
        data_dir,
        str(PHOTOS / "person_b_1.jpg"),
        str(not_a_photo),
        "--threshold",
        "0.5",
    )

    assert status == 1
    assert json.loads(out) == {
        "match": False,
        "score": 0.0,
        "threshold": 0.5,
        "reason": "not_an_image",
    }
    assert "probe photo was refused: not_an_image" in err


def test_face_verify_exits_2_without_json_for_a_missing_file(
    monkeypatch, capsys, data_dir, tmp_path
):
    status, out, err = run(
        monkeypatch,
        capsys,
        data_dir,
        str(tmp_path / "missing.jpg"),
        str(PHOTOS / "person_b_1.jpg"),
    )

    assert (status, out) == (2, "")
    assert "missing.jpg" in err
