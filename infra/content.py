"""Course content per certificate type, from versioned JSON files in `content/courses/`.

Every text is given in every locale; a file that is not complete fails at start-up, not in
front of a trainee.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.locales import Locale
from domain.registry import CertType
from domain.study import required_seconds

COURSES_DIR = Path(__file__).resolve().parents[1] / "content" / "courses"
LOCALES = tuple(locale.value for locale in Locale)


class ContentError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Lesson:
    key: str
    title: dict[str, str]
    body: dict[str, tuple[str, ...]]
    required_minutes: float

    def required_seconds(self, scale: float) -> int:
        return required_seconds(self.required_minutes, scale)


@dataclass(frozen=True, slots=True)
class Course:
    cert_type: CertType
    version: int
    title: dict[str, str]
    lessons: tuple[Lesson, ...]

    def lesson(self, key: str) -> Lesson | None:
        return next((lesson for lesson in self.lessons if lesson.key == key), None)


def _texts(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or any(
        not isinstance(value.get(locale), str) or not value[locale].strip() for locale in LOCALES
    ):
        raise ContentError(f"{where}: needs a non-empty text for each of {', '.join(LOCALES)}")
    return {locale: value[locale] for locale in LOCALES}


def _paragraphs(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    result = {}
    for locale in LOCALES:
        paragraphs = value.get(locale) if isinstance(value, dict) else None
        if (
            not isinstance(paragraphs, list)
            or not paragraphs
            or not all(isinstance(p, str) and p.strip() for p in paragraphs)
        ):
            raise ContentError(f"{where}: needs a list of paragraphs for {locale}")
        result[locale] = tuple(paragraphs)
    return result


def parse_course(data: Any, name: str) -> Course:
    if not isinstance(data, dict):
        raise ContentError(f"{name}: not an object")
    try:
        cert_type = CertType(str(data.get("cert_type")))
    except ValueError:
        raise ContentError(f"{name}: unknown cert_type {data.get('cert_type')!r}") from None
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        raise ContentError(f"{name}: version must be a positive integer")
    raw_lessons = data.get("lessons")
    if not isinstance(raw_lessons, list) or not raw_lessons:
        raise ContentError(f"{name}: needs at least one lesson")
    lessons = []
    for index, raw in enumerate(raw_lessons):
        where = f"{name} lesson {index + 1}"
        if not isinstance(raw, dict):
            raise ContentError(f"{where}: not an object")
        key = raw.get("key")
        if not isinstance(key, str) or not key.replace("_", "").isalnum() or len(key) > 40:
            raise ContentError(f"{where}: key must be letters, digits and _")
        minutes = raw.get("required_minutes")
        if isinstance(minutes, bool) or not isinstance(minutes, int | float) or minutes <= 0:
            raise ContentError(f"{where}: required_minutes must be a positive number")
        lessons.append(
            Lesson(
                key, _texts(raw.get("title"), where), _paragraphs(raw.get("body"), where), minutes
            )
        )
    if len({lesson.key for lesson in lessons}) != len(lessons):
        raise ContentError(f"{name}: lesson keys must be unique")
    return Course(cert_type, version, _texts(data.get("title"), name), tuple(lessons))


def load_courses(directory: Path = COURSES_DIR) -> dict[CertType, Course]:
    """One course per certificate type, all of them present."""
    courses: dict[CertType, Course] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ContentError(f"{path.name}: {exc}") from None
        course = parse_course(data, path.name)
        if path.stem != course.cert_type.value:
            raise ContentError(f"{path.name}: file name must be the cert_type")
        courses[course.cert_type] = course
    missing = [cert.value for cert in CertType if cert not in courses]
    if missing:
        raise ContentError(f"no course for {', '.join(missing)} in {directory}")
    return courses
