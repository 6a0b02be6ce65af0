"""Every update is timed and counted by its type and outcome, and a broken handler shows up as
`failed` while the user still gets the apology. No user id ever becomes a label."""

from __future__ import annotations

from aiogram import Dispatcher
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import Update

from bot.callbacks import LanguageCallback
from bot.dispatcher import make_dispatcher
from conversation.engine import Conversations
from conversation.flows.common import Home
from conversation.flows.home import Start
from domain.accounts import ChatAccount, ChatUserId
from domain.locales import Locale
from infra.metrics import Metrics
from tests.conftest import STAFF_GROUP_ID, BotHarness
from tests.support import updates
from tests.support.prometheus import sample
from texts.i18n import Catalogs

USER = 100_777


async def broken_choose_language(user_id: ChatUserId, locale: Locale) -> Locale:
    raise ConnectionResetError("the database went away")


def no_link(account: ChatAccount) -> tuple[str, int]:
    raise AssertionError("not asked for")


def dispatcher_with(
    metrics: Metrics, harness: BotHarness, i18n: Catalogs, **overrides: object
) -> Dispatcher:
    return make_dispatcher(
        storage=MemoryStorage(),
        i18n=i18n,
        staff_group_id=STAFF_GROUP_ID,
        metrics=metrics,
        **{**harness.services.handlers, **overrides},
    )


def updates_total(text: bytes, kind: str, outcome: str) -> float | None:
    return sample(text, "jijiao_updates_total", type=kind, outcome=outcome)


async def test_handled_updates_are_counted_and_timed_by_type(harness: BotHarness, i18n: Catalogs):
    metrics = Metrics()
    dispatcher = dispatcher_with(metrics, harness, i18n)
    someone = updates.user(USER, first_name="张三")

    await dispatcher.feed_update(harness.bot, updates.message("/start", someone))
    await dispatcher.feed_update(harness.bot, updates.message("/help", someone))
    await dispatcher.feed_update(harness.bot, updates.click("menu:status", someone))
    text = await metrics.exposition()

    assert "您好" in harness.session.texts()[0]
    assert updates_total(text, "message", "handled") == 2
    assert updates_total(text, "callback_query", "handled") == 1
    assert sample(text, "jijiao_update_seconds_count", type="message") == 2
    assert str(USER) not in text.decode()


async def test_an_update_whose_handler_breaks_is_counted_failed_and_the_user_is_told(
    harness: BotHarness, i18n: Catalogs
):
    metrics = Metrics()
    # The conversation core chooses the language; its flows are built with the broken one.
    start = Start(home=Home(), choose_language=broken_choose_language, sign_in_link=no_link)
    dispatcher = dispatcher_with(metrics, harness, i18n, conversations=Conversations([start]))
    click = updates.click(LanguageCallback(locale=Locale.EN).pack(), updates.user(USER))

    await dispatcher.feed_update(harness.bot, click)
    text = await metrics.exposition()

    assert updates_total(text, "callback_query", "failed") == 1
    assert updates_total(text, "callback_query", "handled") is None
    [apology] = harness.session.sent(AnswerCallbackQuery)
    assert apology.show_alert
    assert str(USER) not in text.decode()


async def test_an_update_no_handler_wants_is_counted_unhandled(harness: BotHarness, i18n: Catalogs):
    metrics = Metrics()
    dispatcher = dispatcher_with(metrics, harness, i18n)
    # A post in a channel the bot was added to: no router listens to channels.
    post = Update.model_validate(
        {
            "update_id": 91,
            "channel_post": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": -1002000000001, "type": "channel", "title": "News"},
                "text": "hello",
            },
        }
    )

    await dispatcher.feed_update(harness.bot, post)

    assert updates_total(await metrics.exposition(), "channel_post", "unhandled") == 1
