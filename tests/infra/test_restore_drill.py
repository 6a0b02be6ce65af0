"""The restore drill of docs/operations.md ("Backup", "Restore"), run as the document says.

A trainee's whole record is made through the product's own services on a fresh PostgreSQL
database and data dir: bound, enrolled, an order paid, lessons done, exam attempts with face
checks, a receipt. Then the documented commands, read from docs/operations.md itself and adapted
only in where they run (no docker here): `pg_dump` of the database, `tar` of the data dir's
folders the document names. The database is dropped and the data dir deleted; a fresh database
gets `pg_restore` with the document's flags, the archive is unpacked, and the real app
(`python -m jijiao run`) starts on it with the same SECURITY_SECRET_KEY. Everything is checked
through the product: staff find the trainees, the chat and the web view show their enrolment,
progress and attempts, the receipts are the files issued before and their QR codes verify, and
a face check against the restored enrolment photo passes, so the trainee finishes the exam.

The procedure comes from the document, so the drill fails when the document does: an archive
without `faces` leaves the trainee's face check without the enrolment photo, one without
`receipts` loses the receipt of a trainee whose face data the retention job has deleted (it can
no longer be rendered again), a dump not in the custom format is refused by `pg_restore`; and
the restored data, started with another key, does not start at all."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import pytest
import zxingcpp
from PIL import Image

from domain.accounts import ChatUserId
from domain.checkout import Fees
from domain.identity import PhoneProof
from domain.masking import mask_id_number, mask_name, mask_phone
from domain.payment import OrderStatus
from infra.content import load_banks
from infra.db import open_database
from infra.payments.sandbox import SandboxProvider
from infra.receipt import PHOTO_BOX
from infra.settings import LOCAL_STAFF_GROUP_ID, StudySection
from infra.signing import Signer
from jijiao.app import SESSION_TTL, Services
from tests.conftest import TEST_TOKEN, unavailable
from tests.exam.conftest import Examinees, H
from tests.infra.test_pii_at_rest import roster_row, write_roster
from tests.study.conftest import Trainees, photo
from tests.support import registry
from tests.support.clock import FixedClock, days_from_today
from tests.support.databases import new_database
from tests.support.harness import harness_bot, harness_services
from tests.support.instances import SECRET_KEY, STAFF, Balancer, Fleet, Instance, Telegram
from tests.support.recording import RecordingSession
from tests.support.selfies import selfie
from tests.support.study import finish_lessons
from texts.enrolment import masked_number
from texts.i18n import Catalogs
from webview.app import make_web_app
from webview.auth import SESSION_COOKIE, Sessions, Viewer
from webview.exam import add_exam_routes
from webview.keys import WebConfig
from webview.study import StudyWeb, add_study_routes

pytestmark = pytest.mark.long  # minutes: run first (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "docs" / "operations.md"
COMPOSE = ROOT / "docker-compose.yml"
PUBLIC = "https://jijiao.example.cn"  # where the receipts' QR codes point
# The payment provider of the seeding: its paid orders are rows of the database backed up.
SANDBOX = SandboxProvider(PUBLIC, b"s" * 32)
LIBFAKETIME = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"))), None)


@dataclass(frozen=True)
class Trainee:
    user: int
    name: str
    id_number: str
    phone: str
    certificate: str


# Passed a month before the backup; the retention job has deleted his face data since, so his
# receipt (with his photo) exists only in the receipts folder.
WANG = Trainee(100101, "王建国", registry.id_number(101), "13800000101", "云建安B-0101")
# Paid and studied, one attempt failed, the next one to come after the restore.
ZHANG = Trainee(100102, "张三", registry.id_number(102), "13800000102", "云建安B-0102")


# --- the procedure, as docs/operations.md writes it -------------------------------------------


@dataclass(frozen=True)
class Procedure:
    dump_options: list[str]  # pg_dump's, beside the connection and the database name
    data_dir: str  # where the document's tar takes the folders from (the app's APP_DATA_DIR)
    folders: list[str]
    restore_options: list[str]


def _command(text: str, first: str) -> list[str]:
    """The words of the first command line holding the word `first`, from it on (continuation
    lines joined), up to a redirection. `first` is the program, or for the archive its `czf`:
    the document runs tar as the container's entrypoint, after the service's name."""
    for line in text.replace("\\\n", " ").splitlines():
        line = line.strip().strip("`")
        words = shlex.split(line[line.index(first) :]) if f"{first} " in line else []
        if words and words[0] == first:
            cut = next((n for n, word in enumerate(words) if word in {"<", ">"}), len(words))
            return words[:cut]
    raise AssertionError(f"docs/operations.md has no command with {first}")


def _without_connection(words: list[str]) -> list[str]:
    """Options only: the user, the database and the file are the machine's, not the method's."""
    kept: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in {"-U", "-d", "-f", "-h", "-p"}:
            skip = True
        elif word.startswith("-"):
            kept.append(word)
    return kept


def documented_procedure() -> Procedure:
    text = OPERATIONS.read_text(encoding="utf-8")
    backup = text.split("## Backup", 1)[1].split("\n## ", 1)[0]
    restore = text.split("## Restore", 1)[1].split("\n## ", 1)[0]
    archive = _command(backup, "czf")
    source = archive[archive.index("-C") + 1]
    return Procedure(
        dump_options=_without_connection(_command(backup, "pg_dump")[1:]),
        data_dir=source,
        folders=archive[archive.index("-C") + 2 :],
        restore_options=_without_connection(_command(restore, "pg_restore")[1:]),
    )


def test_the_documented_archive_is_taken_where_the_app_keeps_its_data() -> None:
    procedure = documented_procedure()
    compose_data_dir = re.search(r"APP_DATA_DIR:\s*(\S+)", COMPOSE.read_text()).group(1)  # type: ignore[union-attr]
    assert procedure.data_dir == compose_data_dir
    assert "-Fc" in procedure.dump_options  # pg_restore reads only the custom format
    assert {"faces", "receipts"} <= set(procedure.folders)


# --- running it on this machine ----------------------------------------------------------------


async def run(*command: str, stdin: Path | None = None, stdout: Path | None = None) -> str:
    with contextlib.ExitStack() as files:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=files.enter_context(stdin.open("rb")) if stdin else None,
            stdout=files.enter_context(stdout.open("wb")) if stdout else asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
    assert process.returncode == 0, f"{shlex.join(command)}: {err.decode(errors='replace')}"
    return (out or b"").decode(errors="replace") + err.decode(errors="replace")


async def client_tools(server: str) -> tuple[str, str]:
    """pg_dump and pg_restore of the server's major version when the machine has them."""
    admin = await asyncpg.connect(server)
    try:
        major = int(await admin.fetchval("SHOW server_version_num")) // 10000
    finally:
        await admin.close()
    return tool(major, "pg_dump"), tool(major, "pg_restore")


def tool(major: int, name: str) -> str:
    versioned = Path(f"/usr/lib/postgresql/{major}/bin/{name}")
    found = str(versioned) if versioned.is_file() else shutil.which(name)
    if found is None:
        unavailable(name, "PostgreSQL's client programs are not installed")
    return str(found)


def empty_database(server: str) -> contextlib.AbstractAsyncContextManager[str]:
    """An empty database, as the compose file's `postgres` service creates on a new volume."""
    return new_database(server, "jijiao_restored")


async def drop_database(url: str) -> None:
    parts = urlsplit(url)
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        await admin.execute(f'DROP DATABASE "{parts.path.lstrip("/")}" WITH (FORCE)')
    finally:
        await admin.close()


async def every_row(url: str) -> dict[str, list[tuple[Any, ...]]]:
    connection = await asyncpg.connect(url)
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        return {
            t["tablename"]: sorted(
                (tuple(row) for row in await connection.fetch(f'SELECT * FROM "{t["tablename"]}"')),
                key=repr,
            )
            for t in tables
        }
    finally:
        await connection.close()


def every_file(data_dir: Path, folders: list[str]) -> dict[str, bytes]:
    return {
        str(path.relative_to(data_dir)): path.read_bytes()
        for folder in folders
        for path in sorted((data_dir / folder).rglob("*"))
        if path.is_file()
    }


# --- the trainees' record, made through the product ----------------------------------------------


@dataclass
class Seeded:
    wang_receipt: int
    wang_files: tuple[bytes, bytes]
    zhang_enrolment: int
    zhang_progress: dict[str, Any]
    zhang_attempt: dict[str, Any]


def product(i18n: Catalogs, clock: FixedClock, data_dir: Path) -> tuple[Services, Sessions]:
    signer = Signer(SECRET_KEY.encode())
    sessions = Sessions(signer, session_ttl=30 * 86400, link_ttl=600)
    services = harness_services(
        harness_bot(RecordingSession()),
        i18n,
        clock,
        data_dir,
        webapp_url=f"{PUBLIC}/app/launch",
        sessions=sessions,
        provider=SANDBOX,
        fees=Fees(30000),
        staff_group_id=LOCAL_STAFF_GROUP_ID,
        signer=signer,
        base_url=PUBLIC,
        # Liveness has its own tests (tests/study/test_head_turn.py); a still selfie answers here.
        study=StudySection(head_turn=False),
    )
    return services, sessions


async def enrolled_and_paid(services: Services, clock: FixedClock, who: Trainee) -> None:
    """What the chat does for the trainee: bind with the phone, enrol, invoice title, order,
    pay (the sandbox's checkout page), "I have paid"."""
    handlers, account = services.handlers, ChatUserId(who.user)
    await handlers["bind_person"](account, who.id_number, who.name, PhoneProof(who.phone, True))
    await handlers["enrol_certificates"](account, [who.certificate])
    await handlers["save_invoice_details"](account, who.name, None, None)
    order = await handlers["place_order"](account)
    await SANDBOX.pay(order.number, clock.now())
    paid = await handlers["check_order"](account, order.number)
    assert paid.status is OrderStatus.PAID


async def studied(services: Services, examinees: Examinees, who: Trainee, picture: str) -> int:
    client = examinees.as_user(who.user, who.name)
    assert (await client.post("/app/api/study/consent", headers=H)).status == 200
    response = await client.post(
        "/app/api/study/photo",
        data=photo(picture),
        headers={**H, "Content-Type": "image/jpeg"},
    )
    assert response.status == 200, await response.text()
    [enrolment] = await services.study.enrolments(who.user)
    # Lesson time is credited from heartbeats over hours (tests/study); here it is done.
    await finish_lessons(services.study, who.user, enrolment.id)
    return enrolment.id


async def sit_exam(
    examinees: Examinees, who: Trainee, enrolment: int, face: bytes, right: int
) -> tuple[int, dict[str, Any]]:
    started = await examinees.tap_start(who.user, enrolment)
    if started.get("check") is not None and not started.get("ok"):
        answered = await examinees.answer_check(who.user, started["check"]["id"], face)
        assert answered["result"] == "passed", answered
        started = await examinees.tap_start(who.user, enrolment)
    assert started.get("ok"), started
    await examinees.answer_all(who.user, started["id"], right=right)
    return started["id"], await examinees.submit(who.user, started["id"])


async def seed(
    url: str, data_dir: Path, i18n: Catalogs, clock: FixedClock, aiohttp_client: Any
) -> Seeded:
    context = await open_database(url, registry.PII)
    try:
        services, sessions = product(i18n, clock, data_dir)
        roster = [
            roster_row(t.id_number, t.name, t.phone, t.certificate, f"{days_from_today(154)}")
            for t in (WANG, ZHANG)
        ]
        report = await services.handlers["import_registry"](
            write_roster(data_dir.parent / "roster.csv", roster)
        )
        assert report.new == 2
        app = make_web_app(
            config=WebConfig(TEST_TOKEN, PUBLIC, 3600, True),
            i18n=i18n,
            sessions=sessions,
            clock=clock,
            accounts=services.handlers["accounts"],
            health_checks={},
        )
        add_study_routes(app, StudyWeb(services.study))
        add_exam_routes(app, services.exams)
        trainees = Trainees(await aiohttp_client(app), sessions, clock)
        examinees = Examinees(trainees, services.exams, notifier=None)  # type: ignore[arg-type]

        await enrolled_and_paid(services, clock, WANG)
        wang = await studied(services, examinees, WANG, "person_a_1")
        _, result = await sit_exam(examinees, WANG, wang, photo("person_a_2"), right=20)
        assert result["passed"], result
        receipt = await services.exams.receipt_of_enrolment(wang)
        assert receipt is not None
        client = examinees.as_user(WANG.user, WANG.name)
        wang_files = (
            await (await client.get(f"/app/receipt/{receipt.id}.png")).read(),
            await (await client.get(f"/app/receipt/{receipt.id}.pdf")).read(),
        )

        clock.advance(days=31)
        [retention] = [job for job in services.jobs if job.name == "face_data_retention"]
        await retention.run()
        assert not (data_dir / "faces" / str(WANG.user)).exists()

        await enrolled_and_paid(services, clock, ZHANG)
        zhang = await studied(services, examinees, ZHANG, "person_b_1")
        attempt, result = await sit_exam(examinees, ZHANG, zhang, selfie(), right=5)
        assert not result["passed"], result
        client = examinees.as_user(ZHANG.user, ZHANG.name)
        progress = await (await client.get(f"/app/api/study/progress?enrolment={zhang}")).json()
        state = await (await client.get(f"/app/api/exam/attempt/{attempt}")).json()
        return Seeded(receipt.id, wang_files, zhang, progress, state)
    finally:
        await context.close_connections()


# --- the restored app, checked through the product ---------------------------------------------


async def reply(chat: Any, chat_id: int, after: int, has: str) -> str:
    """The next bot message in the chat after message `after` that says `has`."""
    while True:
        found = (await chat.wait_messages(chat_id, after, wait=30))["messages"]
        assert found, f"no reply saying {has!r} in chat {chat_id}: {chat.messages(chat_id)}"
        after = found[0]["message_id"]
        if has in (found[0].get("text") or ""):
            return str(found[0]["text"])


def last_message_id(chat: Any, chat_id: int) -> int:
    messages = chat.messages(chat_id, include_user=True)["messages"]
    return int(messages[-1]["message_id"]) if messages else 0


class Web:
    """The Mini App as a trainee's phone opens it: the session cookie the app signs."""

    def __init__(self, http: aiohttp.ClientSession, base: str, clock: FixedClock) -> None:
        self.http, self.base, self.clock = http, base, clock
        self.sessions = Sessions(Signer(SECRET_KEY.encode()), session_ttl=SESSION_TTL, link_ttl=600)

    def _cookie(self, who: Trainee) -> dict[str, str]:
        token = self.sessions.session_token(Viewer(who.user, who.name, "zh-hans"), self.clock.now())
        return {"Cookie": f"{SESSION_COOKIE}={token}", **H}

    async def get(self, who: Trainee, path: str) -> bytes:
        async with self.http.get(f"{self.base}{path}", headers=self._cookie(who)) as response:
            assert response.status == 200, (path, response.status, await response.text())
            return await response.read()

    async def post(
        self, who: Trainee, path: str, headers: dict[str, str] | None = None, **body: Any
    ) -> dict[str, Any]:
        async with self.http.post(
            f"{self.base}{path}", headers={**self._cookie(who), **(headers or {})}, **body
        ) as response:
            assert response.status == 200, (path, response.status, await response.text())
            return dict(await response.json())


def is_placeholder(png: bytes) -> bool:
    """The grey box a receipt shows when no photo could be read (tests/exam/test_receipt.py)."""
    with Image.open(io.BytesIO(png)) as picture:
        pixels = list(picture.convert("RGB").crop(PHOTO_BOX).get_flattened_data())
    grey = sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) < 16)
    return grey / len(pixels) > 0.95


async def the_rest_of_the_exam(web: Web, restored_url: str, enrolment: int) -> dict[str, Any]:
    """Zhang's next attempt on the restored app: its opening face check is matched against the
    restored enrolment photo, then every answer right."""
    started = await web.post(ZHANG, "/app/api/exam/start", json={"enrolment": enrolment})
    assert started["reason"] == "face_check", started
    checked = await web.post(
        ZHANG,
        f"/app/api/study/checks/{started['check']['id']}",
        data=selfie(),
        headers={"Content-Type": "image/jpeg"},
    )
    assert checked["result"] == "passed", checked
    started = await web.post(ZHANG, "/app/api/exam/start", json={"enrolment": enrolment})
    assert started["ok"], started
    connection = await asyncpg.connect(restored_url)
    try:
        draw = await connection.fetchval(
            "SELECT draw FROM exam_attempt WHERE id = $1", started["id"]
        )
    finally:
        await connection.close()
    questions = {q.key: q for bank in load_banks().values() for q in bank.questions}
    for item in json.loads(draw) if isinstance(draw, str) else draw:
        right = sorted(questions[item["q"]].rule.correct)
        await web.post(
            ZHANG,
            f"/app/api/exam/attempt/{started['id']}/answer",
            json={"question": item["q"], "options": right},
        )
    return await web.post(ZHANG, f"/app/api/exam/attempt/{started['id']}/submit")


@pytest.mark.postgres
async def test_a_backup_restored_as_documented_brings_every_record_back_and_opens_with_the_key(
    postgres_url: str,
    postgres_server: str,
    redis_url: str,
    i18n: Catalogs,
    clock: FixedClock,
    aiohttp_client: Any,
    tmp_path: Path,
) -> None:
    if LIBFAKETIME is None:
        unavailable("libfaketime", "Debian's faketime is not installed")
    procedure = documented_procedure()
    pg_dump, pg_restore = await client_tools(postgres_server)
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    seeded = await seed(postgres_url, data_dir, i18n, clock, aiohttp_client)

    # Backup, as documented: the dump, then the files.
    backup = tmp_path / "backup"
    backup.mkdir()
    dump, archive = backup / "jijiao.dump", backup / "jijiao-files.tar.gz"
    await run(pg_dump, *procedure.dump_options, postgres_url, stdout=dump)
    await run("tar", "czf", str(archive), "-C", str(data_dir), *procedure.folders)
    rows = await every_row(postgres_url)
    # What the document's table says must come back (the models are made again).
    files = every_file(data_dir, ["faces", "receipts"])
    assert {name.split("/")[0] for name in files} == {"faces", "receipts"}

    # The disaster: the database and the volume are gone.
    await drop_database(postgres_url)
    shutil.rmtree(data_dir)

    async with empty_database(postgres_server) as restored_url:
        # Restore, as documented, into a new database and an empty volume.
        await run(pg_restore, *procedure.restore_options, "--dbname", restored_url, stdin=dump)
        # The same APP_DATA_DIR as backed up, as the compose file's volume always is: the
        # database keeps each face file's full path.
        restored_dir = data_dir
        restored_dir.mkdir()
        await run("tar", "xzf", str(archive), "-C", str(restored_dir))
        assert await every_row(restored_url) == rows
        restored_files = every_file(restored_dir, ["faces", "receipts"])

        async with Telegram.serve() as telegram, Balancer.serve() as balancer:
            env = {
                # The app lives on the seeded data's day, as it would right after the failure.
                "TZ": "UTC",
                "LD_PRELOAD": str(LIBFAKETIME),
                "FAKETIME": f"@{clock.now():%Y-%m-%d %H:%M:%S}",
                "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                "STUDY_HEAD_TURN": "false",
            }

            # Without the key the backup is unreadable: the app refuses to start on it.
            stranger = Fleet(
                telegram, balancer, restored_url, redis_url, restored_dir,
                env={**env, "SECURITY_SECRET_KEY": "w" * 32},
            )  # fmt: skip
            with pytest.raises(AssertionError, match="exited") as refused:
                await stranger.start("another-key")
            assert "SECURITY_SECRET_KEY" in str(refused.value)

            fleet = Fleet(telegram, balancer, restored_url, redis_url, restored_dir, env=env)
            instance = await fleet.start("restored")  # /readyz answers 200 (step 5)
            balancer.backends[:] = [instance.url]
            try:
                await check_the_restored_app(telegram, instance, clock, seeded, restored_url)
            finally:
                balancer.backends.clear()
                with contextlib.suppress(TimeoutError):
                    await instance.stop()
                await instance.kill()

        # Nothing else lost either: every face file and receipt is the one backed up.
        assert sorted(restored_files) == sorted(files)
        assert restored_files == files


async def check_the_restored_app(
    telegram: Telegram, instance: Instance, clock: FixedClock, seeded: Seeded, restored_url: str
) -> None:
    chat = telegram.chat
    # Staff find each trainee by ID number and by phone (the sealed columns and their digests
    # open with the key), bound to their chat.
    for who, query in ((WANG, WANG.id_number), (ZHANG, ZHANG.phone)):
        after = last_message_id(chat, LOCAL_STAFF_GROUP_ID)
        chat.group_send(LOCAL_STAFF_GROUP_ID, STAFF, f"/find {query}")
        found = await reply(chat, LOCAL_STAFF_GROUP_ID, after, f"(chat {who.user})")
        assert mask_id_number(who.id_number) in found and mask_phone(who.phone) in found

    # Each trainee's enrolment is there, paid and past it: one passed, one in the exam.
    for who, state in ((WANG, "已合格"), (ZHANG, "考试中")):
        after = last_message_id(chat, who.user)
        chat.send_text(who.user, "/status", first_name=who.name, language_code="zh-hans")
        status = await reply(chat, who.user, after, masked_number(who.certificate))
        assert state in status, status

    async with aiohttp.ClientSession() as http:
        web = Web(http, instance.url, clock)

        # Wang's receipt is the one issued, photo included, although his face data is gone;
        # its QR code opens the verification page, which reads his sealed ID number.
        png = await web.get(WANG, f"/app/receipt/{seeded.wang_receipt}.png")
        pdf = await web.get(WANG, f"/app/receipt/{seeded.wang_receipt}.pdf")
        assert not is_placeholder(png), "Wang's receipt was rendered again, with no photo"
        assert (png, pdf) == seeded.wang_files, "Wang's receipt is not the one issued"
        [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
        assert code.text.startswith(f"{PUBLIC}/verify/")
        async with http.get(f"{instance.url}{urlsplit(code.text).path}") as response:
            page = await response.text()
        assert 'data-status="genuine"' in page
        assert mask_name(WANG.name) in page and mask_id_number(WANG.id_number) in page

        # Zhang's lessons and his failed attempt are as he left them.
        enrolment = seeded.zhang_enrolment
        progress = await web.get(ZHANG, f"/app/api/study/progress?enrolment={enrolment}")
        assert json.loads(progress) == seeded.zhang_progress
        attempt = json.loads(
            await web.get(ZHANG, f"/app/api/exam/attempt/{seeded.zhang_attempt['id']}")
        )
        moving = {"now", "seconds_left"}
        assert {k: v for k, v in attempt.items() if k not in moving} == {
            k: v for k, v in seeded.zhang_attempt.items() if k not in moving
        }

        # And he carries on: his face is checked against the restored enrolment photo, he
        # passes, and his receipt carries that photo.
        result = await the_rest_of_the_exam(web, restored_url, enrolment)
        assert result["passed"], result
        review = (await web.get(ZHANG, result["url"])).decode()
        [receipt] = set(re.findall(r"/app/receipt/(\d+)\.png", review))
        assert not is_placeholder(await web.get(ZHANG, f"/app/receipt/{receipt}.png"))
