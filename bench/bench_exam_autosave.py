"""Exam autosaves per second with 500 trainees answering at once, on the embedded default
(SQLite) and on PostgreSQL, beside a bare aiohttp handler, in one run.

Product: the real web app (session cookie, locale middleware, the CSRF header, Exams.save: one
statement that checks the attempt and merges the answer with its timeline event, then the
face-check look-up)
serving POST /app/api/exam/attempt/{id}/answer. Bare: an aiohttp app whose one POST handler reads
the JSON and answers {"ok": true}. Both get the same load from the same process: 500 takers,
each with its own session cookie and one request in flight, over a shared keep-alive connector.
Rounds alternate so machine noise hits both alike; the client's own cost is in both figures.
At the end every attempt's saved answers must equal the last answer its taker sent.

PostgreSQL at JIJIAO_TEST_POSTGRES_URL (a fresh database per run, dropped afterwards) when it is
reachable, else skipped with the reason.

JIJIAO_BENCH_TAKERS sets the number of takers (500 by default; the issue's large-scale figure
is 2,000), JIJIAO_BENCH_DATABASES which databases run (`sqlite,postgres` by default): the
BENCH line says `takers=`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from aiohttp import ClientResponse, ClientSession, DummyCookieJar, TCPConnector, web
from redis.asyncio import Redis
from redis.exceptions import RedisError
from tortoise.transactions import in_transaction

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from application.exam import AttemptView, ExamConfig, Exams
from application.study import LazyFaces, PendingCheck
from domain.clock import Clock
from domain.exam import QuestionKind
from domain.registry import CertType
from infra.content import load_banks
from infra.db import models, open_database
from infra.db.exam_models import ExamAttempt, ExamEvent
from infra.db.study_models import FaceCheck, LessonProgress
from infra.i18n import make_i18n
from infra.pii import Pii
from infra.repositories.accounts import TortoiseAccountRepository
from infra.settings import ExamSection, StudySection
from infra.signing import Signer
from jijiao.app import make_study
from tests.support import registry
from tests.support.app import free_port
from tests.support.databases import POSTGRES_URL, new_database, unreachable
from webview.app import make_web_app
from webview.auth import SESSION_COOKIE, Sessions, Viewer
from webview.exam import add_exam_routes
from webview.keys import WebConfig
from webview.study import StudyWeb, add_study_routes

TAKERS = int(os.environ.get("JIJIAO_BENCH_TAKERS", "500"))
DATABASES = os.environ.get("JIJIAO_BENCH_DATABASES", "sqlite,postgres").split(",")
ANSWERS = 10  # per taker and round, measured
WARMUP = 1  # per taker and round, before the clock starts (opens the 500 connections)
ROUNDS = 2  # per database: bare and product alternate
FIRST_USER = 300000
CERT_TYPE = CertType.SAFETY_C
POSTGRES = POSTGRES_URL
TOKEN = "7000000001:bench"
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
PII = Pii.from_signer(Signer(b"b" * 32))


class FixedClock:
    """Time stands still: no attempt's deadline passes and no face check falls due mid-run."""

    def now(self) -> datetime:
        return NOW


@dataclass
class Taker:
    user_id: int
    attempt_id: int
    cookie: str
    # (question key, kind, option keys) of the attempt's draw
    questions: list[tuple[str, QuestionKind, tuple[str, ...]]]
    # What the server should hold: question -> the options last sent for it.
    sent: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Load:
    rps: float
    latencies: list[float]
    failures: dict[int, int]
    requests: int

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def postgres_problem() -> str | None:
    return unreachable(POSTGRES)


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A new, empty database on the PostgreSQL server at POSTGRES, dropped afterwards."""
    async with new_database(POSTGRES, "jijiao_bench") as url:
        yield url


class Unavailable(Exception):
    """A server the benchmark needs does not answer; the message says which and why."""


@contextlib.asynccontextmanager
async def servers(label: str, redis_url: str) -> AsyncIterator[tuple[str, Redis, Path]]:
    """For the benchmarks that run the app as production does (load, soak): a fresh PostgreSQL
    database, open; Redis at `redis_url`, emptied before and after; a temporary folder.
    Unavailable (before anything starts) when PostgreSQL or Redis is not there."""
    problem = postgres_problem()
    if problem is not None:
        raise Unavailable(f"{label} skipped: PostgreSQL unreachable ({problem})")
    redis = Redis.from_url(redis_url)
    try:
        await redis.flushdb()
    except (RedisError, OSError) as exc:
        await redis.aclose()
        raise Unavailable(f"{label} skipped: Redis at {redis_url} unreachable ({exc})") from None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with fresh_database() as url:
                context = await open_database(url)
                try:
                    yield url, redis, Path(tmp)
                finally:
                    await context.close_connections()
    finally:
        await redis.flushdb()
        await redis.aclose()


def answer(taker: Taker, rng: random.Random) -> tuple[str, list[str]]:
    """A question of the taker's draw and a valid pick for it."""
    key, kind, options = rng.choice(taker.questions)
    count = rng.randint(1, min(3, len(options))) if kind is QuestionKind.MULTIPLE else 1
    return key, sorted(rng.sample(options, count))


def page_request(
    http: ClientSession, base: str, taker: Taker, kind: str, rng: random.Random
) -> AbstractAsyncContextManager[ClientResponse]:
    """The load and soak benchmarks' web traffic: the study page, or an answer saved."""
    headers = {"Cookie": f"{SESSION_COOKIE}={taker.cookie}"}
    if kind == "study":
        return http.get(f"{base}/app/study", headers=headers)
    question, options = answer(taker, rng)
    return http.post(
        f"{base}/app/api/exam/attempt/{taker.attempt_id}/answer",
        json={"question": question, "options": options},
        headers={**headers, "X-Requested-With": "jijiao"},
    )


async def drive(port: int, takers: list[Taker], seed: int, record: bool) -> Load:
    """WARMUP then ANSWERS answers from every taker, one request in flight each; the rate is
    of the second part only."""
    connector = TCPConnector(limit=TAKERS)
    latencies: list[float] = []
    failures: dict[int, int] = {}

    async def take(taker: Taker, count: int, rng: random.Random, timed: bool) -> None:
        url = f"http://127.0.0.1:{port}/app/api/exam/attempt/{taker.attempt_id}/answer"
        headers = {"X-Requested-With": "jijiao", "Cookie": f"{SESSION_COOKIE}={taker.cookie}"}
        for _ in range(count):
            question, options = answer(taker, rng)
            started = time.perf_counter()
            async with client.post(
                url, json={"question": question, "options": options}, headers=headers
            ) as response:
                await response.read()
                status = response.status
            if timed:
                latencies.append(time.perf_counter() - started)
            if status != 200:
                failures[status] = failures.get(status, 0) + 1
            elif record:
                taker.sent[question] = options

    async with ClientSession(connector=connector, cookie_jar=DummyCookieJar()) as client:
        rngs = [random.Random(seed * 100_000 + n) for n in range(len(takers))]
        await asyncio.gather(
            *(take(t, WARMUP, r, False) for t, r in zip(takers, rngs, strict=True))
        )
        started = time.perf_counter()
        await asyncio.gather(
            *(take(t, ANSWERS, r, True) for t, r in zip(takers, rngs, strict=True))
        )
        elapsed = time.perf_counter() - started
    return Load(len(latencies) / elapsed, latencies, failures, len(takers) * (WARMUP + ANSWERS))


async def serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


def bare_app() -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        await request.json()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/app/api/exam/attempt/{attempt_id}/answer", handler)
    return app


def make_exams(data_dir: Path, signer: Signer) -> Exams:
    study = make_study(
        StudySection(), LazyFaces(data_dir), data_dir, b"bench-face-key-0123456789abcdef"
    )
    exam = ExamSection()
    return Exams(
        load_banks(),
        study,
        signer,
        Pii.from_signer(signer),
        ExamConfig(
            questions=exam.questions,
            time_limit=timedelta(minutes=exam.time_limit_minutes),
            receipts_dir=data_dir / "receipts",
        ),
        rng=random.Random(7),
    )


async def seed(
    exams: Exams,
    sessions: Sessions,
    clock: Clock,
    count: int = TAKERS,
    first_user: int = FIRST_USER,
    pii: Pii = PII,
) -> list[Taker]:
    """`count` trainees, each with a paid enrolment whose lessons are all credited, and one
    attempt started through Exams.start (after the face check that opens it)."""
    now = clock.now()
    paid = now - timedelta(days=10)
    study = exams.study
    lessons = [
        (lesson.key, lesson.required_seconds(study.config.minutes_scale))
        for lesson in study.courses[CERT_TYPE].lessons
    ]
    progress = []
    async with in_transaction():
        for n in range(count):
            user_id = first_user + n
            id_number = f"5301021985{n:08d}"
            person = await models.Person.create(
                id_number_hash=pii.digest(id_number),
                id_number_sealed=pii.seal(id_number),
                name=f"考生{n}",
            )
            await models.Binding.create(chat_user_id=user_id, person=person)
            certificate = await models.Certificate.create(
                number=f"BENCH-{n:05d}",
                cert_type=CERT_TYPE.value,
                person=person,
                expires_on=date(2027, 6, 30),
            )
            enrolment = await registry.enrolment(
                certificate,
                user_id,
                "studying",
                paid_at=paid,
                study_deadline=paid + timedelta(days=30),
            )
            progress += [
                LessonProgress(
                    enrolment_id=enrolment.id,
                    lesson=key,
                    chat_user_id=user_id,
                    seconds_credited=required,
                    last_beat_at=paid,
                    completed_at=paid,
                )
                for key, required in lessons
            ]
        await models.ChatUser.bulk_create(
            [
                models.ChatUser(id=first_user + n, first_name=f"考生{n}", language_code="zh-hans")
                for n in range(count)
            ]
        )
        await LessonProgress.bulk_create(progress)
    takers = []
    for n in range(count):
        user_id = first_user + n
        (current,) = await study.enrolments(user_id)
        view = await exams.start(user_id, current, now)
        if isinstance(view, PendingCheck):  # the check opening the attempt, seeded as passed
            await FaceCheck.filter(id=view.id).update(result="passed", answered_at=now)
            view = await exams.start(user_id, current, now)
        assert isinstance(view, AttemptView), view
        questions = [
            (d.question, exams.questions[d.question].rule.kind, d.options) for d in view.draw
        ]
        cookie = sessions.session_token(Viewer(user_id, f"考生{n}", "zh-hans"), now)
        takers.append(Taker(user_id, view.id, cookie, questions))
    return takers


async def verify(takers: list[Taker], sent: int) -> tuple[int, int]:
    """(attempts whose saved answers differ from what was last sent, saved events short)."""
    rows = await ExamAttempt.filter(id__in=[t.attempt_id for t in takers]).values("id", "answers")
    saved = {row["id"]: row["answers"] or {} for row in rows}
    wrong = sum(saved.get(t.attempt_id) != t.sent for t in takers)
    events = await ExamEvent.filter(kind="saved").count()
    return wrong, sent - events


def summary(load: Load) -> str:
    return (
        f"{load.rps:.0f}/s (p50 {load.percentile(0.5):.1f} ms, p95 {load.percentile(0.95):.1f} ms)"
    )


@contextlib.asynccontextmanager
async def exam_app(label: str, url: str, data_dir: Path) -> AsyncIterator[tuple[list[Taker], int]]:
    """The database at `url` open, TAKERS trainees seeded with an attempt started each, and the
    real web app serving them (time fixed at NOW); yields the takers and the app's port."""
    started = time.perf_counter()
    context = await open_database(url)
    runner = None
    try:
        clock = FixedClock()
        signer = Signer(b"b" * 32)
        sessions = Sessions(signer, session_ttl=12 * 3600, link_ttl=600)
        exams = make_exams(data_dir, signer)
        takers = await seed(exams, sessions, clock)
        print(
            f"{label}: {TAKERS} trainees seeded, attempts started in "
            f"{time.perf_counter() - started:.1f} s"
        )
        app = make_web_app(
            config=WebConfig(TOKEN, "http://127.0.0.1", 3600, False),
            i18n=make_i18n(),
            sessions=sessions,
            clock=clock,
            accounts=TortoiseAccountRepository(),
            health_checks={},
        )
        add_study_routes(app, StudyWeb(exams.study))
        add_exam_routes(app, exams)
        runner, port = await serve(app)
        yield takers, port
    finally:
        if runner is not None:
            await runner.cleanup()
        await context.close_connections()


async def check(label: str, takers: list[Taker], product: list[Load], others: list[Load]) -> bool:
    """Prints and returns whether every answer the `product` loads sent (recorded in the
    takers) is saved, with its event, and no request of any load failed."""
    sent = sum(load.requests for load in product)
    failures: dict[int, int] = {}
    for load in product + others:
        for status, count in load.failures.items():
            failures[status] = failures.get(status, 0) + count
    wrong, missing = await verify(takers, sent)
    print(
        f"{label} check: {sent} answers saved by {TAKERS} takers, attempts not matching the "
        f"last answers sent: {wrong}, saved events missing: {missing}, "
        f"non-200 responses: {sum(failures.values())} {failures or ''}".rstrip()
    )
    return wrong == 0 and missing == 0 and not failures


async def measure(label: str, url: str, bare_port: int, data_dir: Path) -> None:
    async with exam_app(label, url, data_dir) as (takers, port):
        bare: list[Load] = []
        product: list[Load] = []
        for number in range(ROUNDS):
            # Alternate which goes first, so a noisy stretch does not always hit the same one.
            order = ["bare", "product"] if number % 2 == 0 else ["product", "bare"]
            for which in order:
                if which == "bare":
                    bare.append(await drive(bare_port, takers, number, record=False))
                else:
                    product.append(await drive(port, takers, number, record=True))
            print(
                f"{label} round {number + 1}: product {summary(product[-1])}, "
                f"bare {summary(bare[-1])}"
            )
        ok = await check(label, takers, product, bare)
        sent = sum(load.requests for load in product)
        rps = statistics.median(load.rps for load in product)
        bare_rps = statistics.median(load.rps for load in bare)
        everything = Load(rps, [x for load in product for x in load.latencies], {}, sent)
        bare_all = Load(bare_rps, [x for load in bare for x in load.latencies], {}, 0)
        print(
            f"BENCH exam_autosave {label} rps={rps:.0f} bare_rps={bare_rps:.0f} "
            f"p50_ms={everything.percentile(0.5):.1f} p95_ms={everything.percentile(0.95):.1f} "
            f"bare_p50_ms={bare_all.percentile(0.5):.1f} "
            f"bare_p95_ms={bare_all.percentile(0.95):.1f} takers={TAKERS} "
            f"answers={TAKERS * ANSWERS * ROUNDS} correct={'yes' if ok else 'NO'} "
            f"ratio={rps / bare_rps:.3f}"
        )


async def main() -> None:
    bare_runner, bare_port = await serve(bare_app())
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sqlite_dir = Path(tmp) / "sqlite"
            if "sqlite" in DATABASES:
                await measure(
                    "sqlite", f"sqlite://{sqlite_dir / 'bench.sqlite3'}", bare_port, sqlite_dir
                )
            if "postgres" not in DATABASES:
                return
            problem = postgres_problem()
            if problem is not None:
                print(f"postgresql skipped: {POSTGRES} unreachable ({problem})")
                return
            async with fresh_database() as url:
                await measure("postgres", url, bare_port, Path(tmp) / "postgres")
    finally:
        await bare_runner.cleanup()
    print(f"cores: {os.cpu_count()}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
