"""The course catalogue a training centre edits (content/courses/, docs/courses.md): checked at
start-up, every problem naming the file and the field; the demo says its hours are illustrative
(issue 18, item 5)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.registry import CertType, SiteRole
from domain.study import class_hours, hours_backed_by_minutes
from infra.content import (
    COURSES_DIR,
    ContentError,
    check_banks,
    load_banks,
    load_courses,
    parse_course,
)


def course_file(directory: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / name).read_text(encoding="utf-8"))
    return data


def write(directory: Path, name: str, data: dict[str, Any]) -> None:
    (directory / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    """A copy of the demo catalogue to break."""
    directory = tmp_path / "courses"
    shutil.copytree(COURSES_DIR, directory)
    return directory


def refusal(directory: Path) -> str:
    with pytest.raises(ContentError) as raised:
        load_courses(directory)
    return str(raised.value)


def test_the_demo_catalogue_has_a_course_per_type_and_says_its_hours_are_illustrative():
    catalogue = load_courses()
    assert set(catalogue) == set(CertType)
    assert all(course.illustrative for course in catalogue.all())
    assert {SiteRole.CONSTRUCTION, SiteRole.QUALITY} <= set(catalogue.roles)
    check_banks(catalogue, load_banks())  # every course's exam bank is there


def test_a_role_takes_its_own_course_and_a_role_without_one_the_types():
    catalogue = load_courses()
    site_pro = catalogue[CertType.SITE_PRO]
    assert (
        catalogue.for_certificate("site_pro", SiteRole.CONSTRUCTION).role is SiteRole.CONSTRUCTION
    )
    assert catalogue.for_certificate("site_pro", SiteRole.RECORDS) is site_pro
    assert catalogue.for_certificate("site_pro", None) is site_pro
    assert catalogue.for_certificate("safety_c", None) is catalogue[CertType.SAFETY_C]


def test_a_missing_english_lesson_title_names_the_file_the_lesson_and_the_language(catalogue):
    data = course_file(catalogue, "safety_b.json")
    del data["lessons"][1]["title"]["en"]
    write(catalogue, "safety_b.json", data)
    assert refusal(catalogue) == "safety_b.json: lessons #2.title: text missing for en"


def test_a_bad_value_names_the_field():
    cases = {
        ("required_minutes", 0): "lessons #1.required_minutes: Input should be greater than 0",
        ("key", "第一课"): "lessons #1.key: String should match pattern",
    }
    for (field, value), expected in cases.items():
        data = course_file(COURSES_DIR, "rigger.json")
        data["lessons"][0][field] = value
        with pytest.raises(ContentError) as raised:
            parse_course(data, "rigger.json")
        assert str(raised.value).startswith(f"rigger.json: {expected}")


def test_unknown_fields_and_roles_are_refused_with_their_names(catalogue):
    data = course_file(catalogue, "tower_crane.json")
    data["class_hour"] = 24  # a typo must not pass silently
    write(catalogue, "tower_crane.json", data)
    assert "tower_crane.json: class_hour: Extra inputs are not permitted" in refusal(catalogue)

    data = course_file(catalogue, "site_pro.construction.json")
    data["role"] = "foreman"
    write(catalogue, "site_pro.construction.json", data)
    assert "site_pro.construction.json: role: Input should be 'construction'" in refusal(catalogue)


def test_a_real_catalogue_must_back_its_class_hours_with_study_time(catalogue):
    data = course_file(catalogue, "safety_a.json")
    data["illustrative"] = False  # 24 class hours on 55 minutes of lessons
    write(catalogue, "safety_a.json", data)
    message = refusal(catalogue)
    assert message.startswith("safety_a.json: class_hours 24 need at least 1080 required_minutes")

    data["class_hours"] = 1.2
    write(catalogue, "safety_a.json", data)
    assert not load_courses(catalogue)[CertType.SAFETY_A].illustrative


def test_file_names_follow_type_and_role_and_every_type_has_a_course(catalogue):
    (catalogue / "site_pro.quality.json").rename(catalogue / "site_pro.inspector.json")
    assert "site_pro.inspector.json: cert_type and role say this file is site_pro.quality.json" in (
        refusal(catalogue)
    )
    (catalogue / "site_pro.inspector.json").unlink()
    (catalogue / "rigger.json").unlink()
    assert refusal(catalogue).startswith("no course for rigger in")


def test_a_course_naming_a_missing_or_foreign_exam_bank_is_refused(catalogue):
    banks = load_banks()
    data = course_file(catalogue, "safety_b.json")
    data["exam_bank"] = "safety_b.v2"
    write(catalogue, "safety_b.json", data)
    with pytest.raises(ContentError, match=r"safety_b.json: exam_bank: no question bank"):
        check_banks(load_courses(catalogue), banks)
    data["exam_bank"] = "safety_c"
    write(catalogue, "safety_b.json", data)
    with pytest.raises(ContentError, match=r"safety_c.json is a bank for safety_c, not safety_b"):
        check_banks(load_courses(catalogue), banks)


@given(st.floats(min_value=1, max_value=20_000, allow_nan=False))
def test_the_hours_a_receipt_prints_from_the_minutes_are_always_backed(minutes: float):
    assert hours_backed_by_minutes(class_hours(minutes), minutes)


@given(
    st.floats(min_value=0.1, max_value=200, allow_nan=False),
    st.floats(min_value=0, max_value=20_000, allow_nan=False),
    st.floats(min_value=0, max_value=1_000, allow_nan=False),
)
def test_more_study_time_never_unbacks_hours_and_more_hours_never_back_them(
    hours: float, minutes: float, more: float
):
    if hours_backed_by_minutes(hours, minutes):
        assert hours_backed_by_minutes(hours, minutes + more)
    else:
        assert not hours_backed_by_minutes(hours + more, minutes)


@given(st.floats(min_value=1, max_value=200, allow_nan=False))
def test_hours_need_about_45_minutes_each(hours: float):
    assert hours_backed_by_minutes(hours, hours * 45)
    assert not hours_backed_by_minutes(hours, hours * 45 - 5)
