"""A web app with the study and exam routes on a fresh database, the real face engine, a
notifier that records what the chat would hear."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from application.exam import ExamConfig, Exams
from application.study import FaceStore, ReadyFaces, Study
from domain.exam import Attempt
from infra.content import load_banks, load_courses
from infra.db import models
from infra.outbox import TortoiseOutbox
from infra.signing import Signer
from tests.study.conftest import CONFIG, Trainees, face_engine, photo, seed_enrolment  # noqa: F401
from tests.support import registry
from tests.support.clock import FixedClock
from tests.support.selfies import selfie
from tests.support.study import finish_lessons
from tests.support.webapp import signed_in_web_app
from webview.auth import Sessions
from webview.exam import add_exam_routes
from webview.study import StudyWeb, add_study_routes

H = {"X-Requested-With": "jijiao"}
JPEG = {**H, "Content-Type": "image/jpeg"}
QUESTIONS = 10
TIME_LIMIT = timedelta(minutes=30)


@dataclass
class RecordingNotifier:
    passed_calls: list[tuple[int, int]] = field(default_factory=list)
    timed_out_calls: list[tuple[int, Attempt, bool]] = field(default_factory=list)
    warnings: list[tuple[int, int, datetime]] = field(default_factory=list)

    async def passed(self, user_id: int, receipt_id: int) -> None:
        self.passed_calls.append((user_id, receipt_id))

    async def timed_out(self, user_id: int, attempt: Attempt, passed: bool) -> None:
        self.timed_out_calls.append((user_id, attempt, passed))

    async def ten_minutes_left(self, user_id: int, attempt_id: int, deadline: datetime) -> None:
        self.warnings.append((user_id, attempt_id, deadline))

    held_calls: list[tuple[int, Attempt]] = field(default_factory=list)
    rejected_calls: list[tuple[int, Attempt, list[tuple[datetime, str]]]] = field(
        default_factory=list
    )

    async def held(self, user_id: int, attempt: Attempt) -> None:
        self.held_calls.append((user_id, attempt))

    async def identity_rejected(
        self, user_id: int, attempt: Attempt, reasons: list[tuple[datetime, str]]
    ) -> None:
        self.rejected_calls.append((user_id, attempt, reasons))


class Examinees(Trainees):
    def __init__(self, trainees: Trainees, exams: Exams, notifier: RecordingNotifier) -> None:
        super().__init__(trainees.client, trainees.sessions, trainees.clock)
        self.exams = exams
        self.notifier = notifier

    async def ready(
        self, user_id: int, number: str, *, finished: bool = True, **certificate: object
    ) -> int:
        """A paid enrolment with the enrolment photo taken and (by default) every lesson at
        100 %. `certificate` sets the certificate's fields (cert_type, role, category)."""
        enrolment_id = await seed_enrolment(user_id, number, self.clock.now() - timedelta(days=1))
        if certificate:
            await models.Certificate.filter(number=number).update(**certificate)
        client = self.as_user(user_id)
        assert (await client.post("/app/api/study/consent", headers=H)).status == 200
        response = await client.post("/app/api/study/photo", data=photo("person_b_1"), headers=JPEG)
        assert response.status == 200, await response.text()
        if finished:
            await finish_lessons(self.exams.study, user_id, enrolment_id)
        return enrolment_id

    async def start(self, user_id: int, enrolment_id: int) -> dict:
        """Tap "start" and, when a face check opens the attempt, pass it with a fresh selfie and
        tap again: what the exam home does."""
        started = await self.tap_start(user_id, enrolment_id)
        if started.get("check") is None or started.get("ok"):
            return started
        answered = await self.answer_check(user_id, started["check"]["id"], selfie())
        assert answered["result"] == "passed", answered
        return await self.tap_start(user_id, enrolment_id)

    async def tap_start(self, user_id: int, enrolment_id: int) -> dict:
        response = await self.as_user(user_id).post(
            "/app/api/exam/start", json={"enrolment": enrolment_id}, headers=H
        )
        return {"status": response.status, **(await response.json())}

    async def answer_check(self, user_id: int, check_id: int, picture: bytes) -> dict:
        response = await self.as_user(user_id).post(
            f"/app/api/study/checks/{check_id}", data=picture, headers=JPEG
        )
        assert response.status == 200, await response.text()
        return await response.json()

    async def answer(self, user_id: int, attempt_id: int, question: str, options: list[str]):
        return await self.as_user(user_id).post(
            f"/app/api/exam/attempt/{attempt_id}/answer",
            json={"question": question, "options": options},
            headers=H,
        )

    async def draw(self, attempt_id: int) -> list[tuple[str, tuple[str, ...]]]:
        from infra.db.exam_models import ExamAttempt

        row = await ExamAttempt.get(id=attempt_id)
        return [(item["q"], tuple(item["o"])) for item in row.draw]

    def right(self, question: str) -> list[str]:
        return sorted(self.exams.questions[question].rule.correct)

    def wrong(self, question: str) -> list[str]:
        rule = self.exams.questions[question].rule
        return [next(o for o in rule.options if o not in rule.correct)]

    async def answer_all(self, user_id: int, attempt_id: int, right: int) -> None:
        """The first `right` questions answered right, the rest wrong."""
        for n, (question, _) in enumerate(await self.draw(attempt_id)):
            options = self.right(question) if n < right else self.wrong(question)
            response = await self.answer(user_id, attempt_id, question, options)
            assert response.status == 200, await response.text()

    async def submit(self, user_id: int, attempt_id: int) -> dict:
        response = await self.as_user(user_id).post(
            f"/app/api/exam/attempt/{attempt_id}/submit", headers=H
        )
        assert response.status == 200, await response.text()
        return await response.json()


@pytest.fixture
async def examinees(
    database,
    i18n,
    clock: FixedClock,
    aiohttp_client,
    face_engine,  # noqa: F811 (the study tests' session fixture, imported above)
    tmp_path: Path,
) -> AsyncIterator[Examinees]:
    signer = Signer(b"k" * 32)
    sessions = Sessions(signer, session_ttl=30 * 86400, link_ttl=600)

    app = signed_in_web_app(i18n, clock, sessions)
    study = Study(
        load_courses(), ReadyFaces(face_engine), FaceStore(tmp_path / "faces"), CONFIG, lambda: 0.0
    )
    notifier = RecordingNotifier()
    exams = Exams(
        load_banks(),
        study,
        signer,
        registry.PII,
        ExamConfig(
            questions=QUESTIONS,
            time_limit=TIME_LIMIT,
            verify_base="http://verify.test",
            receipts_dir=tmp_path / "receipts",
        ),
        notifier=notifier,
        rng=random.Random(5),
        outbox=TortoiseOutbox(),
    )
    add_study_routes(app, StudyWeb(study))
    add_exam_routes(app, exams)
    trainees = Trainees(await aiohttp_client(app), sessions, clock)
    yield Examinees(trainees, exams, notifier)
