"""`jijiao rotate-key` (docs/operations.md, "Rotating SECURITY_SECRET_KEY"): killed half-way and
started again, it ends with every sealed value and face file opening with the new key alone,
nothing lost; the app reads both keys meanwhile; what no key opens is named, not skipped."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from aiogram.fsm.storage.base import StorageKey

from application.exam import ExamConfig, Exams
from application.key_rotation import rotate
from application.study import FaceStore
from domain.identifiers import id_check_char
from domain.registry import Person
from infra.content import Catalogue
from infra.db import models, open_database
from infra.db.exam_models import Receipt
from infra.fsm import DatabaseStorage
from infra.pii import Pii
from infra.registry_import import import_registry
from infra.repositories.registry import TortoiseRegistry
from infra.signing import Signer
from jijiao.cli import main
from tests.infra.test_pii_at_rest import ROSTER, write_roster
from tests.support.clock import FixedClock

ROOT = Path(__file__).resolve().parents[2]
OLD_KEY, NEW_KEY, LOST_KEY = "o" * 40, "n" * 40, "x" * 40
OLD = Pii.from_signer(Signer(OLD_KEY.encode()))
NEW = Pii.from_signer(Signer(NEW_KEY.encode()))
RING = Pii.from_signer(Signer(NEW_KEY.encode(), [OLD_KEY.encode()]))
PEOPLE = 1500
BATCH = 20  # 75 transactions for the people alone: the kill lands well before the end
TRAINEES = range(100_001, 100_006)


def id_number(sequence: int) -> str:
    born = date(1970, 1, 1) + timedelta(days=sequence // 1000)
    first17 = f"530102{born:%Y%m%d}{sequence % 1000:03d}"
    return first17 + id_check_char(first17)


def phone(sequence: int) -> str:
    return f"138{sequence:08d}"


def fsm_key(user: int) -> StorageKey:
    return StorageKey(bot_id=7000000001, chat_id=user, user_id=user)


def face_key(secret: str) -> bytes:
    return Signer(secret.encode()).key_for("faces")


def photo(user: int) -> bytes:
    return f"jpeg of {user}".encode() * 50


async def seed(url: str, data_dir: Path) -> None:
    """A database and a data dir as the app leaves them under the old key."""
    context = await open_database(url, OLD)
    try:
        await models.Person.bulk_create(
            [
                models.Person(
                    id_number_hash=OLD.digest(id_number(n)),
                    id_number_sealed=OLD.seal(id_number(n)),
                    name=f"学员{n}",
                    phone_hash=OLD.digest(phone(n) if n % 7 else ""),
                    phone_sealed=OLD.seal(phone(n) if n % 7 else ""),  # some have no phone
                )
                for n in range(PEOPLE)
            ],
            batch_size=500,
        )
        for n in range(30):
            await models.Enterprise.create(
                credit_code=f"CC{n:016d}", name=f"公司{n}", contact_phone_sealed=OLD.seal(phone(n))
            )
            await models.DeskQueue.create(
                chat_user_id=100_000 + n,
                message_id=n,
                text_sealed=OLD.seal(f"我的身份证号是{id_number(n)}") if n % 3 else None,
                created_at=datetime(2026, 12, 1, tzinfo=UTC),
            )
        storage = DatabaseStorage(OLD)
        for user in TRAINEES:
            await storage.set_data(fsm_key(user), {"id_number": id_number(user % 1000)})
        # Written before conversation data was sealed: sealed by the rotation too.
        await models.FsmRecord.create(key="plain", state=None, data={"page": 2})
        # A Telegram update stored before it was handled: a trainee typed an ID number.
        for n in range(3):
            await models.UpdateInbox.create(
                bot_id=7,
                update_id=n,
                payload_sealed=OLD.seal(json.dumps({"update_id": n, "text": id_number(n)})),
                received_at=datetime(2026, 12, 1, tzinfo=UTC),
                claimed_by="gone",
                claimed_until=datetime(2026, 12, 1, tzinfo=UTC),
            )
    finally:
        await context.close_connections()
    store = FaceStore(data_dir / "faces", face_key(OLD_KEY))
    for user in TRAINEES:
        store.save(user, photo(user), np.full(4, user, dtype=np.float32))
        store.save_evidence(user, 1, photo(user) + b"selfie")


def rotate_key_env(url: str, data_dir: Path, previous: str = OLD_KEY) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SECURITY_"))}
    env.update(
        DATABASE_URL=url,
        APP_DATA_DIR=str(data_dir),
        SECURITY_SECRET_KEY=NEW_KEY,
        SECURITY_PREVIOUS_KEYS=previous,
        LOG_LEVEL="WARNING",
        APP_DEMO_DATA="false",
    )
    return env


async def rotate_key(url: str, data_dir: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "jijiao",
        "rotate-key",
        "--batch",
        str(BATCH),
        cwd=ROOT,
        env=rotate_key_env(url, data_dir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _killed_half_way_and_run_again(url: str, data_dir: Path) -> None:
    await seed(url, data_dir)

    first = await rotate_key(url, data_dir)
    assert first.stdout is not None
    async with asyncio.timeout(120):
        line = await first.stdout.readline()
        while not line.startswith(b"rotate-key: person "):
            assert line, await first.stderr.read() if first.stderr else b""
            line = await first.stdout.readline()
    first.send_signal(signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL

    # Half-way: some people under the new key, the rest still under the old one, and the app
    # (running on the ring) finds and reads both.
    context = await open_database(url, RING)
    try:
        rows = await models.Person.all().order_by("id")
        moved = sum(NEW.is_current(row.id_number_sealed) for row in rows)
        assert BATCH <= moved < PEOPLE, f"{moved} of {PEOPLE} moved when the process was killed"
        registry = TortoiseRegistry(RING)
        for n in (0, PEOPLE - 1):
            found = await registry.person(id_number(n))
            assert found == Person(id_number(n), f"学员{n}", phone(n) if n % 7 else "")
    finally:
        await context.close_connections()

    second = await rotate_key(url, data_dir)
    out, err = await asyncio.wait_for(second.communicate(), 300)
    assert second.returncode == 0, err.decode()
    assert "rotate-key: verified" in out.decode()
    for secret in (id_number(1), phone(1), OLD_KEY, NEW_KEY):
        assert secret not in out.decode() + err.decode()

    # The old key is gone: everything opens with the new key alone, and nothing was lost.
    context = await open_database(url, NEW)  # refuses to start if the registry did not move
    try:
        people = {row.name: row for row in await models.Person.all()}
        assert len(people) == PEOPLE
        for n in range(PEOPLE):
            row = people[f"学员{n}"]
            assert NEW.open(row.id_number_sealed) == id_number(n)
            assert row.id_number_hash == NEW.digest(id_number(n))
            assert NEW.open(row.phone_sealed) == (phone(n) if n % 7 else "")
            assert row.phone_hash == NEW.digest(phone(n) if n % 7 else "")
        assert await TortoiseRegistry(NEW).person(id_number(PEOPLE - 1)) == Person(
            id_number(PEOPLE - 1), f"学员{PEOPLE - 1}", phone(PEOPLE - 1)
        )
        enterprises = await models.Enterprise.all().order_by("id")
        assert [NEW.open(e.contact_phone_sealed) for e in enterprises] == [
            phone(n) for n in range(30)
        ]
        queued = await models.DeskQueue.all().order_by("id")
        assert [NEW.open(q.text_sealed) if q.text_sealed else None for q in queued] == [
            f"我的身份证号是{id_number(n)}" if n % 3 else None for n in range(30)
        ]
        storage = DatabaseStorage(NEW)
        for user in TRAINEES:
            assert await storage.get_data(fsm_key(user)) == {"id_number": id_number(user % 1000)}
        updates = await models.UpdateInbox.all().order_by("update_id")
        assert [json.loads(NEW.open(u.payload_sealed))["text"] for u in updates] == [
            id_number(n) for n in range(3)
        ]
        plain = await models.FsmRecord.get(key="plain")
        assert "page" not in json.dumps(plain.data)
        assert json.loads(NEW.open(plain.data["_sealed"])) == {"page": 2}

        # Run again over a finished rotation: nothing to move.
        again = await rotate(
            RING, FaceStore(data_dir / "faces", face_key(NEW_KEY), [face_key(OLD_KEY)])
        )
        assert again.ok and sum(again.moved.values()) == 0
    finally:
        await context.close_connections()

    faces = FaceStore(data_dir / "faces", face_key(NEW_KEY))
    for user in TRAINEES:
        folder = faces.folder(user)
        assert faces.read(folder / "enrolment.jpg.enc") == photo(user)
        assert faces.embedding(str(folder / "enrolment.npy.enc"))[0] == user
        assert faces.evidence(user, 1) == photo(user) + b"selfie"
    assert not list((data_dir / "faces").glob("*/**/*.rekeying"))


async def test_rotate_key_killed_half_way_and_run_again_moves_everything_on_sqlite(
    tmp_path: Path,
):
    url = f"sqlite://{tmp_path / 'rotation.sqlite3'}"
    await _killed_half_way_and_run_again(url, tmp_path / "var")


async def test_rotate_key_killed_half_way_and_run_again_moves_everything_on_postgresql(
    postgres_url: str, tmp_path: Path
):
    await _killed_half_way_and_run_again(postgres_url, tmp_path / "var")


def test_a_value_no_key_opens_is_named_and_rotate_key_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    url = f"sqlite://{tmp_path / 'rotation.sqlite3'}"
    data_dir = tmp_path / "var"

    async def seed_with_a_stranger() -> int:
        await seed(url, data_dir)
        context = await open_database(url, OLD)
        try:
            lost = Pii.from_signer(Signer(LOST_KEY.encode()))
            stranger = await models.Enterprise.create(
                credit_code="CC-LOST", name="外来", contact_phone_sealed=lost.seal("13900000000")
            )
            return stranger.id
        finally:
            await context.close_connections()

    stranger = asyncio.run(seed_with_a_stranger())
    for name, value in rotate_key_env(url, data_dir).items():
        monkeypatch.setenv(name, value)
    for name in [k for k in os.environ if k.startswith(("TELEGRAM_", "SECURITY_"))]:
        if name not in ("SECURITY_SECRET_KEY", "SECURITY_PREVIOUS_KEYS"):
            monkeypatch.delenv(name)

    # The old key forgotten: one line saying which setting to fill, no traceback, nothing moved.
    monkeypatch.delenv("SECURITY_PREVIOUS_KEYS")
    assert main(["rotate-key"]) == 1
    assert "put the key it was sealed with in SECURITY_PREVIOUS_KEYS" in capsys.readouterr().err
    monkeypatch.setenv("SECURITY_PREVIOUS_KEYS", OLD_KEY)

    assert main(["rotate-key"]) == 1
    printed = capsys.readouterr()
    assert f"enterprise: 1 do not open with SECURITY_SECRET_KEY alone ({stranger})" in printed.err
    assert "13900000000" not in printed.out + printed.err

    # Everything else did move: with the stranger gone, the next run verifies.
    async def drop_stranger() -> None:
        context = await open_database(url, RING)
        try:
            await models.Enterprise.filter(id=stranger).delete()
        finally:
            await context.close_connections()

    asyncio.run(drop_stranger())
    assert main(["rotate-key"]) == 0
    assert "person: 0 of 1500 moved" in capsys.readouterr().out


async def test_phones_the_app_changes_while_rotate_key_runs_are_kept_on_postgresql(
    postgres_url: str, tmp_path: Path
):
    """The app runs on the ring during the rotation: a phone it writes while a batch holding
    that row is being sealed again is not overwritten with the value from before."""
    data_dir = tmp_path / "var"
    await seed(postgres_url, data_dir)
    context = await open_database(postgres_url, RING)
    try:
        ids = await models.Person.all().order_by("id").values_list("id", flat=True)
        changed: dict[int, str] = {}

        async def the_app_changes_phones() -> None:
            for n, pk in enumerate(ids[::7]):
                new_phone = f"139{n:08d}"
                await models.Person.filter(id=pk).update(
                    phone_hash=RING.digest(new_phone), phone_sealed=RING.seal(new_phone)
                )
                changed[pk] = new_phone
                await asyncio.sleep(0)

        faces = FaceStore(data_dir / "faces", face_key(NEW_KEY), [face_key(OLD_KEY)])
        outcome, _ = await asyncio.gather(
            rotate(RING, faces, batch=BATCH), the_app_changes_phones()
        )
        assert outcome.ok
        rows = {row.id: row for row in await models.Person.all()}
        for pk, new_phone in changed.items():
            assert NEW.open(rows[pk].phone_sealed) == new_phone
            assert rows[pk].phone_hash == NEW.digest(new_phone)
        assert all(NEW.is_current(row.id_number_sealed) for row in rows.values())
    finally:
        await context.close_connections()


async def test_a_receipt_printed_before_the_rotation_still_verifies_once_the_old_key_is_gone(
    tmp_path: Path,
):
    url = f"sqlite://{tmp_path / 'rotation.sqlite3'}"
    context = await open_database(url, OLD)
    try:
        holder = await models.Person.create(
            id_number_hash=OLD.digest(id_number(1)),
            id_number_sealed=OLD.seal(id_number(1)),
            name="张三",
        )
        certificate = await models.Certificate.create(
            number="C-1", cert_type="B", person=holder, expires_on=date(2027, 1, 1), status="valid"
        )
        enrolment = await models.Enrolment.create(
            certificate=certificate, channel="individual", enrolled_by=1, state="passed"
        )
        receipt = await Receipt.create(
            enrolment=enrolment,
            number="JJ-2026-000001",
            score=80,
            hours=24,
            passed_at=datetime(2026, 12, 1, tzinfo=UTC),
        )

        def exams(signer: Signer, pii: Pii) -> Exams:
            no_courses = SimpleNamespace(courses=Catalogue({}))  # verifying reads no course
            return Exams({}, no_courses, signer, pii, ExamConfig())  # type: ignore[arg-type]

        printed = exams(Signer(OLD_KEY.encode()), OLD).receipt_token(receipt)
        ring = Signer(NEW_KEY.encode(), [OLD_KEY.encode()])
        faces = FaceStore(tmp_path / "faces", face_key(NEW_KEY), [face_key(OLD_KEY)])
        assert (await rotate(RING, faces, signer=ring)).ok

        after = exams(Signer(NEW_KEY.encode()), NEW)
        assert (await after.verify(printed)).status == "genuine"
        assert (await after.verify(after.receipt_token(receipt))).status == "genuine"
        # Only that receipt's own printed tag: not the old key's tag of another number.
        forged = Signer(OLD_KEY.encode()).seal("receipt", "JJ-2026-000002")
        assert (await after.verify(forged)).status == "invalid"
        altered = printed[:-1] + ("A" if printed[-1] != "A" else "B")
        assert (await after.verify(altered)).status == "invalid"
        # A second rotation keeps the tag the receipt was printed with.
        newer = Signer(b"z" * 40, [NEW_KEY.encode()])
        assert (await rotate(Pii.from_signer(newer), faces, signer=newer)).ok
        assert (await exams(Signer(b"z" * 40), Pii.from_signer(newer)).verify(printed)).status == (
            "genuine"
        )
    finally:
        await context.close_connections()


async def test_a_roster_imported_half_way_through_a_rotation_updates_people_and_adds_none(
    tmp_path: Path,
):
    """Rows still under the old key are found by their old digest: the import updates them
    rather than adding the same people again under the new one."""
    url = f"sqlite://{tmp_path / 'rotation.sqlite3'}"
    context = await open_database(url, OLD)
    try:
        await import_registry(
            write_roster(tmp_path / "a.csv", ROSTER), pii=OLD, clock=FixedClock(), source="cli"
        )
        changed = [{**ROSTER[0], "手机号": "13811111111"}, *ROSTER[1:]]
        report = await import_registry(
            write_roster(tmp_path / "b.csv", changed), pii=RING, clock=FixedClock(), source="cli"
        )
        assert (report.new, report.updated, report.unchanged) == (0, 1, 2)
        assert await models.Person.all().count() == 3
        found = await TortoiseRegistry(RING).person(ROSTER[0]["身份证号"])
        assert found is not None and found.phone == "13811111111"
    finally:
        await context.close_connections()
