"""Course content and exam question banks per certificate type, from versioned JSON files in
`content/courses/` and `content/exams/`.

Every text is given in every locale; a file that is not complete fails at start-up, not in
front of a trainee.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.exam import FALSE, TRUE, Question, QuestionKind
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


# Exam question banks (content/exams/<cert_type>.json, `include` pulls in `_<name>.json`).

EXAMS_DIR = Path(__file__).resolve().parents[1] / "content" / "exams"
TRUE_FALSE_TEXTS = {
    TRUE: {"zh_CN": "正确", "en": "True"},
    FALSE: {"zh_CN": "错误", "en": "False"},
}


@dataclass(frozen=True, slots=True)
class BankQuestion:
    rule: Question
    text: dict[str, str]
    options: dict[str, dict[str, str]]
    explanation: dict[str, str]

    @property
    def key(self) -> str:
        return self.rule.key


@dataclass(frozen=True, slots=True)
class Bank:
    cert_type: CertType
    version: int
    questions: tuple[BankQuestion, ...]
    by_key: dict[str, BankQuestion] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_key", {q.key: q for q in self.questions})

    def get(self, key: str) -> BankQuestion | None:
        return self.by_key.get(key)

    @property
    def rules(self) -> dict[str, Question]:
        return {q.key: q.rule for q in self.questions}


def _key(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.replace("_", "").isalnum() or len(value) > 40:
        raise ContentError(f"{where}: key must be letters, digits and _ (at most 40)")
    return value


def parse_question(raw: Any, where: str) -> BankQuestion:
    if not isinstance(raw, dict):
        raise ContentError(f"{where}: not an object")
    key = _key(raw.get("key"), where)
    where = f"{where} ({key})"
    try:
        kind = QuestionKind(str(raw.get("kind")))
    except ValueError:
        raise ContentError(f"{where}: kind must be single, multiple or truefalse") from None
    if kind is QuestionKind.TRUEFALSE:
        answer = raw.get("answer")
        if not isinstance(answer, bool) or "options" in raw:
            raise ContentError(f"{where}: a true/false question has a boolean answer, no options")
        options = dict(TRUE_FALSE_TEXTS)
        correct = frozenset({TRUE if answer else FALSE})
    else:
        raw_options = raw.get("options")
        if not isinstance(raw_options, list) or not 2 <= len(raw_options) <= 6:
            raise ContentError(f"{where}: needs 2 to 6 options")
        options, right = {}, set()
        for option in raw_options:
            if not isinstance(option, dict) or not isinstance(option.get("correct"), bool):
                raise ContentError(f"{where}: each option needs a key, texts and correct")
            option_key = _key(option.get("key"), where)
            options[option_key] = _texts(option.get("text"), f"{where} option {option_key}")
            if option["correct"]:
                right.add(option_key)
        if len(options) != len(raw_options):
            raise ContentError(f"{where}: option keys must be unique")
        if kind is QuestionKind.SINGLE and len(right) != 1:
            raise ContentError(f"{where}: a single-choice question has exactly one right option")
        if kind is QuestionKind.MULTIPLE and len(right) < 2:
            raise ContentError(f"{where}: a multiple-choice question has two right options or more")
        correct = frozenset(right)
    return BankQuestion(
        Question(key, kind, tuple(options), correct),
        _texts(raw.get("text"), where),
        options,
        _texts(raw.get("explanation"), f"{where} explanation"),
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ContentError(f"{path.name}: {exc}") from None
    if not isinstance(data, dict):
        raise ContentError(f"{path.name}: not an object")
    return data


def _questions(data: dict[str, Any], name: str) -> list[BankQuestion]:
    raw = data.get("questions")
    if not isinstance(raw, list):
        raise ContentError(f"{name}: needs a list of questions")
    return [parse_question(q, f"{name} question {i + 1}") for i, q in enumerate(raw)]


def load_banks(directory: Path = EXAMS_DIR, minimum: int = 40) -> dict[CertType, Bank]:
    """One bank per certificate type, each with at least `minimum` questions."""
    banks: dict[CertType, Bank] = {}
    for path in sorted(directory.glob("*.json")):
        if path.name.startswith("_"):
            continue
        data = _read(path)
        if path.stem != data.get("cert_type"):
            raise ContentError(f"{path.name}: file name must be the cert_type")
        try:
            cert_type = CertType(path.stem)
        except ValueError:
            raise ContentError(f"{path.name}: unknown cert_type") from None
        version = data.get("version")
        if not isinstance(version, int) or version < 1:
            raise ContentError(f"{path.name}: version must be a positive integer")
        questions = _questions(data, path.name)
        includes = data.get("include", [])
        if not isinstance(includes, list):
            raise ContentError(f"{path.name}: include must be a list of names")
        for name in includes:
            included = directory / f"_{name}.json"
            if not isinstance(name, str) or not included.is_file():
                raise ContentError(f"{path.name}: no bank _{name}.json to include")
            questions += _questions(_read(included), included.name)
        if len({q.key for q in questions}) != len(questions):
            raise ContentError(f"{path.name}: question keys must be unique, included ones too")
        if len(questions) < minimum:
            raise ContentError(f"{path.name}: {len(questions)} questions, {minimum} needed")
        banks[cert_type] = Bank(cert_type, version, tuple(questions))
    missing = [cert.value for cert in CertType if cert not in banks]
    if missing:
        raise ContentError(f"no question bank for {', '.join(missing)} in {directory}")
    return banks
