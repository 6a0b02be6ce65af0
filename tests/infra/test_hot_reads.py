"""The reads on every turn's path are SQL written once for both databases (infra/db/sql.py,
issue 20): on SQLite and on PostgreSQL they give the same domain objects, dates as dates and
times as aware datetimes, whom the account is bound to, the enrolments of a person and of an
enterprise (newest first, each its own certificate and holder), what is due to whom, and the
payer's open orders with their items, the web view's paid enrolments, lesson progress and face
profile, the account an update comes from and the update inbox's row."""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from application.study import FaceStore, LazyFaces, Profile, Study, StudyConfig, StudyHome
from domain.accounts import ChatUserId
from domain.checkout import InvoiceDetails
from domain.enrolment import Channel, EnrolmentState
from domain.identity import Bound
from domain.payment import OrderStatus
from domain.registry import CertType, RegistryStatus, SiteRole
from infra.content import load_courses
from infra.db import models, open_database
from infra.db.study_models import LessonProgress
from infra.inbox import TortoiseInbox
from infra.repositories import registry as registry_repository
from infra.repositories.accounts import TortoiseAccountRepository
from infra.repositories.payments import TortoisePaymentStore
from infra.repositories.registry import TortoiseBindings, TortoiseEnrolments, one_update
from tests.support import registry
from tests.support.clock import FixedClock

CONFIG = StudyConfig()
CONTACT, TRAINEE, STRANGER, BOTH = (ChatUserId(n) for n in (41, 42, 43, 44))


async def world(clock: FixedClock) -> dict[str, int]:
    now = clock.now()
    company = await registry.enterprise(7, "云南测试建设有限公司", "13900000007")
    holder = await registry.person(7, "赵七", "13800000007")
    other = await registry.person(8, "钱八", "13800000008")
    await models.Binding.create(chat_user_id=TRAINEE, person=holder)
    await models.EnterpriseContact.create(chat_user_id=CONTACT, enterprise=company)
    own = await registry.certificate(holder, "云建安B(2024)0007", "safety_b", date(2027, 3, 31))
    own.issued_on, own.category, own.role = date(2024, 4, 1), None, None
    await own.save()
    site = await registry.certificate(
        holder, "云建施(2023)0007", "site_pro", date(2027, 5, 1), employer=company
    )
    site.role = SiteRole.CONSTRUCTION.value
    await site.save()
    staff = await registry.certificate(
        other, "云建安C(2022)0008", "safety_c", date(2026, 12, 31), employer=company
    )
    mine = await registry.enrolment(own, TRAINEE, "enrolled", created_at=now - timedelta(days=2))
    theirs = await models.Enrolment.create(
        certificate=site,
        active_key=site.number,
        channel="enterprise",
        enterprise=company,
        enrolled_by=CONTACT,
        state="enrolled",
        created_at=now - timedelta(days=1),
    )
    passed = await models.Enrolment.create(
        certificate=staff,
        channel="enterprise",
        enterprise=company,
        enrolled_by=CONTACT,
        state="passed",
        created_at=now,
    )
    await models.Enrolment.create(  # cancelled: not the enterprise's any more
        certificate=staff,
        channel="enterprise",
        enterprise=company,
        enrolled_by=CONTACT,
        state="cancelled",
        created_at=now - timedelta(days=9),
    )
    order = await models.Order.create(
        number="JJ202612070001",
        payer_chat_user_id=CONTACT,
        channel="enterprise",
        enterprise=company,
        amount_fen=30000,
        status="pending",
        provider="sandbox",
        created_at=now,
        expires_at=now + timedelta(minutes=30),
        invoice_title="云南测试建设有限公司",
    )
    await models.OrderItem.create(order=order, enrolment=theirs, amount_fen=30000)
    await models.InvoiceProfile.create(chat_user_id=CONTACT, title="云南测试建设有限公司")
    return {"mine": mine.id, "theirs": theirs.id, "passed": passed.id}


async def reads_agree(clock: FixedClock, tmp_path: Path) -> None:
    ids = await world(clock)
    bindings = TortoiseBindings(registry.PII)
    enrolments = TortoiseEnrolments(registry.PII)
    payments = TortoisePaymentStore(registry.PII)

    person = await bindings.person_of(TRAINEE)
    assert person is not None
    assert (person.id_number, person.name, person.phone) == (
        registry.id_number(7),
        "赵七",
        "13800000007",
    )
    assert await bindings.person_of(STRANGER) is None
    company = await bindings.enterprise_of(CONTACT)
    assert company is not None
    assert (company.credit_code, company.name, company.contact_phone) == (
        registry.credit_code(7),
        "云南测试建设有限公司",
        "13900000007",
    )
    assert await bindings.enterprise_of(TRAINEE) is None
    # Both at once, as /status and /pay read them: one, the other, neither, both.
    assert await bindings.bound(TRAINEE) == Bound(person, None)
    assert await bindings.bound(CONTACT) == Bound(None, company)
    assert await bindings.bound(STRANGER) == Bound(None, None)
    other = await registry.person_by_id_number(registry.id_number(8))
    await models.Binding.create(chat_user_id=BOTH, person=other)
    employer = await models.Enterprise.get(credit_code=registry.credit_code(7))
    await models.EnterpriseContact.create(chat_user_id=BOTH, enterprise=employer)
    both = await bindings.bound(BOTH)
    assert both.enterprise == company and both.person is not None
    assert (both.person.name, both.person.phone) == ("钱八", "13800000008")

    # The holder's enrolments, newest first, through their own and their employer's channel.
    own = await enrolments.of_person(registry.id_number(7))
    assert [(e.id, e.state, e.channel) for e in own] == [
        (ids["theirs"], EnrolmentState.ENROLLED, Channel.ENTERPRISE),
        (ids["mine"], EnrolmentState.ENROLLED, Channel.INDIVIDUAL),
    ]
    site, safety = own[0].certificate, own[1].certificate
    assert (site.cert_type, site.role, site.enterprise_credit_code) == (
        CertType.SITE_PRO,
        SiteRole.CONSTRUCTION,
        registry.credit_code(7),
    )
    assert safety.expires_on == date(2027, 3, 31) and type(safety.expires_on) is date
    assert safety.issued_on == date(2024, 4, 1) and safety.status is RegistryStatus.VALID
    assert (safety.holder_id_number, safety.holder_name) == (registry.id_number(7), "赵七")
    assert safety.enterprise_credit_code is None and site.issued_on is None

    # The enterprise's: its employees' certificates, active or passed, not cancelled.
    theirs = await enrolments.of_enterprise(registry.credit_code(7))
    assert [(e.id, e.certificate.holder_name) for e in theirs] == [
        (ids["passed"], "钱八"),
        (ids["theirs"], "赵七"),
    ]

    # What is due: to the person, their own enrolment; to the company, the one it made.
    due = await payments.due(id_number=registry.id_number(7), credit_code=None)
    assert [(i, c.number) for i, c in due] == [(ids["mine"], "云建安B(2024)0007")]
    due = await payments.due(id_number=None, credit_code=registry.credit_code(7))
    assert [(i, c.number) for i, c in due] == [(ids["theirs"], "云建施(2023)0007")]
    assert await payments.due(id_number=registry.id_number(9), credit_code=None) == []

    [order], invoice = await payments.open_orders_and_invoice(CONTACT)
    assert invoice == InvoiceDetails("云南测试建设有限公司", None, None)
    assert (order.number, order.status, order.enterprise_credit_code, order.amount_fen) == (
        "JJ202612070001",
        OrderStatus.PENDING,
        registry.credit_code(7),
        30000,
    )
    assert order.created_at == clock.now() and order.created_at.tzinfo is not None
    assert order.expires_at == clock.now() + timedelta(minutes=30)
    assert isinstance(order.expires_at, datetime) and order.paid_at is None
    assert [(i.enrolment_id, i.certificate.number, i.fee_fen) for i in order.items] == [
        (ids["theirs"], "云建施(2023)0007", 30000)
    ]
    assert await payments.open_orders_and_invoice(TRAINEE) == ([], None)
    assert await payments.get("JJ202612070001") == order
    assert await payments.get("JJ000000000000") is None

    # Orders in order, each with its items in order; a paid one is not open; saved details
    # without orders are still read.
    async def contacts_order(number: str, status: str, *enrolments: int) -> models.Order:
        order = await models.Order.create(
            number=number,
            payer_chat_user_id=CONTACT,
            channel="enterprise",
            amount_fen=30000 * len(enrolments),
            status=status,
            provider="sandbox",
            created_at=clock.now(),
            expires_at=clock.now() + timedelta(minutes=30),
            invoice_title="云南测试建设有限公司",
        )
        for enrolment in enrolments:
            await models.OrderItem.create(order=order, enrolment_id=enrolment, amount_fen=30000)
        return order

    second = await contacts_order("JJ202612070002", "pending", ids["passed"], ids["mine"])
    paid = await contacts_order("JJ202612070003", "paid", ids["theirs"])
    orders, _ = await payments.open_orders_and_invoice(CONTACT)
    assert [(o.number, [i.enrolment_id for i in o.items]) for o in orders] == [
        ("JJ202612070001", [ids["theirs"]]),
        ("JJ202612070002", [ids["passed"], ids["mine"]]),
    ]
    assert orders[0] == order
    await models.InvoiceProfile.create(chat_user_id=TRAINEE, title="赵七", email="z@example.cn")
    assert await payments.open_orders_and_invoice(TRAINEE) == (
        [],
        InvoiceDetails("赵七", None, "z@example.cn"),
    )
    await second.delete()
    await paid.delete()

    # The jobs' reads of orders by time: the same order, picked by when it ends.
    now = clock.now()
    assert await payments.expiring_unwarned(now, timedelta(minutes=10)) == []
    assert await payments.expiring_unwarned(now, timedelta(minutes=30)) == [order]
    assert await payments.to_reconcile(now, now - timedelta(days=1)) == [order]
    assert await payments.overdue_invoices(now.date()) == []
    [expired] = await payments.expire(now + timedelta(minutes=30))
    assert (expired.number, expired.status) == (order.number, OrderStatus.EXPIRED)
    assert await payments.to_reconcile(now, now) == [expired]
    assert await payments.to_reconcile(now, now + timedelta(hours=1)) == []
    await models.Order.filter(number=order.number).update(
        status="paid", invoice_due_on=now.date() - timedelta(days=1)
    )
    [overdue] = await payments.overdue_invoices(now.date())
    assert overdue.number == order.number and overdue.invoice_due_on == now.date() - timedelta(
        days=1
    )

    # The web view's list of the trainee's paid enrolments (every page reads it).
    study = Study(load_courses(), LazyFaces(tmp_path), FaceStore(tmp_path / "faces"), CONFIG)
    assert await study.enrolments(TRAINEE) == []
    assert await study.home(TRAINEE) == StudyHome(None, Profile(False, False), [], {})
    assert await study.home(STRANGER) == StudyHome(None, Profile(False, False), [], {})
    paid_at = clock.now() - timedelta(hours=1)
    await models.Enrolment.filter(id=ids["theirs"]).update(
        state="studying", paid_at=paid_at, study_deadline=paid_at + timedelta(days=30)
    )
    [paid] = await study.enrolments(TRAINEE)
    assert (paid.id, paid.cert_type, paid.certificate_number, paid.state, paid.role) == (
        ids["theirs"],
        CertType.SITE_PRO,
        "云建施(2023)0007",
        "studying",
        SiteRole.CONSTRUCTION,
    )
    assert paid.paid_at == paid_at and paid.deadline == paid_at + timedelta(days=30)
    assert paid.paid_at is not None and paid.paid_at.tzinfo is not None
    assert await study.enrolments(CONTACT) == []  # the payer is not the holder
    assert await study.progress(paid) == study.lesson_states(paid, {})
    first = study.course(paid).lessons[0].key
    await LessonProgress.create(
        enrolment_id=paid.id, lesson=first, chat_user_id=TRAINEE, seconds_credited=90
    )
    assert (await study.progress(paid))[0].credited == 90
    assert await study.profile(TRAINEE) == Profile(False, False)
    await study.consent(TRAINEE, clock.now())
    assert await study.profile(TRAINEE) == Profile(True, False)

    # The study page's one read: the profile, the paid enrolments (the latest paid first) and
    # each one's credited lessons, as the three reads above give them.
    assert await study.home(TRAINEE) == StudyHome(
        None, Profile(True, False), [paid], {paid.id: {first: 90}}
    )
    await models.ChatUser.create(id=TRAINEE, first_name="赵七", locale="en")  # chosen in the chat
    assert (await study.home(TRAINEE)).chosen_locale == "en"
    await models.Enrolment.filter(id=ids["mine"]).update(
        state="studying", paid_at=paid_at + timedelta(minutes=5), study_deadline=paid_at
    )
    latest, _ = await study.enrolments(TRAINEE)
    assert latest.id == ids["mine"]
    second = study.course(latest).lessons[1].key
    await LessonProgress.create(
        enrolment_id=latest.id, lesson=second, chat_user_id=TRAINEE, seconds_credited=30
    )
    await LessonProgress.create(
        enrolment_id=paid.id, lesson=second, chat_user_id=TRAINEE, seconds_credited=60
    )
    home = await study.home(TRAINEE)
    assert home.enrolments == [latest, paid] == await study.enrolments(TRAINEE)
    assert home.credited == {latest.id: {second: 30}, paid.id: {first: 90, second: 60}}
    assert study.lesson_states(paid, home.credited[paid.id]) == await study.progress(paid)
    await study.delete_photo(TRAINEE, clock.now())  # deleted: as if there were none
    assert (await study.home(TRAINEE)).profile == Profile(False, False)

    # Who is talking, on every update: read, and written only when something changed.
    accounts = TortoiseAccountRepository()
    now = clock.now()
    met = await accounts.seen(STRANGER, "孙九", "en", at=now)
    assert met.client_language_new and met.locale.value == "en"
    again = await accounts.seen(STRANGER, "孙九", "en", at=now + timedelta(seconds=30))
    assert not again.client_language_new and again == replace(met, client_language_new=False)
    row = await models.ChatUser.get(id=STRANGER)
    assert row.last_inbound_at == now  # within the minute: not written
    await accounts.seen(STRANGER, "孙九", "en", at=now + timedelta(minutes=2))
    row = await models.ChatUser.get(id=STRANGER)
    assert row.last_inbound_at == now + timedelta(minutes=2)
    await models.ChatUser.filter(id=STRANGER).update(unreachable=True, locale="zh_CN")
    back = await accounts.seen(STRANGER, "孙九", "zh-hans", at=now + timedelta(minutes=2))
    assert back.client_language_new and back.chosen_locale == "zh_CN"
    assert not (await models.ChatUser.get(id=STRANGER)).unreachable  # writing again: reachable
    assert await accounts.get(STRANGER) == replace(back, client_language_new=False)
    assert await accounts.get(ChatUserId(999)) is None

    # The update inbox, on every update: stored once (a redelivery stores nothing), dates as
    # Tortoise writes them, so the lease's comparisons and the take-over read them back.
    inbox = TortoiseInbox(registry.PII, bot_id=7, worker_id="here")
    update = {"update_id": 9001, "message": {"text": "/status 530102199001010812"}}
    lease = timedelta(seconds=30)
    assert await inbox.store([(9001, update)], now, lease) == {9001}
    assert await inbox.store([(9001, update)], now + timedelta(seconds=1), lease) == set()
    assert await TortoiseInbox(registry.PII, bot_id=8).store([(9001, update)], now, lease) == {9001}
    stored = await models.UpdateInbox.get(bot_id=7, update_id=9001)
    assert (stored.received_at, stored.claimed_until) == (now, now + lease)
    assert (stored.attempts, stored.claimed_by, stored.done_at) == (1, "here", None)
    assert "530102" not in stored.payload_sealed
    assert await inbox.take_over(now + lease - timedelta(seconds=1), lease, 10) == []
    [taken] = await TortoiseInbox(registry.PII, bot_id=7).take_over(now + lease, lease, 10)
    assert (taken.update_id, taken.payload, taken.attempts) == (9001, update, 2)
    # Updates that arrived together: one statement, the one already there left out, the
    # same update twice in it stored once.
    other = {"update_id": 9002, "message": {"text": "/pay"}}
    together = [(9002, other), (9001, update), (9002, other)]
    assert await inbox.store(together, now, lease) == {9002}
    assert await models.UpdateInbox.filter(bot_id=7).count() == 2
    assert await inbox.finish([9001, 9002], now + lease) == 2


class CountingFetch:
    def __init__(self, fetch: Any) -> None:
        self.fetch, self.sql = fetch, []

    async def __call__(self, model: Any, sql: str, params: Any) -> Any:
        self.sql.append(sql)
        return await self.fetch(model, sql, params)


async def bound_read_once(clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """An update reads whom its account is bound to with the account (one_update), not again
    for each use case that asks; a binding made in it is read afresh; outside one, each ask
    reads."""
    await world(clock)
    pii, now = registry.PII, clock.now()
    accounts, bindings = TortoiseAccountRepository(), TortoiseBindings(pii)
    await models.ChatUser.create(id=TRAINEE, first_name="赵七", last_inbound_at=now)
    await models.ChatUser.create(id=STRANGER, first_name="孙九", last_inbound_at=now)
    fresh = await bindings.bound(TRAINEE)
    assert fresh.person is not None and fresh.person.name == "赵七"
    counted = CountingFetch(registry_repository.fetch)
    monkeypatch.setattr(registry_repository, "fetch", counted)

    with one_update():
        await accounts.seen(TRAINEE, "赵七", None, at=now)
        assert await bindings.bound(TRAINEE) == fresh
        assert await bindings.person_of(TRAINEE) == fresh.person
        assert counted.sql == []  # read with the account
        assert await bindings.bound(CONTACT) != fresh and len(counted.sql) == 1  # not its own

        await accounts.seen(STRANGER, "孙九", None, at=now)
        assert await bindings.bound(STRANGER) == Bound(None, None)
        await bindings.bind_enterprise(STRANGER, registry.credit_code(7))
        assert (await bindings.bound(STRANGER)).enterprise is not None  # afresh
        assert len(counted.sql) == 2

    assert await bindings.bound(TRAINEE) == fresh and len(counted.sql) == 3  # outside: read
    # A task started within an update outlives it: it reads afresh, not the update's memo.
    with one_update():
        await accounts.seen(TRAINEE, "赵七", None, at=now)
        started_within = contextvars.copy_context()
    later = asyncio.create_task(bindings.bound(TRAINEE), context=started_within)
    assert await later == fresh and len(counted.sql) == 4

    # A WeChat message's account is read with whom it is bound to, as a Telegram update's is.
    wechat = await accounts.seen_on("wechat", "o-zhao", "微信用户", None, at=now)
    await bindings.bind_enterprise(wechat.id, registry.credit_code(7))
    with one_update():
        again = await accounts.seen_on("wechat", "o-zhao", "微信用户", None, at=now)
        assert again.id == wechat.id
        assert (await bindings.bound(again.id)).enterprise is not None
        assert len(counted.sql) == 4


async def test_the_hot_reads_on_sqlite(database, clock: FixedClock, tmp_path: Path):
    await reads_agree(clock, tmp_path)


async def test_an_update_reads_whom_it_is_bound_to_once_on_sqlite(
    database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
):
    await bound_read_once(clock, monkeypatch)


@pytest.mark.postgres
async def test_an_update_reads_whom_it_is_bound_to_once_on_postgresql(
    postgres_url, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
):
    context = await open_database(postgres_url)
    try:
        await bound_read_once(clock, monkeypatch)
    finally:
        await context.close_connections()


@pytest.mark.postgres
async def test_the_hot_reads_on_postgresql(postgres_url, clock: FixedClock, tmp_path: Path):
    context = await open_database(postgres_url)
    try:
        await reads_agree(clock, tmp_path)
    finally:
        await context.close_connections()
