"""The application form of the Mini App: filled in a minute, signed with a finger, decided by
staff on the same card as an uploaded .docx, the form as a PDF; and whoever tries it for
somebody else, without a session, from another site, or twice, gets nowhere."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

import pytest
from aiogram.methods import EditMessageText, SendDocument, SendMessage
from aiogram.types import BufferedInputFile
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from PIL import Image, ImageDraw
from pypdf import PdfReader

from bot.applications import SignedApplications
from bot.callbacks import ApplyAction, ApplyCallback
from domain.calendar import add_months
from domain.masking import mask_id_number
from infra.db import models
from infra.signing import Signer
from tests.bot.test_support_desk import STAFF, group_click
from tests.conftest import STAFF_GROUP_ID, WEBAPP_URL, BotHarness
from tests.support import registry, updates
from tests.support.clock import TODAY, FixedClock
from tests.support.webapp import signed_in_web_app
from webview.applications import MAX_SIGNATURE, ApplicationWeb, add_application_routes
from webview.auth import SESSION_COOKIE, Sessions, Viewer

H = {"X-Requested-With": "jijiao"}
ZHOU, WU = 100121, 100122


class Site:
    def __init__(self, client: TestClient, sessions: Sessions, clock: FixedClock) -> None:
        self.client = client
        self.sessions = sessions
        self.clock = clock

    def as_user(self, user_id: int, language: str = "zh-hans") -> TestClient:
        jar = self.client.session.cookie_jar
        jar.clear()
        token = self.sessions.session_token(Viewer(user_id, "周", language), self.clock.now())
        jar.update_cookies({SESSION_COOKIE: token})
        return self.client


@pytest.fixture
async def site(harness: BotHarness, i18n, clock: FixedClock, aiohttp_client) -> Site:
    sessions = Sessions(Signer(b"k" * 32), session_ttl=3600, link_ttl=600)

    app = signed_in_web_app(i18n, clock, sessions)
    handlers = harness.services.handlers
    add_application_routes(
        app, ApplicationWeb(SignedApplications(handlers["applications"], handlers["desk"]))
    )
    return Site(await aiohttp_client(app), sessions, clock)


async def overdue(n: int, name: str, user_id: int, clock: FixedClock) -> models.Enrolment:
    """A paid enrolment of the user's own certificate, its 30 days over yesterday."""
    person = await registry.person(n, name, f"138000001{n:02d}")
    await models.Binding.create(chat_user_id=user_id, person=person)
    cert = await registry.certificate(person, f"53B2026{n:05d}", "safety_b", add_months(TODAY, 4))
    return await registry.enrolment(
        cert,
        user_id,
        "overdue",
        paid_at=clock.now() - timedelta(days=31),
        study_deadline=clock.now() - timedelta(days=1),
    )


def png(draw: bool = True, size: tuple[int, int] = (600, 200)) -> bytes:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    if draw:
        pen = ImageDraw.Draw(image)
        pen.line([(30, 150), (120, 40), (200, 160), (320, 50), (450, 140)], fill="#111", width=4)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def form(
    enrolment: int,
    reason: str = "工地在山里没有信号，耽误了两周。",
    signature: bytes | None = None,
    kind: str = "extension",
) -> FormData:
    data = FormData()
    data.add_field("kind", kind)
    data.add_field("enrolment", str(enrolment))
    data.add_field("reason", reason)
    if signature is not None:
        data.add_field("signature", signature, filename="signature.png", content_type="image/png")
    return data


def staff_pdfs(harness: BotHarness) -> list[SendDocument]:
    return [d for d in harness.session.sent(SendDocument) if d.chat_id == STAFF_GROUP_ID]


def words(pdf: bytes) -> str:
    """The PDF's text without the spacing its extraction puts between CJK glyphs."""
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return "".join(ch for ch in text if ch != "\x00" and not ch.isspace())


async def test_the_form_shows_what_the_product_knows_with_the_id_number_masked(
    site: Site, clock: FixedClock
):
    enrolment = await overdue(21, "周二一", ZHOU, clock)
    page = await site.as_user(ZHOU).get(f"/app/apply/extension/{enrolment.id}")
    assert page.status == 200
    html = await page.text()
    full_id = registry.id_number(21)
    assert "周二一" in html and mask_id_number(full_id) in html and full_id not in html
    assert "53B2****0021" in html and "53B202600021" not in html
    assert 'id="reason"' in html and '<canvas id="signature"' in html
    assert "/static/js/apply.js" in html and "<script>" not in html  # CSP: no inline script
    # The page's language link keeps the form (the path carries the enrolment).
    english = await site.client.get(f"/app/apply/extension/{enrolment.id}?lang=en")
    assert "Why are you applying?" in await english.text()


async def test_a_signed_form_reaches_staff_as_a_pdf_card_and_is_decided_as_before(
    site: Site, harness: BotHarness, clock: FixedClock
):
    enrolment = await overdue(22, "周二二", ZHOU, clock)
    response = await site.as_user(ZHOU).post(
        "/app/api/apply", data=form(enrolment.id, signature=png()), headers=H
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    [application] = await models.Application.filter(enrolment_id=enrolment.id)
    assert application.status == "pending" and application.kind == "extension"
    assert body["ok"] and f"#{application.id}" in body["message"]
    assert "在聊天中通知您" in body["message"]

    [card] = staff_pdfs(harness)
    assert isinstance(card.document, BufferedInputFile)
    assert card.document.filename.endswith(".pdf")
    pdf = card.document.data
    assert pdf.startswith(b"%PDF-")
    text = words(pdf)
    assert "继续教育延期学习申请表" in text and f"#{application.id}" in text
    assert "周二二" in text and mask_id_number(registry.id_number(22)) in text
    assert registry.id_number(22) not in text
    assert "工地在山里没有信号" in text
    assert len(PdfReader(io.BytesIO(pdf)).pages[0].images) == 1  # the signature
    assert f"#{application.id}" in (card.caption or "") and "工地在山里没有信号" in (
        card.caption or ""
    )
    buttons = [b.callback_data for row in card.reply_markup.inline_keyboard for b in row]  # type: ignore[union-attr]
    approve = ApplyCallback(action=ApplyAction.APPROVE, item=application.id).pack()
    assert approve in buttons

    await harness.feed(group_click(approve, STAFF, 1))
    await enrolment.refresh_from_db()
    assert enrolment.state == "studying" and enrolment.study_deadline > clock.now()
    told = [m.text for m in harness.session.sent(SendMessage) if m.chat_id == ZHOU]
    assert any("您的延期申请已批准" in t for t in told)
    assert harness.session.sent(EditMessageText)  # the card shows the decision


async def test_an_empty_signature_is_refused_with_a_clear_message(site: Site, clock: FixedClock):
    enrolment = await overdue(23, "周二三", ZHOU, clock)
    client = site.as_user(ZHOU)
    for signature in (png(draw=False), None):
        response = await client.post(
            "/app/api/apply", data=form(enrolment.id, signature=signature), headers=H
        )
        assert response.status == 422
        assert (await response.json())["errors"] == {"signature": "请先用手指在框内签名，再提交。"}
    assert not await models.Application.exists()


async def test_an_english_reader_hears_what_is_missing_in_english(site: Site, clock: FixedClock):
    enrolment = await overdue(24, "Zhou", ZHOU, clock)
    response = await site.as_user(ZHOU, "en").post(
        "/app/api/apply", data=form(enrolment.id, reason="  ", signature=png(draw=False)), headers=H
    )
    assert response.status == 422
    assert (await response.json())["errors"] == {
        "reason": "Please write why you are applying.",
        "signature": "Please sign in the box with your finger before sending.",
    }
    for reason in ("x" * 501, "长" * 1_000_000):  # the second is not even read whole
        too_long = await site.client.post(
            "/app/api/apply", data=form(enrolment.id, reason=reason, signature=png()), headers=H
        )
        assert (await too_long.json())["errors"] == {
            "reason": "The reason is too long: at most 500 characters."
        }
    assert not await models.Application.exists()


async def test_somebody_elses_enrolment_is_not_found_and_nothing_is_filed(
    site: Site, harness: BotHarness, clock: FixedClock
):
    theirs = await overdue(25, "吴二五", WU, clock)
    await overdue(26, "周二六", ZHOU, clock)
    client = site.as_user(ZHOU)
    page = await client.get(f"/app/apply/extension/{theirs.id}")
    assert page.status == 404 and "吴二五" not in await page.text()
    posted = await client.post("/app/api/apply", data=form(theirs.id, signature=png()), headers=H)
    assert posted.status == 404
    for path in ("renewal/1", f"extension/{theirs.id}x", "extension/-1", "extension/99999"):
        assert (await client.get(f"/app/apply/{path}")).status == 404
    assert not await models.Application.exists() and not staff_pdfs(harness)


async def test_without_a_session_or_with_a_forged_one_nothing_is_filed(
    site: Site, clock: FixedClock
):
    enrolment = await overdue(27, "周二七", ZHOU, clock)
    client = site.client
    client.session.cookie_jar.clear()
    page = await client.get(f"/app/apply/extension/{enrolment.id}", allow_redirects=False)
    assert page.status == 302 and page.headers["Location"].startswith("/app?next=/app/apply")
    assert (
        await client.post("/app/api/apply", data=form(enrolment.id, signature=png()), headers=H)
    ).status == 401
    forged = Sessions(Signer(b"x" * 32), session_ttl=3600, link_ttl=600).session_token(
        Viewer(ZHOU, "周", "zh-hans"), clock.now()
    )
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: forged})
    assert (
        await client.post("/app/api/apply", data=form(enrolment.id, signature=png()), headers=H)
    ).status == 401
    assert not await models.Application.exists()


async def test_a_post_from_another_site_is_refused(site: Site, clock: FixedClock):
    """A cross-site form can carry the cookie (a top-level POST) but not the header."""
    enrolment = await overdue(28, "周二八", ZHOU, clock)
    response = await site.as_user(ZHOU).post(
        "/app/api/apply", data=form(enrolment.id, signature=png())
    )
    assert response.status == 403
    assert not await models.Application.exists()


async def test_an_oversized_or_odd_signature_is_refused(site: Site, clock: FixedClock):
    enrolment = await overdue(29, "周二九", ZHOU, clock)
    client = site.as_user(ZHOU)
    noise = Image.frombytes("RGB", (400, 400), bytes(range(256)) * 1875)
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    big = buffer.getvalue() + b"\0" * MAX_SIGNATURE
    huge = png(size=(6000, 6000))  # small on the wire, 144 MB once decoded
    for signature, words_ in (
        (big, "签名文件太大"),
        (huge, "签名无法识别"),
        (b"GIF89a not a png", "签名无法识别"),
    ):
        response = await client.post(
            "/app/api/apply", data=form(enrolment.id, signature=signature), headers=H
        )
        assert response.status == 422
        assert words_ in (await response.json())["errors"]["signature"]
    assert not await models.Application.exists()


async def test_one_application_waits_per_enrolment_however_often_it_is_sent(
    site: Site, harness: BotHarness, clock: FixedClock
):
    enrolment = await overdue(30, "周三十", ZHOU, clock)
    client = site.as_user(ZHOU)
    first, second = await asyncio.gather(
        *(
            client.post("/app/api/apply", data=form(enrolment.id, signature=png()), headers=H)
            for _ in range(2)
        )
    )
    assert sorted([first.status, second.status]) == [200, 409]
    again = await client.post("/app/api/apply", data=form(enrolment.id, signature=png()), headers=H)
    assert again.status == 409 and "正在由工作人员处理" in (await again.json())["message"]
    assert await models.Application.filter(enrolment_id=enrolment.id).count() == 1
    assert len(staff_pdfs(harness)) == 1
    page = await client.get(f"/app/apply/extension/{enrolment.id}")
    assert 'id="closed"' in await page.text()


async def test_a_make_up_exam_before_the_fifth_attempt_shows_when_it_opens(
    site: Site, clock: FixedClock
):
    enrolment = await overdue(31, "周三一", ZHOU, clock)
    page = await site.as_user(ZHOU).get(f"/app/apply/makeup/{enrolment.id}")
    html = await page.text()
    assert 'id="closed"' in html and "您已用 0 / 5 次" in html
    refused = await site.client.post(
        "/app/api/apply", data=form(enrolment.id, signature=png(), kind="makeup"), headers=H
    )
    assert refused.status == 409
    assert not await models.Application.exists()


async def test_the_offer_opens_the_form_in_the_mini_app_and_still_gives_the_docx(
    harness: BotHarness, clock: FixedClock
):
    trainee = updates.user(ZHOU, "周三二")
    enrolment = await overdue(32, "周三二", ZHOU, clock)
    start = ApplyCallback(action=ApplyAction.START, kind="extension", item=enrolment.id)
    await harness.feed(updates.click(start.pack(), trainee))
    [offer] = harness.session.sent(SendDocument)
    assert offer.document.filename == "extension-application.docx"  # type: ignore[union-attr]
    [[button]] = offer.reply_markup.inline_keyboard  # type: ignore[union-attr]
    assert button.web_app is not None
    assert button.web_app.url == f"{WEBAPP_URL}/apply/extension/{enrolment.id}"
    assert "手指签名" in (offer.caption or "") and "WPS" in (offer.caption or "")


async def test_after_signing_in_the_app_the_chat_no_longer_waits_for_the_docx(
    site: Site, harness: BotHarness, clock: FixedClock
):
    trainee = updates.user(ZHOU, "周三三")
    enrolment = await overdue(33, "周三三", ZHOU, clock)
    start = ApplyCallback(action=ApplyAction.START, kind="extension", item=enrolment.id)
    await harness.feed(updates.click(start.pack(), trainee))
    signed = await site.as_user(ZHOU).post(
        "/app/api/apply", data=form(enrolment.id, signature=png()), headers=H
    )
    assert signed.status == 200

    await harness.feed(updates.message("好的，谢谢", trainee))
    assert "发送填好的申请表" not in harness.last_text()
    assert "正在由工作人员处理" in harness.last_text()
    await harness.feed(updates.message("还有别的问题", trainee))
    # The conversation goes on as usual: once told, not told again.
    assert sum("正在由工作人员处理" in t for t in harness.session.texts()) == 1
