"""The staff console (/staff/) on the whole product: signed in by the bot's one-time link in the
staff group, deciding a batch of applications the way the group's buttons do, moving an
identity to a new phone's account; and what an outsider, a desk member or a forged form meets."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiogram.types import BufferedInputFile

from infra.db import models
from infra.db.exam_models import ExamAttempt
from infra.db.study_models import FaceReview
from infra.outbox import NewMessage, TortoiseOutbox
from infra.settings import LOCAL_STAFF_GROUP_ID
from infra.signing import Signer
from jijiao.app import Runtime
from tests.support import registry
from tests.support.clock import days_from_today
from tests.support.localchat_client import STAFF, LocalChatClient, button_data, eventually
from webview.auth import STAFF_COOKIE, StaffRole, StaffSessions, StaffViewer
from webview.console import CONSOLE

pytestmark = pytest.mark.long  # minutes: run first (tests/conftest.py)

TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


@pytest.fixture
async def browser() -> Any:
    # Cookies for 127.0.0.1 need the unsafe jar (aiohttp keeps none for IP hosts otherwise).
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


def _link(message: dict[str, Any]) -> str:
    """The sign-in address the bot's message links to."""
    for entity in message.get("entities") or []:
        if entity["type"] == "text_link" and "/staff/login?t=" in entity["url"]:
            return str(entity["url"])
    raise AssertionError(message)


async def _page(browser: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with browser.get(url) as response:
        return response.status, await response.text()


async def _post(
    browser: aiohttp.ClientSession, url: str, data: list[tuple[str, str]]
) -> tuple[int, str, str]:
    async with browser.post(url, data=data) as response:
        return response.status, await response.text(), str(response.url)


async def _sign_in(chat: LocalChatClient, browser: aiohttp.ClientSession) -> tuple[str, str]:
    """/console in the staff group; the link, opened; the applications page it lands on."""
    await chat.staff_says("/console")
    link = _link(await eventually(lambda: _newest_with(chat, "/staff/login")))
    status, page = await _page(browser, link)
    assert status == 200, page
    return link, page


async def _newest_with(chat: LocalChatClient, needle: str) -> dict[str, Any] | None:
    for message in reversed(await chat.group_messages()):
        if needle in str(message.get("entities")):
            return message
    return None


async def test_staff_sign_in_once_and_decide_ten_applications_like_the_group_does(
    chat: LocalChatClient, live_app: Runtime, browser: aiohttp.ClientSession
):
    trainees = list(range(100301, 100311))
    for trainee in trainees:  # people who talked to the bot: a decision reaches them
        await chat.send(trainee, "/start", first_name="学员", language_code="zh-hans")
        await chat.reply(trainee)
    applications = [
        await registry.extension_waiting(n, trainee, live_app.clock.now())
        for n, trainee in enumerate(trainees, 1)
    ]
    # One of them filed its form in the group: that card shows the console's decision too.
    card = await live_app.bot.send_document(
        LOCAL_STAFF_GROUP_ID,
        BufferedInputFile(b"%PDF-1.4 form", filename="extension.pdf"),
        caption=f"延期申请 #{applications[0].id}",
    )
    applications[0].staff_message_id = card.message_id
    await applications[0].save(update_fields=["staff_message_id"])

    # Never opened the bot privately: the link comes in the group, for this staff member.
    link, page = await _sign_in(chat, browser)
    assert "申请" in page and "10 条" in page
    for application in applications:
        assert f'value="{application.id}"' in page
    # Masked, and no internal code on the page.
    assert "B-53-0001" not in page and "extension" not in page.replace('value="extension"', "")

    # The link was good once: forwarded or opened again, it signs nobody in.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        status, again = await _page(other, link)
    assert status == 401 and "已经用过" in again

    token = TOKEN.search(page).group(1)  # type: ignore[union-attr]
    ids = [("application", str(a.id)) for a in applications]
    # A rejection without a reason changes nothing and says why.
    status, shown, _ = await _post(
        browser,
        f"{live_app.settings.base_url}/staff/applications/decide",
        [("form_token", token), ("decision", "reject"), ("reason", "  "), *ids],
    )
    assert status == 200 and "需要写明理由" in shown
    assert await models.Application.filter(status="pending").count() == 10

    status, shown, landed = await _post(
        browser,
        f"{live_app.settings.base_url}/staff/applications/decide",
        [("form_token", token), ("decision", "approve"), ("back", "/staff/applications"), *ids],
    )
    assert status == 200 and landed.split("?")[0].endswith("/staff/applications")
    assert "已批准 10 份申请" in shown and "暂无符合条件的申请" in shown
    decided = await models.Application.filter(id__in=[a.id for a in applications])
    assert {(a.status, a.decided_by) for a in decided} == {("approved", STAFF)}
    assert await models.AuditLog.filter(action="application_approved", actor_id=STAFF).count() == 10
    for trainee in trainees:
        told = await chat.reply(trainee)
        assert "延期申请已批准" in told["text"]
    # The group's card says who decided, when, and has no buttons left: the chat's trace.
    [edited] = [m for m in await chat.group_messages() if m["message_id"] == card.message_id]
    assert "✅ 由 客服小李 (demo staff) 于" in edited["caption"]
    assert not edited.get("reply_markup")

    # Deciding them again (a second tab, a colleague) changes nothing and says so.
    status, shown, _ = await _post(
        browser,
        f"{live_app.settings.base_url}/staff/applications/decide",
        [("form_token", token), ("decision", "reject"), ("reason", "材料不全"), *ids[:2]],
    )
    assert "2 份申请已由他人处理" in shown
    assert await models.Application.filter(status="rejected").count() == 0

    # The list filters by status: the ten are among the approved, in English on request.
    status, approved = await _page(
        browser, f"{live_app.settings.base_url}/staff/applications?status=approved&lang=en"
    )
    assert (
        "Applications" in approved
        and "10 found" in approved
        and "waiting for a decision" in approved
    )
    status, still_english = await _page(browser, f"{live_app.settings.base_url}/staff/people")
    assert "Trainees" in still_english and "学员" not in still_english.split("<main>")[0]


async def test_a_supervisor_moves_an_identity_to_the_new_phones_account_and_both_are_told(
    chat: LocalChatClient, live_app: Runtime, browser: aiohttp.ClientSession
):
    old_account, new_account = 100321, 100322
    id_number = registry.id_number(321)
    person = await registry.holder(id_number, "周九", "13800003210")
    await registry.certificate(person, "B-53-0321", "safety_b", days_from_today(120))
    await chat.send(old_account, "/start", first_name="周九", language_code="zh-hans")
    await chat.reply(old_account)
    await models.Binding.create(chat_user_id=old_account, person=person)

    # The new phone's account proves the registry phone and name; the ID is bound elsewhere.
    await chat.send(new_account, "/enrol", first_name="周九", language_code="zh-hans")
    who = await chat.reply(new_account)
    await chat.click(new_account, who["message_id"], button_data(who, "本人"))
    await chat.reply(new_account)
    await chat.send(new_account, id_number)
    await chat.reply(new_account)
    await chat.send(new_account, "周九")
    await chat.reply(new_account)
    await chat.share_contact(new_account, "13800003210")
    refused = await eventually(lambda: _last_text(chat, new_account, "不会擅自转移"))
    assert refused

    await chat.send(STAFF, "/start")  # the staff member opens the bot: links come privately
    await chat.reply(STAFF)
    await chat.staff_says("/console")
    private = await chat.reply(STAFF)
    link = _link(private)
    assert await _newest_with(chat, "/staff/login") is None  # nothing left in the group
    status, _ = await _page(browser, link)
    assert status == 200

    base = live_app.settings.base_url
    status, people = await _page(browser, f"{base}/staff/people")
    # Searched by the whole ID number: posted, never in an address; straight to the person.
    status, detail, landed = await _post(
        browser,
        f"{base}/staff/search",
        [("form_token", TOKEN.search(people).group(1)), ("list", "people"), ("q", id_number)],  # type: ignore[union-attr]
    )
    assert landed == f"{base}/staff/people/{person.id}" and id_number not in landed
    assert "周九" in detail and id_number not in detail
    assert "申请把此身份转到新账号" in detail and str(new_account) in detail
    assert "13800003210" not in detail and "138****3210" in detail
    request = await models.SupportRequest.get(kind="rebind_request", chat_user_id=new_account)
    token = TOKEN.search(detail).group(1)  # type: ignore[union-attr]

    status, shown, _ = await _post(
        browser,
        f"{base}/staff/people/{person.id}/rebind",
        [
            ("form_token", token),
            ("request", str(request.id)),
            ("back", f"/staff/people/{person.id}"),
        ],
    )
    assert f"已从账号 {old_account} 转到账号 {new_account}" in shown
    binding = await models.Binding.get(person_id=person.id)
    assert binding.chat_user_id == new_account
    assert (await chat.reply(new_account))["text"].startswith("✅ 工作人员已将您的身份证号")
    assert "已应您的要求" in (await chat.reply(old_account))["text"]
    entry = await models.AuditLog.get(action="rebind")
    assert entry.actor_id == STAFF and entry.details["from"] == old_account

    # The same request again (a double click, a second tab): handled once.
    status, shown, _ = await _post(
        browser,
        f"{base}/staff/people/{person.id}/rebind",
        [
            ("form_token", token),
            ("request", str(request.id)),
            ("back", f"/staff/people/{person.id}"),
        ],
    )
    assert "已处理过" in shown
    assert (await models.Binding.get(person_id=person.id)).chat_user_id == new_account

    # The audit log shows it in words, to a supervisor.
    status, log = await _page(browser, f"{base}/staff/audit")
    assert status == 200 and "把身份转到新账号" in log and "rebind" not in log


async def _last_text(chat: LocalChatClient, user: int, needle: str) -> bool:
    async with chat.http.get(f"{chat.api}/users/{user}/messages") as response:
        messages = (await response.json())["messages"]
    return any(needle in (m.get("text") or "") for m in messages)


async def test_outsiders_forged_forms_and_desk_staff_change_nothing(
    live_app: Runtime, browser: aiohttp.ClientSession
):
    base = live_app.settings.base_url
    application = await registry.extension_waiting(40, 100340, live_app.clock.now())
    person_id = (await models.Person.get(name="学员40")).id

    # Nobody signed in: every page says how to sign in, every action is refused.
    for path in (
        "/staff/applications",
        "/staff/people",
        f"/staff/people/{person_id}",
        "/staff/audit",
    ):
        status, page = await _page(browser, base + path)
        assert status == 401 and "/console" in page and "学员40" not in page
    status, _, _ = await _post(
        browser,
        f"{base}/staff/applications/decide",
        [("decision", "approve"), ("application", str(application.id))],
    )
    assert status == 401

    # A forged cookie, and a link signed with another key.
    forged = StaffSessions.__new__(StaffSessions)
    forged._signer = Signer(b"x" * 32)  # type: ignore[attr-defined]
    supervisor = StaffViewer(1, "冒充者", StaffRole.SUPERVISOR, "zh_CN", "forged-nonce")
    browser.cookie_jar.update_cookies(
        {STAFF_COOKIE: forged.session_token(supervisor, live_app.clock.now())}
    )
    status, _ = await _page(browser, f"{base}/staff/applications")
    assert status == 401
    status, page = await _page(
        browser, f"{base}/staff/login?t={forged.link_token(supervisor, live_app.clock.now())}"
    )
    assert status == 401

    # A desk member (not an administrator of the group) reads and decides, but moves no
    # identity, changes no phone and reads no audit log.
    sessions = live_app.web_app[CONSOLE].sessions
    desk = StaffViewer(900002, "客服小王", StaffRole.DESK, "zh_CN", "desk-nonce-1")
    status, _ = await _page(
        browser, f"{base}/staff/login?t={sessions.link_token(desk, live_app.clock.now())}"
    )
    assert status == 200
    status, page = await _page(browser, f"{base}/staff/audit")
    assert status == 403 and "主管" in page
    status, detail = await _page(browser, f"{base}/staff/people/{person_id}")
    assert status == 200 and "修改登记手机号" not in detail
    token = TOKEN.search(detail).group(1)  # type: ignore[union-attr]
    status, _, _ = await _post(
        browser,
        f"{base}/staff/people/{person_id}/phone",
        [("form_token", token), ("phone", "13900000000")],
    )
    assert status == 403
    person = await models.Person.get(id=person_id)
    assert registry.opened(person)[1] == "13800000040"

    # A post without this session's form token (another site's form riding the cookie).
    status, _, _ = await _post(
        browser,
        f"{base}/staff/applications/decide",
        [("form_token", "x.y"), ("decision", "approve"), ("application", str(application.id))],
    )
    assert status == 403
    assert (await models.Application.get(id=application.id)).status == "pending"

    # Somewhere else after the action: the way back stays on the console.
    status, _, landed = await _post(
        browser,
        f"{base}/staff/applications/decide",
        [
            ("form_token", token),
            ("decision", "approve"),
            ("application", str(application.id)),
            ("back", "https://evil.example/staff/"),
        ],
    )
    assert landed.startswith(base + "/staff/applications")
    assert (await models.Application.get(id=application.id)).status == "approved"

    # A person who does not exist, or a malformed id, is a 404.
    for path in ("/staff/people/999999", "/staff/people/１２", "/staff/people/1e3"):
        status, _ = await _page(browser, base + path)
        assert status == 404


async def test_a_sign_in_link_expires_after_ten_minutes(
    chat: LocalChatClient, live_app: Runtime, browser: aiohttp.ClientSession
):
    await chat.staff_says("/console")
    link = _link(await eventually(lambda: _newest_with(chat, "/staff/login")))
    live_app.clock.advance(minutes=11)  # type: ignore[attr-defined]
    status, page = await _page(browser, link)
    assert status == 401 and "10 分钟" in page


async def test_a_supervisor_gives_back_an_attempt_a_crash_wasted_and_the_trainee_may_sit_again(
    chat: LocalChatClient, live_app: Runtime, browser: aiohttp.ClientSession
):
    trainee = 100360
    await chat.send(trainee, "/start", first_name="Wang", language_code="en")
    await chat.reply(trainee)
    application = await registry.extension_waiting(60, trainee, live_app.clock.now())
    enrolment = await models.Enrolment.get(id=application.enrolment_id)
    await models.Enrolment.filter(id=enrolment.id).update(
        state="studying", study_deadline=live_app.clock.now() + timedelta(days=5)
    )
    started = live_app.clock.now() - timedelta(days=1)
    for number in range(1, 6):  # five used; the last one lost to a crashed phone (S15)
        await ExamAttempt.create(
            enrolment=enrolment,
            chat_user_id=trainee,
            number=number,
            status="timed_out" if number == 5 else "submitted",
            bank_version=1,
            started_at=started,
            deadline=started + timedelta(hours=1),
            draw=[],
            score=0 if number == 5 else 40,
        )
    person_id = (await models.Person.get(name="学员60")).id
    await _sign_in(chat, browser)
    base = live_app.settings.base_url
    _, detail = await _page(browser, f"{base}/staff/people/{person_id}")
    assert detail.count("交还此次考试机会") == 5
    token = TOKEN.search(detail).group(1)  # type: ignore[union-attr]
    fifth = await ExamAttempt.get(enrolment_id=enrolment.id, number=5)

    give_back = f"{base}/staff/people/{person_id}/give-back"
    back = ("back", f"/staff/people/{person_id}")
    _, shown, _ = await _post(
        browser, give_back, [("form_token", token), ("attempt", str(fifth.id)), back]
    )
    assert "写明出了什么问题" in shown
    _, shown, _ = await _post(
        browser,
        give_back,
        [
            ("form_token", token),
            ("attempt", str(fifth.id)),
            ("reason", "手机闪退，日志已核实"),
            back,
        ],
    )
    assert "第 5 次考试不再计入" in shown and "客服退回，不计入" in shown
    assert (await ExamAttempt.get(id=fifth.id)).status == "voided"
    told = await chat.reply(trainee)
    assert "attempt 5" in told["text"] and "1 attempt(s) left" in told["text"]
    entry = await models.AuditLog.get(action="attempt_given_back")
    assert entry.actor_id == STAFF and entry.details["reason"] == "手机闪退，日志已核实"

    # Once only; and never another person's attempt through this person's page.
    _status, shown, _ = await _post(
        browser,
        give_back,
        [("form_token", token), ("attempt", str(fifth.id)), ("reason", "再来一次"), back],
    )
    assert "无法退回" in shown
    other = await registry.person(61, "别人", "13800000061")
    _, shown, _ = await _post(
        browser,
        f"{base}/staff/people/{other.id}/give-back",
        [("form_token", token), ("attempt", str(fifth.id - 1)), ("reason", "x"), back],
    )
    assert "无法退回" in shown
    assert (await ExamAttempt.get(id=fifth.id - 1)).status == "submitted"


async def _order(
    number: str, payer: int, enrolment: models.Enrolment, now: datetime, **fields: Any
) -> models.Order:
    order = await models.Order.create(
        number=number,
        payer_chat_user_id=payer,
        channel="individual",
        amount_fen=18000,
        status=fields.pop("status", "pending"),
        provider="wechatpay",
        created_at=now - timedelta(days=3),
        expires_at=now + timedelta(minutes=30),
        invoice_title="周十一",
        **fields,
    )
    await models.OrderItem.create(order=order, enrolment=enrolment, amount_fen=18000)
    return order


async def test_staff_find_invoices_owed_and_send_one_that_reaches_the_payer(
    chat: LocalChatClient, live_app: Runtime, browser: aiohttp.ClientSession
):
    payer = 100370
    await chat.send(payer, "/start", first_name="周十一", language_code="zh-hans")
    await chat.reply(payer)
    now = live_app.clock.now()
    application = await registry.extension_waiting(70, payer, now, name="周十一")
    enrolment = await models.Enrolment.get(id=application.enrolment_id)
    await _order("JJ-PENDING-1", payer, enrolment, now)
    late = await _order(
        "JJ-LATE-2",
        payer,
        enrolment,
        now,
        status="paid",
        paid_at=now - timedelta(days=3),
        invoice_due_on=(now - timedelta(days=1)).date(),
    )
    await _order(
        "JJ-DONE-3", payer, enrolment, now, status="paid", paid_at=now, invoice_file_id="BQAC-f"
    )
    await _sign_in(chat, browser)
    base = live_app.settings.base_url

    _, page = await _page(browser, f"{base}/staff/orders")
    assert "共 3 条" in page and "¥180.00" in page and "周十一" in page
    _, overdue = await _page(browser, f"{base}/staff/orders?invoice=overdue")
    assert "共 1 条" in overdue and "JJ-LATE-2" in overdue and "已逾期" in overdue
    token = TOKEN.search(overdue).group(1)  # type: ignore[union-attr]

    upload = f"{base}/staff/orders/invoice"

    def form(content: bytes, name: str) -> aiohttp.FormData:
        data = aiohttp.FormData()
        data.add_field("form_token", token)
        data.add_field("back", "/staff/orders?invoice=overdue")
        data.add_field("number", late.number)
        data.add_field("invoice", content, filename=name, content_type="application/pdf")
        return data

    async with browser.post(upload, data=form(b"GIF89a not a pdf", "x.pdf")) as response:
        assert "PDF" in await response.text()
    assert (await models.Order.get(id=late.id)).invoice_file_id is None

    async with browser.post(upload, data=form(b"%PDF-1.4 invoice", "fp.pdf")) as response:
        shown = await response.text()
    assert "订单 JJ-LATE-2 的发票已附上" in shown and "共 0 条" in shown
    assert (await models.Order.get(id=late.id)).invoice_file_id
    sent = await eventually(lambda: _document_to(chat, payer))
    assert "JJ-LATE-2" in (sent.get("caption") or "")
    assert await models.AuditLog.filter(action="invoice_attached", actor_id=STAFF).count() == 1


async def _document_to(chat: LocalChatClient, user: int) -> dict[str, Any] | None:
    async with chat.http.get(f"{chat.api}/users/{user}/messages") as response:
        messages = (await response.json())["messages"]
    return next((m for m in messages if m.get("document")), None)


async def test_topics_face_reviews_and_broadcasts_are_listed_in_words_for_staff(
    chat: LocalChatClient, live_app: Runtime, browser: aiohttp.ClientSession
):
    now = live_app.clock.now()
    application = await registry.extension_waiting(80, 100380, now, name="冯八十")
    await models.SupportTicket.create(
        chat_user_id=100380,
        thread_id=77,
        topic_name="冯八十 · 安全员B证 · #1",
        last_message_at=now - timedelta(hours=2),
    )
    await models.SupportTicket.create(
        chat_user_id=100381, thread_id=78, topic_name="已关闭的 · #2", status="closed"
    )
    await FaceReview.create(
        chat_user_id=100380, enrolment_id=application.enrolment_id, check_ids=[], created_at=now
    )
    broadcast = await models.Broadcast.create(
        created_by=STAFF, text="周六停电通知", status="running"
    )
    await TortoiseOutbox().enqueue(
        [
            NewMessage(
                chat_id=chat_id,
                kind="broadcast",
                dedup_key=f"test-broadcast|{broadcast.id}|{chat_id}",
                payload={"text_key": "broadcast", "params": {}},
                essential=True,
                not_before=now,
                broadcast_id=broadcast.id,
            )
            for chat_id in (100380, 100381, 100382)
        ]
    )
    await _sign_in(chat, browser)
    base = live_app.settings.base_url

    _, topics = await _page(browser, f"{base}/staff/topics")
    assert "冯八十 · 安全员B证 · #1" in topics and "已关闭的" not in topics
    assert f"https://t.me/c/{str(LOCAL_STAFF_GROUP_ID)[4:]}/77" in topics
    _, every = await _page(browser, f"{base}/staff/topics?show=all")
    assert "已关闭的" in every

    _, enrolments = await _page(browser, f"{base}/staff/enrolments?state=overdue&type=safety_b")
    assert "冯八十" in enrolments and "共 1 条" in enrolments and "已逾期" in enrolments
    _, none = await _page(browser, f"{base}/staff/enrolments?state=passed")
    assert "暂无符合条件的报名" in none

    _, reviews = await _page(browser, f"{base}/staff/reviews")
    assert "冯八十" in reviews and "人脸核验失败" in reviews and "待审批" in reviews
    _, sent = await _page(browser, f"{base}/staff/broadcasts")
    assert "周六停电通知" in sent and "0 / 3" in sent
    for page in (topics, enrolments, reviews, sent):
        main = page.split("<main>")[1]
        for code in (">checks<", ">pending<", ">running<", "None"):
            assert code not in main


async def test_staff_correct_a_construction_workers_category_and_the_holder_hears_it(
    chat: LocalChatClient, live_app: Runtime, browser: aiohttp.ClientSession
):
    holder = 100390
    await chat.send(holder, "/start", first_name="Zhang", language_code="en")
    await chat.reply(holder)
    person = await registry.person(90, "张九十", "13800000090")
    await models.Binding.create(chat_user_id=holder, person=person)
    cert = await registry.certificate(
        person, "云建现0000090", "site_pro", days_from_today(120), category="土建"
    )
    await models.Certificate.filter(id=cert.id).update(role="construction")
    enrolment = await registry.enrolment(cert, holder, "enrolled")
    await _sign_in(chat, browser)
    base = live_app.settings.base_url
    _, detail = await _page(browser, f"{base}/staff/people/{person.id}")
    assert "施工员" in detail and "更正类别" in detail
    token = TOKEN.search(detail).group(1)  # type: ignore[union-attr]
    back = ("back", f"/staff/people/{person.id}")
    url = f"{base}/staff/people/{person.id}/category"

    _, shown, _ = await _post(
        browser,
        url,
        [("form_token", token), ("enrolment", str(enrolment.id)), ("category", "水利"), back],
    )
    assert (await models.Certificate.get(id=cert.id)).category == "土建"
    assert "云建现0000090" in shown and "土建、装饰装修" in shown  # refused, with what it takes

    _, shown, _ = await _post(
        browser,
        url,
        [("form_token", token), ("enrolment", str(enrolment.id)), ("category", "市政"), back],
    )
    assert "类别已设为 市政" in shown
    assert (await models.Certificate.get(id=cert.id)).category == "市政"
    told = await chat.reply(holder)
    assert "市政" in told["text"] and "category" in told["text"].lower()
    entry = await models.AuditLog.get(action="category_corrected")
    assert entry.actor_id == STAFF and entry.details == {"old": "土建", "new": "市政"}

    # Another person's enrolment through this page: nothing.
    other = await registry.person(91, "别人九一", "13800000091")
    async with browser.post(
        f"{base}/staff/people/{other.id}/category",
        data=[("form_token", token), ("enrolment", str(enrolment.id)), ("category", "土建"), back],
    ) as response:
        assert response.status == 404
    assert (await models.Certificate.get(id=cert.id)).category == "市政"
