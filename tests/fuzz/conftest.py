"""Fixtures for the hostile-input suite.

- `database`: the same migrated SQLite file per test as tests/conftest.py, but migrated once
  per session and copied (migrating takes seconds; the suite runs many short tests).
- `recording_bot`: the product's bot on a session that refuses what Telegram refuses
  (tests/fuzz/telegram.py), so a message Telegram would reject counts as unanswered.
- `site`: the whole web app as `jijiao.app.running` assembles it (web view, payments, study,
  exam, local chat), on the real services, with a small world of two trainees in it.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiohttp.test_utils import TestClient
from tortoise import connections

from application.exam import AttemptView
from application.study import PendingCheck, ReadyFaces
from bot.files import TelegramFiles
from domain.accounts import ChatUserId
from infra.db import apply_migrations, connection_name, models, open_database
from infra.db.exam_models import Receipt
from infra.db.study_models import FaceCheck
from infra.payments.sandbox import SandboxProvider
from infra.repositories.records import Records
from infra.signing import Signer
from jijiao.app import Services
from localchat import FloodLimits, LocalChat, LocalChatConfig, make_localchat_app
from tests.conftest import STAFF_GROUP_ID, TEST_TOKEN
from tests.fuzz.telegram import TelegramLikeSession
from tests.study.conftest import face_engine, photo  # noqa: F401 (a session fixture)
from tests.support import registry
from tests.support.app import free_port
from tests.support.clock import FixedClock, days_from_today
from tests.support.harness import harness_services
from tests.support.study import finish_lessons
from webview.app import make_web_app
from webview.auth import SESSION_COOKIE, Sessions, Viewer
from webview.exam import add_exam_routes
from webview.keys import WebConfig
from webview.payments import PaymentWeb, add_payment_routes
from webview.records import RecordsWeb, add_records_routes
from webview.study import StudyWeb, add_study_routes

_TEMPLATE: dict[str, Path] = {}


@pytest.fixture
async def database(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    if "path" not in _TEMPLATE:
        template = tmp_path_factory.mktemp("fuzz-db") / "template.sqlite3"
        await apply_migrations(f"sqlite://{template}")
        _TEMPLATE["path"] = template
    template = _TEMPLATE["path"]
    target = tmp_path / "test.sqlite3"
    for companion in template.parent.glob(template.name + "*"):
        shutil.copyfile(
            companion, target.parent / companion.name.replace(template.name, target.name)
        )
    url = f"sqlite://{target}"
    context = await open_database(url)
    yield url
    await context.close_connections()


@pytest.fixture
def recording_bot() -> Iterator[tuple[Bot, TelegramLikeSession]]:
    session = TelegramLikeSession()
    yield (
        Bot(TEST_TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)),
        session,
    )


# ---- the database, compared before and after -------------------------------------------------


async def snapshot(
    tables: tuple[str, ...] | None = None, *, user_id: int | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (or of `tables`); with `user_id`, only rows that carry that
    chat_user_id (tables without the column are taken whole)."""
    connection = connections.get(connection_name("sqlite://"))
    names = tables or tuple(
        row["name"]
        for row in await connection.execute_query_dict(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    )
    result: dict[str, list[dict[str, Any]]] = {}
    for name in names:
        rows = await connection.execute_query_dict(f'SELECT * FROM "{name}" ORDER BY rowid')
        if user_id is not None and rows and "chat_user_id" in rows[0]:
            rows = [row for row in rows if row["chat_user_id"] == user_id]
        result[name] = rows
    return result


def changed_tables(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(name for name in after if before.get(name) != after[name])


# ---- the whole web app -----------------------------------------------------------------------

VICTIM, ATTACKER, NEWCOMER = 100001, 100002, 100003
H = {"X-Requested-With": "jijiao"}


@dataclass
class World:
    victim_enrolments: list[int] = field(default_factory=list)
    attacker_enrolment: int = 0
    victim_attempt: int = 0
    victim_check: int = 0
    attacker_check: int = 0
    victim_receipt: int = 0
    receipt_token: str = ""
    order_number: str = ""
    checkout_token: str = ""
    lesson_keys: list[str] = field(default_factory=list)


@dataclass(repr=False)
class Site:
    client: TestClient
    sessions: Sessions
    clock: FixedClock
    services: Services
    provider: SandboxProvider
    session: TelegramLikeSession
    world: World
    # the fuzzers' request strategies, built once per test (see test_web_fuzz.hostile_requests)
    strategies: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Site({self.world})"

    def cookie(self, user_id: int, *, expired: bool = False) -> str:
        now = self.clock.now() - timedelta(days=60) if expired else self.clock.now()
        return self.sessions.session_token(Viewer(user_id, "张三", "zh-hans"), now)

    def link(self, user_id: int, *, expired: bool = False) -> str:
        now = self.clock.now() - timedelta(hours=1) if expired else self.clock.now()
        return self.sessions.link_token(Viewer(user_id, "张三", "zh-hans"), now)

    def as_user(self, user_id: int | None) -> TestClient:
        jar = self.client.session.cookie_jar
        jar.clear()
        if user_id is not None:
            jar.update_cookies({SESSION_COOKIE: self.cookie(user_id)})
        return self.client


async def _trainee(
    user_id: int, sequence: int, number: str, clock: FixedClock
) -> tuple[models.Person, int]:
    person = await registry.person(sequence, f"学员{sequence}", f"138000{sequence:05d}")
    await models.Binding.create(chat_user_id=user_id, person=person)
    return person, await _enrolment(user_id, person, number, clock)


async def _enrolment(user_id: int, person: models.Person, number: str, clock: FixedClock) -> int:
    certificate = await registry.certificate(person, number, "safety_c", days_from_today(215))
    paid_at = clock.now() - timedelta(days=1)
    enrolment = await models.Enrolment.create(
        certificate=certificate,
        active_key=number,
        channel="individual",
        enrolled_by=user_id,
        state="studying",
        paid_at=paid_at,
        study_deadline=paid_at + timedelta(days=30),
    )
    return enrolment.id


async def _start_exam(
    services: Services, user_id: int, enrolment_id: int, clock: FixedClock
) -> AttemptView:
    """Start, the face check that opens the attempt seeded as passed (the fuzzers aim at the
    web view, not at liveness), and start again."""
    enrolment = await services.study.enrolment(user_id, enrolment_id)
    assert enrolment is not None
    view = await services.exams.start(user_id, enrolment, clock.now())
    if isinstance(view, PendingCheck):
        await FaceCheck.filter(id=view.id).update(
            result="passed", answered_at=clock.now(), score=0.9
        )
        view = await services.exams.start(user_id, enrolment, clock.now())
    assert isinstance(view, AttemptView), view
    return view


async def _pass_exam(services: Services, user_id: int, enrolment_id: int, clock: FixedClock):
    exams = services.exams
    view = await _start_exam(services, user_id, enrolment_id, clock)
    for drawn in view.draw:
        correct = sorted(exams.questions[drawn.question].rule.correct)
        await exams.save(user_id, view.id, drawn.question, correct, clock.now())
    await exams.submit(user_id, view.id, clock.now())
    return await Receipt.get(enrolment_id=enrolment_id)


async def _world(site: Site) -> World:
    world = site.world
    services, clock = site.services, site.clock
    study = services.study
    # The victim: bound, photo taken, one enrolment passed (a receipt), one in the exam.
    person, first = await _trainee(VICTIM, 1, "云建安C(2024)0000001", clock)
    second = await _enrolment(VICTIM, person, "云建安C(2024)0000002", clock)
    world.victim_enrolments = [first, second]
    await study.consent(VICTIM, clock.now())
    assert await study.enrol_photo(VICTIM, photo("person_b_1"), clock.now()) is None
    for enrolment_id in (first, second):
        await finish_lessons(services.study, VICTIM, enrolment_id)
    receipt = await _pass_exam(services, VICTIM, first, clock)
    world.victim_receipt = receipt.id
    world.receipt_token = services.exams.receipt_token(receipt)
    enrolment = await study.enrolment(VICTIM, second)
    assert enrolment is not None
    attempt = await _start_exam(services, VICTIM, second, clock)
    world.victim_attempt = attempt.id
    check = await FaceCheck.create(  # a random check of the attempt, waiting for a selfie
        chat_user_id=VICTIM,
        enrolment_id=second,
        kind="random",
        requested_at=clock.now(),
        answer_by=clock.now() + timedelta(minutes=5),
    )
    world.victim_check = check.id
    world.lesson_keys = [lesson.key for lesson in study.course(enrolment).lessons]
    # The attacker: a trainee too, with consent but no photo yet, and a check of their own.
    _, world.attacker_enrolment = await _trainee(ATTACKER, 2, "云建安C(2024)0000003", clock)
    await study.consent(ATTACKER, clock.now())
    own = await FaceCheck.create(
        chat_user_id=ATTACKER,
        enrolment_id=world.attacker_enrolment,
        kind="random",
        requested_at=clock.now(),
        answer_by=clock.now() + timedelta(minutes=5),
    )
    world.attacker_check = own.id
    # An order waiting for payment, for the sandbox checkout.
    payer = await registry.person(3, "付款人", "13800000003")
    cert = await registry.certificate(
        payer, "云建安B(2024)0000004", "safety_b", days_from_today(124)
    )
    await models.Binding.create(chat_user_id=NEWCOMER, person=payer)
    await registry.enrolment(cert, NEWCOMER, "enrolled")
    await models.InvoiceProfile.create(chat_user_id=NEWCOMER, title="付款人")
    order = await services.handlers["place_order"](ChatUserId(NEWCOMER))
    world.order_number = order.number
    world.checkout_token = site.provider.checkout_token(order.number)
    return world


@pytest.fixture
async def site(
    database: str,
    i18n: Any,
    clock: FixedClock,
    aiohttp_client: Any,
    face_engine: Any,  # noqa: F811
    recording_bot: tuple[Bot, TelegramLikeSession],
    tmp_path: Path,
) -> Site:
    bot, session = recording_bot
    signer = Signer(b"k" * 32)
    sessions = Sessions(signer, session_ttl=12 * 3600, link_ttl=600)
    port = free_port()
    provider = SandboxProvider(f"http://127.0.0.1:{port}", b"s" * 32)
    services = harness_services(
        bot,
        i18n,
        clock,
        tmp_path,
        sessions=sessions,
        provider=provider,
        signer=signer,
        base_url=f"http://127.0.0.1:{port}",
    )
    services.study.faces = ReadyFaces(face_engine)  # the session's engine, loaded once
    app = make_web_app(
        config=WebConfig(TEST_TOKEN, f"http://127.0.0.1:{port}", 3600, True),
        i18n=i18n,
        sessions=sessions,
        clock=clock,
        accounts=services.handlers["accounts"],
        health_checks={},
    )
    chat = LocalChat(
        LocalChatConfig(
            token=TEST_TOKEN, staff_group_id=STAFF_GROUP_ID, limits=FloodLimits(enabled=False)
        )
    )
    app.add_subapp("/_local", make_localchat_app(chat))
    add_payment_routes(
        app,
        PaymentWeb(
            providers={provider.name: provider},
            apply_payment=services.apply_payment,
            find_order=services.payment_store.get,
            sandbox=provider,
            notify_base=f"http://127.0.0.1:{port}",
        ),
    )
    add_study_routes(app, StudyWeb(services.study))
    add_exam_routes(app, services.exams)
    add_records_routes(
        app,
        RecordsWeb(
            Records(services.handlers["pii"], services.study.courses, 1.0),
            services.exams.receipt_files,
            TelegramFiles(bot),
        ),
    )
    client = await aiohttp_client(app, server_kwargs={"port": port})
    result = Site(client, sessions, clock, services, provider, session, World())
    await _world(result)
    return result
