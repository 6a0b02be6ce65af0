"""A web app with the study routes on a fresh database, the real face engine, signed viewers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from application.study import FaceStore, ReadyFaces, Study, StudyConfig
from infra.content import load_courses
from infra.db import models
from infra.faces import AsyncFaceEngine, FaceEngine, ensure_models
from infra.signing import Signer
from tests.support import registry
from tests.support.clock import FixedClock, days_from_today
from tests.support.webapp import signed_in_web_app
from webview.auth import SESSION_COOKIE, Sessions, Viewer
from webview.study import StudyWeb, add_study_routes

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "faces"
# 20-minute lessons become 12 s; beats every 10 s; a random check 30-60 s after a pass.
CONFIG = StudyConfig(
    minutes_scale=0.01,
    heartbeat=timedelta(seconds=10),
    check_interval=timedelta(seconds=60),
    check_answer=timedelta(seconds=60),
)
ZHANG, LI = 100001, 100002


def photo(name: str) -> bytes:
    return (PHOTOS / f"{name}.jpg").read_bytes()


@pytest.fixture(scope="session")
def face_engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncFaceEngine:
    return AsyncFaceEngine(FaceEngine(ensure_models(tmp_path_factory.mktemp("models"))))


async def seed_enrolment(
    user_id: int, number: str, paid_at, cert_type: str = "safety_c", state: str = "studying"
) -> int:
    person = await registry.holder(f"53010219850101{user_id % 10000:04d}", f"p{user_id}")
    await models.Binding.create(chat_user_id=user_id, person=person)
    certificate = await models.Certificate.create(
        number=number, cert_type=cert_type, person=person, expires_on=days_from_today(215)
    )
    enrolment = await models.Enrolment.create(
        certificate=certificate,
        channel="individual",
        enrolled_by=user_id,
        state=state,
        paid_at=paid_at,
        study_deadline=paid_at + timedelta(days=30),
    )
    return enrolment.id


class Trainees:
    """One test client; `as_user` switches whose session cookie it carries."""

    def __init__(self, client: TestClient, sessions: Sessions, clock: FixedClock) -> None:
        self.client = client
        self.sessions = sessions
        self.clock = clock

    def as_user(self, user_id: int, name: str = "张三") -> TestClient:
        jar = self.client.session.cookie_jar
        jar.clear()
        token = self.sessions.session_token(Viewer(user_id, name, "zh-hans"), self.clock.now())
        jar.update_cookies({SESSION_COOKIE: token})
        return self.client


@pytest.fixture
async def trainees(
    database, i18n, clock: FixedClock, aiohttp_client, face_engine, tmp_path: Path
) -> AsyncIterator[Trainees]:
    sessions = Sessions(Signer(b"k" * 32), session_ttl=30 * 86400, link_ttl=600)

    app = signed_in_web_app(i18n, clock, sessions)
    study = Study(
        load_courses(), ReadyFaces(face_engine), FaceStore(tmp_path / "faces"), CONFIG, lambda: 0.0
    )
    add_study_routes(app, StudyWeb(study))
    yield Trainees(await aiohttp_client(app), sessions, clock)
