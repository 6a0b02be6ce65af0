"""Support conversations from any channel in the staff console (/staff/conversations): a WeChat
user's words (which cannot be copied into a Telegram topic) and a Telegram trainee's are both
held there; staff answer in the console and the answer reaches the person on their own channel,
or is kept, marked as not delivered, when WeChat's 48 hours are over."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest

from domain.masking import mask_id_number
from infra.db import models
from infra.settings import LOCAL_STAFF_GROUP_ID
from jijiao.app import Runtime
from tests.support import registry
from tests.support.localchat_client import STAFF, LocalChatClient, eventually
from tests.support.wechat_client import WeChatClient
from webview.auth import StaffRole, StaffViewer
from webview.console import CONSOLE

TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


@pytest.fixture
async def browser() -> Any:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def _page(browser: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with browser.get(url) as response:
        return response.status, await response.text()


async def _post(
    browser: aiohttp.ClientSession, url: str, data: list[tuple[str, str]]
) -> tuple[int, str, str]:
    async with browser.post(url, data=data) as response:
        return response.status, await response.text(), str(response.url)


async def _desk_member(live_app: Runtime, browser: aiohttp.ClientSession, nonce: str) -> None:
    """A desk member (not a supervisor) signed in with the bot's one-time link."""
    sessions = live_app.web_app[CONSOLE].sessions
    desk = StaffViewer(900007, "客服小李", StaffRole.DESK, "zh_CN", nonce)
    link = sessions.link_token(desk, live_app.clock.now())
    status, _ = await _page(browser, f"{live_app.settings.base_url}/staff/login?t={link}")
    assert status == 200


def _text(message: dict[str, Any]) -> str:
    return str(message.get("text", ""))


async def test_a_wechat_users_support_conversation_is_answered_in_the_console(
    live_app: Runtime, chat: LocalChatClient, browser: aiohttp.ClientSession
):
    base = live_app.settings.base_url
    openid = "o-wechat-desk-62"
    id_number = registry.id_number(62)
    async with aiohttp.ClientSession() as http:
        wx = WeChatClient(base, http)
        await wx.follow(openid)
        await wx.reply(openid)
        await wx.send(openid, "/support")
        assert "客服" in _text(await wx.reply(openid))
        question = f"我的证书快到期了，身份证 {id_number}，怎么续期？"
        await wx.send(openid, question)

        account = await models.ChatUser.get(channel="wechat", external_id=openid)
        [heard] = await models.SupportMessage.filter(chat_user_id=account.id)
        assert heard.direction == "in"
        # Sealed at rest like ID numbers; opened, it is what the person typed.
        assert id_number not in heard.text_sealed
        # Staff working in the Telegram group see the words in the person's topic, labelled.
        ticket = await models.SupportTicket.get(chat_user_id=account.id)
        in_topic = await eventually(
            lambda: _with(chat, ticket.thread_id, "怎么续期"),
        )
        assert "来自微信" in in_topic

        await _desk_member(live_app, browser, "desk-console-62")
        status, listing = await _page(browser, f"{base}/staff/conversations")
        assert status == 200 and "对话" in listing and "微信" in listing
        assert f'data-account="{account.id}"' in listing
        # The list masks the ID number typed in the message.
        assert mask_id_number(id_number) in listing and id_number not in listing
        assert "等待" in listing

        status, page = await _page(browser, f"{base}/staff/conversations/{account.id}")
        assert status == 200 and question in page  # the conversation, as typed
        token = TOKEN.search(page).group(1)  # type: ignore[union-attr]
        answer_url = f"{base}/staff/conversations/{account.id}/answer"

        # Another site's form riding the cookie: no form token, nothing sent or kept.
        status, _, _ = await _post(browser, answer_url, [("form_token", "x.y"), ("text", "伪造")])
        assert status == 403
        assert not await models.SupportMessage.filter(direction="out").exists()
        # A tampered conversation id nobody has: 404, nobody answered.
        for missing in ("999999", "-999999", "1e3"):
            status, _, _ = await _post(
                browser,
                f"{base}/staff/conversations/{missing}/answer",
                [("form_token", token), ("text", "你好")],
            )
            assert status == 404
        assert not await models.SupportMessage.filter(direction="out").exists()

        status, shown, landed = await _post(
            browser,
            answer_url,
            [("form_token", token), ("text", "您好，可在有效期前三个月申请续期。")],
        )
        assert status == 200 and landed.startswith(f"{base}/staff/conversations/{account.id}")
        assert "已发送" in shown
        received = await wx.reply(openid)
        assert _text(received) == "客服：您好，可在有效期前三个月申请续期。"
        sent = await models.SupportMessage.get(chat_user_id=account.id, direction="out")
        assert sent.staff_id == 900007 and sent.staff_name == "客服小李" and sent.delivered
        audit = await models.AuditLog.get(action="support_answered")
        assert audit.actor_id == 900007 and audit.subject == f"chat_user:{account.id}"
        # Answered: no longer waiting.
        status, listing = await _page(browser, f"{base}/staff/conversations")
        assert "已回复" in listing

        # Staff working in the group answer in the person's topic: it reaches WeChat too.
        await chat.staff_says("请带上身份证原件。", ticket.thread_id)
        assert _text(await wx.reply(openid)) == "客服：请带上身份证原件。"
        from_group = (
            await models.SupportMessage.filter(chat_user_id=account.id, direction="out")
            .order_by("-id")
            .first()
        )
        assert from_group is not None and from_group.delivered
        assert from_group.staff_id == STAFF

        # 49 hours later WeChat takes no customer-service message: staff are told, and the
        # answer is kept, marked as not delivered, not lost.
        live_app.clock.advance(hours=49)
        await _desk_member(live_app, browser, "desk-console-62-later")  # a new day's session
        status, page = await _page(browser, f"{base}/staff/conversations/{account.id}")
        token = TOKEN.search(page).group(1)  # type: ignore[union-attr]
        status, shown, _ = await _post(
            browser, answer_url, [("form_token", token), ("text", "请尽快提交材料。")]
        )
        assert status == 200 and "未送达" in shown and "48 小时" in shown
        assert "请尽快提交材料。" in shown and "未送达" in shown.split("请尽快提交材料。")[0]
        late = await models.SupportMessage.filter(
            chat_user_id=account.id, direction="out"
        ).order_by("id")
        assert [m.delivered for m in late] == [True, True, False]
        async with http.get(
            f"{wx.api}/users/{openid}/messages", params={"after": wx._seen[openid], "wait": 1}
        ) as response:
            assert (await response.json())["messages"] == []
        # In the group, an answer WeChat no longer takes is said not to have reached them.
        await chat.staff_says("还在吗？", ticket.thread_id)
        await eventually(lambda: _with(chat, ticket.thread_id, "48 小时"))

        # When the person writes again, WeChat's window is open again: the kept answers go
        # first, oldest first, once each, and count as answering what they had sent.
        await wx.send(openid, "我回来了")
        kept = [_text(m) for m in await wx.replies(openid, count=2)]
        assert kept == ["客服：请尽快提交材料。", "客服：还在吗？"]
        later = await models.SupportMessage.filter(
            chat_user_id=account.id, direction="out"
        ).order_by("id")
        assert all(m.delivered for m in later)
        await wx.send(openid, "好的")
        async with http.get(
            f"{wx.api}/users/{openid}/messages", params={"after": wx._seen[openid], "wait": 1}
        ) as response:
            again = [_text(m) for m in (await response.json())["messages"]]
        assert not any(text.startswith("客服：请尽快") for text in again)


async def test_a_telegram_trainees_support_message_is_held_in_the_console_too(
    live_app: Runtime, chat: LocalChatClient, browser: aiohttp.ClientSession
):
    base = live_app.settings.base_url
    user = 100962
    await chat.send(user, "/support", first_name="钱七", language_code="zh-hans")
    await chat.reply(user)
    await chat.send(user, "我的学习进度不动了")
    ticket = await eventually(lambda: models.SupportTicket.get_or_none(chat_user_id=user))
    await eventually(
        lambda: _with(chat, ticket.thread_id, "我的学习进度不动了")
    )  # copied, as before
    await eventually(lambda: models.SupportMessage.get_or_none(chat_user_id=user))

    await _desk_member(live_app, browser, "desk-console-63")
    status, listing = await _page(browser, f"{base}/staff/conversations")
    assert status == 200 and f'data-account="{user}"' in listing and "Telegram" in listing
    assert "我的学习进度不动了" in listing
    status, page = await _page(browser, f"{base}/staff/conversations/{user}")
    token = TOKEN.search(page).group(1)  # type: ignore[union-attr]
    status, shown, _ = await _post(
        browser,
        f"{base}/staff/conversations/{user}/answer",
        [("form_token", token), ("text", "请退出后重新进入课程。")],
    )
    assert status == 200 and "已发送" in shown
    assert (await chat.reply(user))["text"] == "客服：请退出后重新进入课程。"
    # Staff in the group see that it was answered in the console, and by whom.
    await eventually(lambda: _with(chat, ticket.thread_id, "客服小李"))
    # In the staff member's other language, the same list in English words (answered now).
    status, english = await _page(browser, f"{base}/staff/conversations?lang=en")
    assert status == 200 and "Conversations" in english and "answered" in english
    assert "对话" not in english and "Telegram" in english
    assert LOCAL_STAFF_GROUP_ID < 0


async def _with(chat: LocalChatClient, thread_id: int | None, text: str) -> str | None:
    found = " ".join(m.get("text") or "" for m in await chat.group_messages(thread_id))
    return found if text in found else None
