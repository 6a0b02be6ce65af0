"""Course content and exam question banks per certificate type, from versioned JSON files in
`content/courses/` and `content/exams/`.

Every text is given in every locale; a file that is not complete fails at start-up, not in
front of a trainee.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from domain.exam import FALSE, TRUE, Question, QuestionKind
from domain.locales import Locale
from domain.registry import CertType, SiteRole
from domain.study import (
    CLASS_HOUR_MINUTES,
    hours_backed_by_minutes,
    minimum_minutes,
    required_seconds,
)

COURSES_DIR = Path(__file__).resolve().parents[1] / "content" / "courses"
LOCALES = tuple(locale.value for locale in Locale)


class ContentError(ValueError):
    pass


# ---- the course catalogue: what a training centre edits (docs/courses.md) ----------------------

_KEY = r"^[A-Za-z0-9_]{1,40}$"


def _all_locales(value: dict[str, Any], what: str) -> dict[str, Any]:
    missing = [locale for locale in LOCALES if not value.get(locale)]
    if missing:
        raise ValueError(f"{what} missing for {', '.join(missing)}")
    extra = sorted(set(value) - set(LOCALES))
    if extra:
        raise ValueError(f"unknown language {', '.join(extra)} (known: {', '.join(LOCALES)})")
    return value


Text = Annotated[
    dict[str, Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]],
    AfterValidator(lambda v: _all_locales(v, "text")),
]
Paragraphs = Annotated[
    dict[
        str,
        Annotated[
            list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]],
            Field(min_length=1),
        ],
    ],
    AfterValidator(lambda v: _all_locales(v, "paragraphs")),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LessonFile(_Strict):
    key: Annotated[str, Field(pattern=_KEY)]
    title: Text
    body: Paragraphs
    required_minutes: Annotated[float, Field(gt=0, le=24 * 60)]


class CourseFile(_Strict):
    """One file of content/courses/: a certificate type's course, or one role's (现场专业人员)."""

    cert_type: CertType
    role: SiteRole | None = None
    version: Annotated[int, Field(ge=1)]
    title: Text
    # 学时 the receipt prints: the centre's figure for this course (manual L95: "每个工种的
    # 课时" differ per trade), not something computed from the lesson minutes.
    class_hours: Annotated[float, Field(gt=0, le=200)]
    # A demo catalogue says so: its hours are illustrative, and every page printing them says it.
    illustrative: bool = False
    exam_bank: Annotated[str, Field(pattern=r"^[a-z_]+(\.[a-z0-9_]+)?$")] | None = None
    lessons: Annotated[list[LessonFile], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> CourseFile:
        if self.role is not None and self.cert_type is not CertType.SITE_PRO:
            raise ValueError("role is only for cert_type site_pro (现场专业人员)")
        keys = [lesson.key for lesson in self.lessons]
        if len(set(keys)) != len(keys):
            raise ValueError("lesson keys must be unique")
        minutes = sum(lesson.required_minutes for lesson in self.lessons)
        if not self.illustrative and not hours_backed_by_minutes(self.class_hours, minutes):
            raise ValueError(
                f"class_hours {self.class_hours:g} need at least "
                f"{minimum_minutes(self.class_hours):g} required_minutes of lessons "
                f"({CLASS_HOUR_MINUTES} per class hour); the lessons have {minutes:g}. Mark a "
                'demo catalogue "illustrative": true'
            )
        return self


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
    class_hours: float = 0.0
    role: SiteRole | None = None
    illustrative: bool = False
    exam_bank: str = ""

    def lesson(self, key: str) -> Lesson | None:
        return next((lesson for lesson in self.lessons if lesson.key == key), None)

    @property
    def minutes(self) -> float:
        return sum(lesson.required_minutes for lesson in self.lessons)

    @property
    def file_stem(self) -> str:
        return f"{self.cert_type.value}.{self.role.value}" if self.role else self.cert_type.value


class Catalogue(dict[CertType, Course]):
    """Each certificate type's course (what `catalogue[cert_type]` gives), and the courses of
    single roles of 现场专业人员, which a certificate of that role takes instead."""

    def __init__(
        self, courses: dict[CertType, Course], roles: dict[SiteRole, Course] | None = None
    ) -> None:
        super().__init__(courses)
        self.roles = dict(roles or {})

    def for_certificate(self, cert_type: CertType | str, role: SiteRole | None) -> Course:
        cert_type = CertType(cert_type)
        if role is not None and cert_type is CertType.SITE_PRO and role in self.roles:
            return self.roles[role]
        return self[cert_type]

    def all(self) -> list[Course]:
        return [*self.values(), *self.roles.values()]


def _problem(error: Any) -> str:
    """`lessons #2.title: Field required`: counted from 1, as an editor counts lessons."""
    where = "".join(
        f" #{part + 1}" if isinstance(part, int) else f"{'.' if i else ''}{part}"
        for i, part in enumerate(error["loc"])
    )
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def parse_course(data: Any, name: str) -> Course:
    """A course file, validated: every problem names the file and the field."""
    try:
        parsed = CourseFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors())
        raise ContentError(f"{name}: {problems}") from None
    return Course(
        cert_type=parsed.cert_type,
        version=parsed.version,
        title=dict(parsed.title),
        lessons=tuple(
            Lesson(
                lesson.key,
                dict(lesson.title),
                {locale: tuple(ps) for locale, ps in lesson.body.items()},
                lesson.required_minutes,
            )
            for lesson in parsed.lessons
        ),
        class_hours=parsed.class_hours,
        role=parsed.role,
        illustrative=parsed.illustrative,
        exam_bank=parsed.exam_bank or parsed.cert_type.value,
    )


def load_courses(directory: Path = COURSES_DIR) -> Catalogue:
    """Every course file of the catalogue, checked at start-up: one course per certificate
    type (`<cert_type>.json`), and optional role courses (`site_pro.<role>.json`)."""
    courses: dict[CertType, Course] = {}
    roles: dict[SiteRole, Course] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ContentError(f"{path.name}: not valid JSON: {exc}") from None
        course = parse_course(data, path.name)
        if path.stem != course.file_stem:
            raise ContentError(
                f"{path.name}: cert_type and role say this file is {course.file_stem}.json"
            )
        if course.role is not None:
            roles[course.role] = course
        else:
            courses[course.cert_type] = course
    missing = [cert.value for cert in CertType if cert not in courses]
    if missing:
        raise ContentError(f"no course for {', '.join(missing)} in {directory}")
    return Catalogue(courses, roles)


def check_banks(catalogue: Catalogue, banks: dict[str, Bank]) -> None:
    """Each course's exam bank exists and is for the course's certificate type."""
    for course in catalogue.all():
        bank = banks.get(course.exam_bank)
        if bank is None:
            raise ContentError(
                f"{course.file_stem}.json: exam_bank: no question bank "
                f"content/exams/{course.exam_bank}.json"
            )
        if bank.cert_type is not course.cert_type:
            raise ContentError(
                f"{course.file_stem}.json: exam_bank: {course.exam_bank}.json is a bank for "
                f"{bank.cert_type.value}, not {course.cert_type.value}"
            )


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


def _texts(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or any(
        not isinstance(value.get(locale), str) or not value[locale].strip() for locale in LOCALES
    ):
        raise ContentError(f"{where}: needs a non-empty text for each of {', '.join(LOCALES)}")
    return {locale: value[locale] for locale in LOCALES}


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


def load_banks(directory: Path = EXAMS_DIR, minimum: int = 40) -> dict[str, Bank]:
    """Banks by name (the file's): one per certificate type (`<cert_type>.json`), and any a
    course names (`<cert_type>.<name>.json`), each with at least `minimum` questions."""
    banks: dict[str, Bank] = {}
    for path in sorted(directory.glob("*.json")):
        if path.name.startswith("_"):
            continue
        data = _read(path)
        if path.stem.split(".")[0] != data.get("cert_type"):
            raise ContentError(f"{path.name}: cert_type: the file name must start with it")
        try:
            cert_type = CertType(str(data.get("cert_type")))
        except ValueError:
            raise ContentError(f"{path.name}: cert_type: unknown") from None
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
        banks[path.stem] = Bank(cert_type, version, tuple(questions))
    missing = [cert.value for cert in CertType if cert.value not in banks]
    if missing:
        raise ContentError(f"no question bank for {', '.join(missing)} in {directory}")
    return banks
