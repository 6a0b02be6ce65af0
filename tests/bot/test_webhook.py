"""The webhook endpoint: only Telegram (who knows the secret token) gets updates in, each is in
the inbox before Telegram hears it arrived, and a shutdown lets the updates in flight finish."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import SendMessage
from aiogram.types import Message
from aiohttp import web

from bot.inbox import Inbox, UpdateClaims
from bot.webhook import WEBHOOK_PATH, Webhook
from infra.db import models
from infra.inbox import TortoiseInbox
from infra.pii import Pii
from infra.signing import Signer
from tests.conftest import BotHarness
from tests.support import updates
from tests.support.clock import FixedClock
from tests.support.recording import RecordingSession

SECRET = "s3cret_Token-1"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def as_json(update: Any) -> dict[str, Any]:
    return update.model_dump(mode="json", by_alias=True, exclude_none=True)


PII = Pii.from_signer(Signer(b"k" * 32))


def inbox_for(dispatcher: Dispatcher, bot: Bot, claims: UpdateClaims | None = None) -> Inbox:
    """One instance's inbox (its own worker id) on the test's database."""
    return Inbox(dispatcher, bot, TortoiseInbox(PII, bot.id), FixedClock(), claims=claims)


async def serve(aiohttp_client, dispatcher: Dispatcher, bot: Bot) -> tuple[Any, Webhook]:
    app = web.Application()
    webhook = Webhook(dispatcher, bot, SECRET, inbox_for(dispatcher, bot))
    webhook.register(app, path=WEBHOOK_PATH)
    return await aiohttp_client(app), webhook


async def test_an_update_with_the_secret_token_is_answered(harness: BotHarness, aiohttp_client):
    client, webhook = await serve(aiohttp_client, harness.dispatcher, harness.bot)

    update = as_json(updates.message("/start", updates.user(100001, first_name="张三")))
    response = await client.post(WEBHOOK_PATH, json=update, headers={HEADER: SECRET})
    await webhook.drain(5)

    assert response.status == 200
    [reply] = harness.session.sent(SendMessage)
    assert "张三，您好" in reply.text


@pytest.mark.parametrize("headers", [{}, {HEADER: "wrong"}])
async def test_an_update_without_the_right_secret_token_is_refused_and_not_handled(
    harness: BotHarness, aiohttp_client, headers: dict[str, str]
):
    client, webhook = await serve(aiohttp_client, harness.dispatcher, harness.bot)

    update = as_json(updates.message("/start", updates.user(100002)))
    response = await client.post(WEBHOOK_PATH, json=update, headers=headers)
    await webhook.drain(5)

    assert response.status == 401
    assert harness.session.requests == []
    assert not await models.ChatUser.exists(id=100002)


class ClosableSession(RecordingSession):
    closed = False

    async def close(self) -> None:
        self.closed = True


async def test_shutting_down_finishes_updates_in_flight_and_turns_new_ones_back(
    database: str, aiohttp_client
):
    session = ClosableSession()
    bot = Bot("7000000001:test-token", session=session)
    dispatcher = Dispatcher()
    release = asyncio.Event()

    @dispatcher.message()
    async def slow_echo(message: Message) -> None:
        await release.wait()
        await message.answer(f"done {message.text}")

    client, webhook = await serve(aiohttp_client, dispatcher, bot)
    first = await client.post(
        WEBHOOK_PATH, json=as_json(updates.message("one")), headers={HEADER: SECRET}
    )
    assert first.status == 200  # answered before the handler finished

    draining = asyncio.create_task(webhook.drain(5))
    await asyncio.sleep(0.05)
    second = await client.post(
        WEBHOOK_PATH, json=as_json(updates.message("two")), headers={HEADER: SECRET}
    )
    assert second.status == 503  # Telegram keeps it and delivers it again later
    assert not draining.done()

    release.set()
    await draining
    assert [m.text for m in session.sent(SendMessage)] == ["done one"]
    await client.close()
    # aiogram's handler closes the bot session on the web app's shutdown; ours leaves that to
    # the composition root, after every update (polled or posted) is done with it.
    assert not session.closed


async def test_an_update_delivered_again_is_not_answered_again(harness: BotHarness, aiohttp_client):
    # Telegram redelivers an update whose answer it did not see (a timeout after the handler
    # started): the trainee must not get two replies.
    client, webhook = await serve(aiohttp_client, harness.dispatcher, harness.bot)
    update = as_json(updates.message("/start", updates.user(100003, first_name="张三")))
    for _ in range(3):
        response = await client.post(WEBHOOK_PATH, json=update, headers={HEADER: SECRET})
        assert response.status == 200
    await webhook.drain(5)

    assert len(harness.session.sent(SendMessage)) == 1


async def test_two_instances_sharing_the_database_answer_a_redelivered_update_once(
    harness: BotHarness, aiohttp_client
):
    first, second = web.Application(), web.Application()
    hooks = []
    for app in (first, second):
        hook = Webhook(
            harness.dispatcher, harness.bot, SECRET, inbox_for(harness.dispatcher, harness.bot)
        )
        hook.register(app, path=WEBHOOK_PATH)
        hooks.append(hook)
    clients = [await aiohttp_client(first), await aiohttp_client(second)]
    update = as_json(updates.message("/start", updates.user(100004, first_name="李四")))

    responses = await asyncio.gather(
        *(c.post(WEBHOOK_PATH, json=update, headers={HEADER: SECRET}) for c in clients)
    )
    for hook in hooks:
        await hook.drain(5)

    assert [r.status for r in responses] == [200, 200]
    assert len(harness.session.sent(SendMessage)) == 1


async def test_an_update_is_in_the_inbox_sealed_before_telegram_hears_it_arrived(
    harness: BotHarness, aiohttp_client
):
    client, webhook = await serve(aiohttp_client, harness.dispatcher, harness.bot)
    id_number = "530102199001011234"
    update = as_json(updates.message(id_number, updates.user(100006)))

    response = await client.post(WEBHOOK_PATH, json=update, headers={HEADER: SECRET})
    row = await models.UpdateInbox.get(update_id=update["update_id"])
    await webhook.drain(5)

    assert response.status == 200
    assert id_number not in row.payload_sealed
    assert id_number in PII.open(row.payload_sealed)
    assert (await models.UpdateInbox.get(update_id=update["update_id"])).done_at is not None
