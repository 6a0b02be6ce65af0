"""ID numbers and phones at rest (issue 9): sealed, found through keyed digests, moved out of the
plaintext columns of an older database without losing a row, unreadable with another key."""

from __future__ import annotations

import asyncio
import csv
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tortoise import Tortoise, connections
from tortoise.migrations.api.migrate import migrate

from bot.callbacks import EnrolAction, EnrolCallback
from domain.checkout import Fees
from domain.registry import Person
from infra.db import connection_name, models, open_database, tortoise_config
from infra.db.plaintext import SEALED_COLUMNS_ADDED, seal_plaintext
from infra.demo import HEADERS
from infra.fsm import DatabaseStorage
from infra.pii import Pii, PiiUnreadable
from infra.registry_import import import_registry
from infra.repositories.registry import TortoiseBindings, TortoiseRegistry
from infra.signing import Signer
from jijiao.cli import main
from tests.bot.test_support_desk import STAFF, group_message
from tests.support import registry, updates
from tests.support.clock import EPOCH, FixedClock, days_from_today
from tests.support.harness import BotHarness, bot_harness, harness_bot, harness_services
from tests.support.recording import RecordingSession
from texts.i18n import Catalogs

PII = registry.PII
ZHANG = updates.user(100001, "张三")
LI = updates.user(100002, "李四")
WANG = updates.user(100003, "王五")
BOSS = updates.user(100009, "王经理")
ZHANG_ID, ZHANG_PHONE = registry.id_number(1), "13800000001"
LI_ID, LI_PHONE = registry.id_number(2), "13800000002"
WORKER_ID, WORKER_PHONE = registry.id_number(101), "13700000101"
UNKNOWN_ID, WANG_PHONE = registry.id_number(999), "13800000003"
COMPANY, BOSS_PHONE = registry.credit_code(1), "13900000009"
OTHER_COMPANY = registry.credit_code(2)
SECRETS = [
    *(ZHANG_ID, ZHANG_PHONE, LI_ID, LI_PHONE, WORKER_ID, WORKER_PHONE),
    *(UNKNOWN_ID, WANG_PHONE, BOSS_PHONE),
]


def roster_row(
    id_number: str,
    name: str,
    phone: str,
    number: str,
    expires: str,
    company: tuple[str, str, str] = ("", "", ""),
) -> dict[str, str]:
    credit_code, company_name, contact = company
    return {
        "身份证号": id_number,
        "姓名": name,
        "手机号": phone,
        "统一社会信用代码": credit_code,
        "企业名称": company_name,
        "企业联系人手机": contact,
        "证书类型": "B证",
        "证书编号": number,
        "类别": "",
        "发证日期": "",
        "有效期至": expires,
        "状态": "有效",
    }


ROSTER = [
    roster_row(ZHANG_ID, "张三", ZHANG_PHONE, "云建安B-1", f"{days_from_today(124)}"),
    roster_row(LI_ID, "李四", LI_PHONE, "云建安B-2", f"{days_from_today(154)}"),
    roster_row(
        WORKER_ID,
        "工人",
        WORKER_PHONE,
        "云建安B-101",
        f"{days_from_today(93)}",
        (COMPANY, "云南测试建设有限公司", BOSS_PHONE),
    ),
]


def write_roster(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=HEADERS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def product(i18n: Catalogs, clock: FixedClock, tmp_path: Path) -> BotHarness:
    """The services and dispatcher of tests/conftest.py's harness, with the conversation state
    in the database as the product keeps it without Redis."""
    session = RecordingSession()
    bot = harness_bot(session)
    services = harness_services(bot, i18n, clock, tmp_path, fees=Fees(30000))
    return bot_harness(bot, session, services, i18n, DatabaseStorage(PII))


def enrol(action: EnrolAction, item: int = -1) -> str:
    return EnrolCallback(action=action, item=item).pack()


async def identify(harness: BotHarness, who: dict, id_number: str, name: str, phone: str) -> None:
    await harness.feed(updates.click(enrol(EnrolAction.MYSELF), who))
    await harness.feed(updates.message(id_number, who))
    await harness.feed(updates.message(name, who))
    await harness.feed(updates.contact(phone, who))


async def plaintext_in_database(database_url: str, secrets: list[str]) -> list[tuple[str, ...]]:
    """Every value of every column of every table, read raw, searched for the secrets."""
    client = connections.get(connection_name(database_url))
    if client.capabilities.dialect == "sqlite":
        listing = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        listing = (
            "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'"
        )
    _, tables = await client.execute_query(listing)
    assert {"person", "enterprise", "fsm_record", "support_request"} <= {t["name"] for t in tables}
    found = []
    for table in (t["name"] for t in tables):
        _, rows = await client.execute_query(f'SELECT * FROM "{table}"')
        for row in rows:
            for column, value in zip(row.keys(), tuple(row), strict=True):
                text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                found += [(table, column, secret) for secret in secrets if secret in text]
    return found


def plaintext_in_files(path: Path, secrets: list[str]) -> list[str]:
    """The SQLite file and its journal as bytes: free pages and the WAL included."""
    data = b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*"))
    return [secret for secret in secrets if secret.encode() in data]


async def columns_of(database_url: str, table: str) -> set[str]:
    client = connections.get(connection_name(database_url))
    if client.capabilities.dialect == "sqlite":
        _, rows = await client.execute_query(f'PRAGMA table_info("{table}")')
        return {row["name"] for row in rows}
    _, rows = await client.execute_query(
        f"SELECT column_name AS name FROM information_schema.columns WHERE table_name = '{table}'"
    )
    return {row["name"] for row in rows}


# --- nothing in plaintext after the real code paths ---------------------------------------


async def _nothing_in_plaintext_after_import_binding_and_enrolment(
    database_url: str, i18n: Catalogs, tmp_path: Path
) -> None:
    context = await open_database(database_url, PII)
    try:
        report = await import_registry(
            write_roster(tmp_path / "roster.csv", ROSTER), pii=PII, clock=FixedClock(), source="cli"
        )
        assert (report.new, report.rejected) == (3, 0)
        harness = product(i18n, FixedClock(), tmp_path)

        await identify(harness, ZHANG, ZHANG_ID, "张三", ZHANG_PHONE)  # bound, then enrols
        await harness.feed(updates.click(enrol(EnrolAction.SUBMIT), ZHANG))
        await harness.feed(updates.click(enrol(EnrolAction.COMPANY), BOSS))  # the company
        await harness.feed(updates.message(COMPANY, BOSS))
        await harness.feed(updates.contact(BOSS_PHONE, BOSS))
        await harness.feed(updates.click(enrol(EnrolAction.SUBMIT), BOSS))
        await identify(harness, WANG, UNKNOWN_ID, "王五", WANG_PHONE)  # refused: a case
        await harness.feed(updates.click(enrol(EnrolAction.SUPPORT), WANG))
        await harness.feed(updates.click(enrol(EnrolAction.MYSELF), LI))  # left half-way
        await harness.feed(updates.message(LI_ID, LI))
        await harness.feed(updates.message("/support", ZHANG))  # a ticket with its card
        await harness.feed(group_message(f"/find {ZHANG_ID}", STAFF))

        assert await models.Binding.filter(chat_user_id=ZHANG["id"]).exists()
        assert await models.EnterpriseContact.filter(chat_user_id=BOSS["id"]).exists()
        assert await models.Enrolment.all().count() == 2
        assert await models.SupportRequest.filter(kind="person_not_found").exists()
        assert await models.FsmRecord.all().count() > 0
        assert await plaintext_in_database(database_url, SECRETS) == []
    finally:
        await context.close_connections()


async def test_nothing_in_plaintext_after_import_binding_and_enrolment_on_sqlite(
    i18n: Catalogs, tmp_path: Path
):
    path = tmp_path / "pii.sqlite3"
    await _nothing_in_plaintext_after_import_binding_and_enrolment(
        f"sqlite://{path}", i18n, tmp_path
    )
    assert plaintext_in_files(path, SECRETS) == []


@pytest.mark.postgres
async def test_nothing_in_plaintext_after_import_binding_and_enrolment_on_postgresql(
    postgres_url: str, i18n: Catalogs, tmp_path: Path
):
    await _nothing_in_plaintext_after_import_binding_and_enrolment(postgres_url, i18n, tmp_path)


# --- lookups by ID number and phone still work ---------------------------------------------


async def _lookups_go_through_the_digests(
    database_url: str, i18n: Catalogs, tmp_path: Path
) -> None:
    context = await open_database(database_url, PII)
    try:
        await import_registry(
            write_roster(tmp_path / "roster.csv", ROSTER), pii=PII, clock=FixedClock()
        )
        harness = product(i18n, FixedClock(), tmp_path)
        await identify(harness, ZHANG, ZHANG_ID, "张三", "+86 138-0000-0001")

        people = TortoiseRegistry(PII)
        assert await people.person(ZHANG_ID) == Person(ZHANG_ID, "张三", ZHANG_PHONE)
        assert await people.person(UNKNOWN_ID) is None
        [certificate] = await people.certificates_of_person(ZHANG_ID)
        assert (certificate.number, certificate.holder_id_number) == ("云建安B-1", ZHANG_ID)
        enterprise = await people.enterprise(COMPANY)
        assert enterprise is not None and enterprise.contact_phone == BOSS_PHONE
        assert await TortoiseBindings(PII).account_of(ZHANG_ID) == ZHANG["id"]

        for query in (ZHANG_ID, ZHANG_PHONE, "张三"):
            await harness.feed(group_message(f"/find {query}", STAFF))
            found = harness.last_text()
            assert f"(chat {ZHANG['id']})" in found, query
            assert "530102********" in found and "138****0001" in found
            assert ZHANG_ID not in found and ZHANG_PHONE not in found
        for query in (ZHANG_ID[:-1], ZHANG_PHONE[1:], LI_PHONE, WORKER_ID):
            await harness.feed(group_message(f"/find {query}", STAFF))
            assert "(chat " not in harness.last_text(), query  # unbound or not a full value
    finally:
        await context.close_connections()


async def test_lookups_and_staff_find_go_through_the_digests_on_sqlite(
    i18n: Catalogs, tmp_path: Path
):
    await _lookups_go_through_the_digests(f"sqlite://{tmp_path / 'pii.sqlite3'}", i18n, tmp_path)


@pytest.mark.postgres
async def test_lookups_and_staff_find_go_through_the_digests_on_postgresql(
    postgres_url: str, i18n: Catalogs, tmp_path: Path
):
    await _lookups_go_through_the_digests(postgres_url, i18n, tmp_path)


async def test_a_changed_phone_is_seen_by_the_next_import_and_binds_with_the_new_one(
    database: str, tmp_path: Path
):
    await import_registry(write_roster(tmp_path / "a.csv", ROSTER), pii=PII, clock=FixedClock())
    changed = [{**ROSTER[0], "手机号": "13811111111"}, *ROSTER[1:]]
    report = await import_registry(
        write_roster(tmp_path / "b.csv", changed), pii=PII, clock=FixedClock()
    )
    assert (report.new, report.updated, report.unchanged) == (0, 1, 2)
    assert await TortoiseRegistry(PII).person(ZHANG_ID) == Person(ZHANG_ID, "张三", "13811111111")
    again = await import_registry(
        write_roster(tmp_path / "c.csv", changed), pii=PII, clock=FixedClock()
    )
    assert (again.new, again.updated, again.unchanged) == (0, 0, 3)


# --- an older database: plaintext moved at start-up, nothing lost ---------------------------

T = f"'{EPOCH - timedelta(days=326)}'"  # written long before the tests' now
LEGACY_ROWS = f"""
INSERT INTO person (id, id_number, name, phone, created_at, updated_at) VALUES
    (1, '{ZHANG_ID}', '张三', '{ZHANG_PHONE}', {T}, {T}),
    (2, '{LI_ID}', '李四', '{LI_PHONE}', {T}, {T}),
    (3, '{WORKER_ID}', '工人', '', {T}, {T});
INSERT INTO enterprise (id, credit_code, name, contact_phone, created_at, updated_at) VALUES
    (1, '{COMPANY}', '云南测试建设有限公司', '{BOSS_PHONE}', {T}, {T}),
    (2, '{OTHER_COMPANY}', '没有联系电话的公司', '', {T}, {T});
INSERT INTO certificate (id, number, cert_type, category, person_id, enterprise_id, issued_on,
        expires_on, status, created_at, updated_at) VALUES
    (1, '云建安B-1', 'safety_b', NULL, 1, NULL, NULL, '{days_from_today(124)}', 'valid', {T}, {T}),
    (2, '云建安B-2', 'safety_b', NULL, 2, NULL, NULL, '{days_from_today(154)}', 'valid', {T}, {T}),
    (3, '云建安B-101', 'safety_b', NULL, 3, 1, NULL, '{days_from_today(93)}', 'valid', {T}, {T});
INSERT INTO binding (id, chat_user_id, person_id, bound_at) VALUES (1, 100001, 1, {T});
INSERT INTO enterprise_contact (id, chat_user_id, enterprise_id, bound_at)
    VALUES (1, 100009, 1, {T});
INSERT INTO enrolment (id, certificate_id, active_key, channel, enterprise_id, enrolled_by, state,
        created_at, updated_at) VALUES
    (1, 1, '云建安B-1', 'individual', NULL, 100001, 'enrolled', {T}, {T}),
    (2, 3, '云建安B-101', 'enterprise', 1, 100009, 'enrolled', {T}, {T});
"""
# What the same people look like in a roster: re-importing it after the move changes nothing.
LEGACY_ROSTER = [ROSTER[0], ROSTER[1], {**ROSTER[2], "手机号": ""}]
RELATED = {"certificate": 3, "binding": 1, "enterprise_contact": 1, "enrolment": 2}


async def legacy_database(database_url: str) -> None:
    """A database of the last version that stored plaintext (migration 0010), with a registry."""
    await migrate(config=tortoise_config(database_url), target="jijiao.0010_check_challenge")
    await connections.get(connection_name(database_url)).execute_script(LEGACY_ROWS)
    await Tortoise.close_connections()


async def registry_as_read() -> dict[str, Any]:
    people = {
        p.name: (PII.open(p.id_number_sealed), PII.open(p.phone_sealed), p.updated_at)
        for p in await models.Person.all()
    }
    companies = {
        e.credit_code: PII.open(e.contact_phone_sealed) for e in await models.Enterprise.all()
    }
    counts = {
        "certificate": await models.Certificate.all().count(),
        "binding": await models.Binding.all().count(),
        "enterprise_contact": await models.EnterpriseContact.all().count(),
        "enrolment": await models.Enrolment.all().count(),
    }
    return {"people": people, "companies": companies, "counts": counts}


async def _an_older_database_is_sealed_at_start_up_and_loses_nothing(
    database_url: str, tmp_path: Path
) -> None:
    await legacy_database(database_url)

    with pytest.raises(RuntimeError, match="plaintext"):
        await open_database(database_url)  # without the key: stops before dropping anything
    await Tortoise.close_connections()

    context = await open_database(database_url, PII)
    try:
        first = await registry_as_read()
        assert {name: found[:2] for name, found in first["people"].items()} == {
            "张三": (ZHANG_ID, ZHANG_PHONE),
            "李四": (LI_ID, LI_PHONE),
            "工人": (WORKER_ID, ""),
        }
        assert first["companies"] == {COMPANY: BOSS_PHONE, OTHER_COMPANY: ""}
        assert first["counts"] == RELATED
        assert not {"id_number", "phone"} & await columns_of(database_url, "person")
        assert "contact_phone" not in await columns_of(database_url, "enterprise")
        assert await plaintext_in_database(database_url, SECRETS) == []

        assert await TortoiseBindings(PII).account_of(ZHANG_ID) == 100001
        enterprise = await TortoiseRegistry(PII).enterprise(COMPANY)
        assert enterprise is not None and enterprise.contact_phone == BOSS_PHONE
        report = await import_registry(
            write_roster(tmp_path / "r.csv", LEGACY_ROSTER), pii=PII, clock=FixedClock()
        )
        assert (report.new, report.updated, report.unchanged) == (0, 0, 3)
    finally:
        await context.close_connections()

    again = await open_database(database_url, PII)  # the next start: nothing left to move
    try:
        assert await registry_as_read() == first  # not even sealed again (updated_at kept)
    finally:
        await again.close_connections()


async def test_an_older_sqlite_database_is_sealed_at_start_up_and_loses_nothing(tmp_path: Path):
    path = tmp_path / "old.sqlite3"
    await _an_older_database_is_sealed_at_start_up_and_loses_nothing(f"sqlite://{path}", tmp_path)
    assert plaintext_in_files(path, SECRETS) == []


@pytest.mark.postgres
async def test_an_older_postgresql_database_is_sealed_at_start_up_and_loses_nothing(
    empty_postgres_url: str, tmp_path: Path
):
    await _an_older_database_is_sealed_at_start_up_and_loses_nothing(empty_postgres_url, tmp_path)


def test_jijiao_migrate_seals_an_older_database_with_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    url = f"sqlite://{tmp_path / 'old.sqlite3'}"
    asyncio.run(legacy_database(url))
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "secret.key").write_text("k" * 32)  # local mode's key: PII's
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("APP_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SECURITY_SECRET_KEY", raising=False)

    assert main(["migrate"]) == 0

    async def read() -> dict[str, Any]:
        context = await open_database(url, PII)
        try:
            return await registry_as_read()
        finally:
            await context.close_connections()

    assert asyncio.run(read())["companies"] == {COMPANY: BOSS_PHONE, OTHER_COMPANY: ""}


async def test_sealing_stopped_half_way_goes_on_without_sealing_twice(tmp_path: Path):
    url = f"sqlite://{tmp_path / 'old.sqlite3'}"
    await legacy_database(url)
    config = tortoise_config(url)
    await migrate(config=config, target=f"jijiao.{SEALED_COLUMNS_ADDED}")
    client = connections.get(connection_name(url))
    assert await seal_plaintext(client, PII) == 5  # three people, two enterprises
    _, sealed = await client.execute_query("SELECT id_number_sealed, phone_sealed FROM person")
    assert await seal_plaintext(client, PII) == 0
    _, again = await client.execute_query("SELECT id_number_sealed, phone_sealed FROM person")
    assert [tuple(r) for r in again] == [tuple(r) for r in sealed]
    await Tortoise.close_connections()

    context = await open_database(url, PII)  # the start that was interrupted, run again
    try:
        read = await registry_as_read()
        assert read["counts"] == RELATED
        assert await TortoiseRegistry(PII).person(LI_ID) == Person(LI_ID, "李四", LI_PHONE)
    finally:
        await context.close_connections()


# --- another key reads nothing ---------------------------------------------------------------

OTHER = Pii.from_signer(Signer(b"o" * 32))


def test_a_seal_opens_only_with_its_key_and_never_reads_the_same_twice():
    sealed = PII.seal(ZHANG_ID)
    assert PII.open(sealed) == ZHANG_ID
    assert PII.seal(ZHANG_ID) != sealed and ZHANG_ID not in sealed
    assert PII.digest(ZHANG_ID) == PII.digest(ZHANG_ID) != OTHER.digest(ZHANG_ID)
    with pytest.raises(PiiUnreadable, match="SECURITY_SECRET_KEY"):
        OTHER.open(sealed)
    altered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    for garbage in (altered, sealed[:20], "not a seal", "é"):
        with pytest.raises(PiiUnreadable):
            PII.open(garbage)
    assert (PII.seal(""), PII.open(""), PII.digest("")) == ("", "", "")


async def test_the_app_refuses_to_start_with_a_key_that_opens_nothing(tmp_path: Path):
    url = f"sqlite://{tmp_path / 'pii.sqlite3'}"
    context = await open_database(url, PII)
    await registry.person(1, "张三", ZHANG_PHONE)
    await context.close_connections()

    with pytest.raises(PiiUnreadable):
        await open_database(url, OTHER)
    context = await open_database(url, PII)
    assert await TortoiseRegistry(PII).person(ZHANG_ID) == Person(ZHANG_ID, "张三", ZHANG_PHONE)
    await context.close_connections()


async def test_conversation_state_is_sealed_and_an_older_plain_one_still_reads(database: str):
    from aiogram.fsm.storage.base import StorageKey

    key = StorageKey(bot_id=7000000001, chat_id=100002, user_id=100002)
    storage = DatabaseStorage(PII)
    await storage.set_data(key, {"id_number": LI_ID})
    assert await storage.get_data(key) == {"id_number": LI_ID}
    [record] = await models.FsmRecord.all()
    assert LI_ID not in str(record.data)
    with pytest.raises(PiiUnreadable):
        await DatabaseStorage(OTHER).get_data(key)

    await models.FsmRecord.filter(key=record.key).update(data={"page": 2})  # written before
    assert await storage.get_data(key) == {"page": 2}
