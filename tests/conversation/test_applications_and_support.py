"""Applications and the support desk are channel-neutral: a trainee on the plain-text channel
files an extension with a form file and hears staff's decision, writes to the desk through its
port, and cannot start, file or decide anybody else's application with a forged or stale press."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from aiogram.methods import SendDocument, SendMessage

from bot.applications import Applications, ChatApplications
from conversation import actions
from conversation.actions import ApplyAction, MenuAction
from conversation.engine import Conversations
from conversation.events import Leftover
from conversation.flows.applications import Applications as ApplicationsFlow
from conversation.flows.support import Support
from conversation.ports import DeskRoute, Heard
from conversation.replies import FileKind, OpenPage, Press, Say
from domain.accounts import ChatUserId
from domain.desks import DeskTopic
from domain.registry import Track
from domain.support import ApplicationKind
from infra.db import models
from tests.bot.test_support_desk import STAFF
from tests.conftest import STAFF_GROUP_ID, BotHarness
from tests.conversation.plaintext import PlainTextChannel
from tests.support import registry
from tests.support.clock import FixedClock, days_from_today

TRAINEE, OTHER, CHEAT = 300101, 300102, 300103


async def overdue_enrolment(n: int, name: str, chat_user_id: int, clock: FixedClock):
    """A paid enrolment whose 30 days ran out yesterday: an extension may be applied for."""
    person = await registry.person(n, name, f"138000{n:05d}")
    await models.Binding.create(chat_user_id=chat_user_id, person=person)
    cert = await registry.certificate(
        person, f"云建安B(2024)0{n}", "safety_b", days_from_today(120)
    )
    now = clock.now()
    return await models.Enrolment.create(
        certificate=cert,
        active_key=cert.number,
        channel="individual",
        enrolled_by=chat_user_id,
        state="overdue",
        paid_at=now - timedelta(days=31),
        study_deadline=now - timedelta(days=1),
    )


async def test_a_trainee_files_an_extension_with_a_form_file_and_hears_the_decision(
    harness: BotHarness, clock: FixedClock, i18n
):
    enrolment = await overdue_enrolment(201, "吴二一", TRAINEE, clock)
    desk = harness.services.handlers["desk"]

    async def tell(account: ChatUserId, *lines: Say) -> bool:
        return await channel(account, *lines)

    applications = Applications(
        clock, i18n, pii=harness.services.handlers["pii"], webapp_url="https://app.test", tell=tell
    )
    conversations = Conversations(
        [ApplicationsFlow(desk=ChatApplications(applications, desk)), Support(desk=desk)]
    )
    channel = PlainTextChannel(conversations, harness.accounts)
    channel.meet(TRAINEE, "吴二一", "zh-hans")

    [overview] = await channel.send(TRAINEE, "/apply")
    assert "延期与补考申请" in overview.text and "现在可以申请" in overview.text
    assert "<b>" not in overview.text and "云建安B(2024)0201" not in overview.text
    [form] = await channel.choose(TRAINEE, "申请延期")
    assert form.file == "extension-application.docx"
    assert ("✍️ 填写并签名", OpenPage(f"/apply/extension/{enrolment.id}")) in form.choices

    [received] = await channel.send_file(TRAINEE, "filled-form", caption="我住院了两周。")
    assert received.text.startswith("已收到：申请 #")
    [application] = await models.Application.filter(enrolment=enrolment)
    assert (application.status, application.form_file_id) == ("pending", "filled-form")
    assert f"#{application.id}" in received.text
    # Staff get the card with the form and what the trainee wrote, in the Telegram group.
    [card] = [d for d in harness.session.sent(SendDocument) if d.chat_id == STAFF_GROUP_ID]
    assert card.document == "filled-form" and "学员留言：我住院了两周。" in (card.caption or "")

    decided = await applications.decide(
        application.id,
        approved=True,
        staff_id=STAFF["id"],
        staff_name="客服小李",
        reason=None,
        desk=desk,
    )
    assert decided
    await enrolment.refresh_from_db()
    assert enrolment.state == "studying" and enrolment.study_deadline is not None
    told = channel.screens[TRAINEE][-1].text
    assert (
        told.startswith("✅ 您的延期申请已批准") and enrolment.study_deadline.strftime("%Y") in told
    )
    # Heard on the trainee's own channel, not in a Telegram chat of the same number.
    assert not [m for m in harness.session.sent(SendMessage) if m.chat_id == TRAINEE]


@dataclass
class FakeDesk:
    """The desk's port as a test sees it: who connected, what reached staff."""

    paused: set[int] = field(default_factory=set)
    connected: set[int] = field(default_factory=set)
    heard: list[tuple[int, Leftover]] = field(default_factory=list)
    notes: list[tuple[int, Say]] = field(default_factory=list)

    async def note_for(self, account: ChatUserId, note: Say) -> None:
        self.notes.append((account, note))

    async def connect(self, account: ChatUserId) -> DeskRoute | None:
        if account in self.paused:
            return None
        self.connected.add(account)
        return DeskRoute(Track.T1, DeskTopic.ENROLMENT)

    async def hear(self, account: ChatUserId, said: Leftover) -> Heard:
        if account in self.paused:
            return Heard.PAUSED
        if account not in self.connected:
            return Heard.NOT_OPEN
        self.heard.append((account, said))
        return Heard.RELAYED


async def test_a_trainee_writes_to_support_and_the_desk_port_receives_it(harness: BotHarness):
    desk = FakeDesk(paused={OTHER})
    channel = PlainTextChannel(Conversations([Support(desk=desk)]), harness.accounts)
    channel.meet(TRAINEE, "吴二一", "zh-hans")
    channel.meet(OTHER, "Tom", "en")

    # No conversation with staff yet: words are not the desk's (self-help would have them).
    assert await channel.write(TRAINEE, "在吗") == [] and desk.heard == []

    [hello] = await channel.send(TRAINEE, "/support")
    assert hello.text.startswith("💬 您已接通客服") and TRAINEE in desk.connected
    assert await channel.write(TRAINEE, "我的证书过期了，怎么办？") == []  # carried, silently
    assert await channel.send_file(TRAINEE, "photo-1", FileKind.PHOTO) == []
    [(who, words), (_, photo)] = desk.heard
    assert (who, words.text) == (TRAINEE, "我的证书过期了，怎么办？") and photo.text is None
    assert words.ref != photo.ref  # each message is carried as itself

    # An account the desk paused is told so, in its language, and nothing reaches staff.
    [paused] = await channel.press(OTHER, actions.menu(MenuAction.SUPPORT))
    assert "paused for this account" in paused.text
    [still] = await channel.write(OTHER, "hello?")
    assert "paused for this account" in still.text and len(desk.heard) == 2


async def test_a_forged_or_stale_press_for_someone_elses_application_changes_nothing(
    harness: BotHarness, clock: FixedClock
):
    theirs = await overdue_enrolment(202, "郑二二", OTHER, clock)
    channel = PlainTextChannel(harness.services.handlers["conversations"], harness.accounts)
    channel.meet(CHEAT, "钱二三", "zh-hans")
    channel.meet(OTHER, "郑二二", "zh-hans")

    # Another trainee's enrolment: no form, no waiting for one, nothing filed.
    start = actions.apply(ApplyAction.START, ApplicationKind.EXTENSION, theirs.id)
    [refused] = await channel.press(CHEAT, start)
    assert refused.text == "申请只适用于已缴费的报名，您目前还没有。" and refused.file is None
    everyone = actions.apply(ApplyAction.START, ApplicationKind.EXTENSION, 0)
    [refused_too] = await channel.press(CHEAT, everyone)
    assert refused_too.file is None
    assert await channel.send_file(CHEAT, "forged-form") == []
    assert not await models.Application.exists()
    # A tampered kind is an old button.
    assert await channel.press(CHEAT, Press("app", ("go", "refund", str(theirs.id)))) == []

    # Deciding is staff's: a trainee's press of approve decides nothing.
    pending = await models.Application.create(
        kind="extension", enrolment=theirs, chat_user_id=OTHER, form_file_id="f"
    )
    approve = actions.apply(ApplyAction.APPROVE, None, pending.id)
    assert await channel.press(CHEAT, approve) == []
    assert await channel.press(OTHER, approve) == []

    # The holder's own stale start, with the application already waiting: no second one.
    [stale] = await channel.press(OTHER, start)
    assert "正在由工作人员处理" in stale.text and stale.file is None
    assert await channel.send_file(OTHER, "second-form") == []

    await pending.refresh_from_db()
    await theirs.refresh_from_db()
    assert pending.status == "pending" and pending.decided_by is None
    assert await models.Application.filter(enrolment=theirs).count() == 1
    assert theirs.state == "overdue" and theirs.study_deadline == clock.now() - timedelta(days=1)
