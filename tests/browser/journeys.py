"""The people of the journey suite: each one talks to the real product through the local chat's
API and opens its pages in Chromium, and a `Witness` keeps what they saw."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, Page

from tests.browser.conftest import VIEWPORT, _collect_csp_violation
from tests.support.localchat_client import LocalChatClient, eventually
from tests.support.witness import Witness
from texts.i18n import gettext, use_locale

LOCALES = {"zh": "zh_CN", "en": "en"}
TELEGRAM_LANGUAGE = {"zh": "zh-hans", "en": "en"}


class Person:
    """One person in the chat: every message they get is witnessed, and a step they are told
    about must be a button on the message that names it."""

    def __init__(self, chat: LocalChatClient, user: int, first_name: str, witness: Witness) -> None:
        self.chat = chat
        self.user = user
        self.first_name = first_name
        self.witness = witness
        self.errors: list[str] = []

    @property
    def language(self) -> str:
        return self.witness.language

    def words(self, msgid: str) -> str:
        """How the product says `msgid` to this person."""
        with use_locale(LOCALES[self.language]):
            return gettext(msgid)

    async def replies(self, count: int = 1, wait: float = 15) -> list[dict[str, Any]]:
        return self.witness.saw_messages(await self.chat.replies(self.user, count=count, wait=wait))

    async def reply(self) -> dict[str, Any]:
        return (await self.replies())[-1]

    async def say(self, text: str) -> dict[str, Any]:
        await self.chat.send(
            self.user,
            text,
            first_name=self.first_name,
            language_code=TELEGRAM_LANGUAGE[self.language],
        )
        return await self.reply()

    async def share_phone(self, phone: str, replies: int = 2) -> list[dict[str, Any]]:
        await self.chat.share_contact(self.user, phone)
        return await self.replies(replies)

    async def tap(
        self,
        message: dict[str, Any],
        msgid: str,
        replies: int = 1,
        *,
        naming: str = "",
        **params: Any,
    ) -> dict[str, Any]:
        """Taps the button that says `msgid` in this person's language (and `naming`, when
        several do); the newest reply."""
        data = self.button(message, msgid, naming=naming, **params)
        await self.chat.click(self.user, message["message_id"], data)
        return (await self.replies(replies))[-1]

    def button(
        self, message: dict[str, Any], msgid: str, *, naming: str = "", **params: Any
    ) -> str:
        label = self.words(msgid).format(**params)
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if label in button["text"] and naming in button["text"]:
                    assert "callback_data" in button, f"{label!r} opens a page: use link()"
                    return str(button["callback_data"])
        raise AssertionError(
            f"the next step {label!r} is not one tap away in {message.get('text') or message}"
        )

    def link(self, message: dict[str, Any], msgid: str) -> str:
        """The address a web-app or link button that says `msgid` opens."""
        label = self.words(msgid)
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if label in button["text"]:
                    return str((button.get("web_app") or {}).get("url") or button.get("url"))
        raise AssertionError(f"no {label!r} link in {message.get('text') or message}")

    async def open_signed(self, phone: Browser) -> Page:
        """/web hands out a signed link to the Mini App; this person's phone opens it."""
        message = await self.say("/web")
        url = message["reply_markup"]["inline_keyboard"][0][0]["url"]
        return await self.open(phone, url)

    async def open(self, browser: Browser, url: str) -> Page:
        locale = "zh-CN" if self.language == "zh" else "en-GB"
        context = await browser.new_context(
            viewport=VIEWPORT, locale=locale, timezone_id="Asia/Shanghai"
        )
        page = await context.new_page()
        page.set_default_timeout(20_000)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        page.on("console", lambda message: _collect_csp_violation(message, self.errors))
        await page.goto(url)
        return page


async def staff_sign_in_link(chat: LocalChatClient) -> str:
    """The console's one-time sign-in link the bot gives a staff member for `/console` in the
    staff group (a new one: not a link given earlier)."""

    async def links() -> list[str]:
        return [
            str(entity["url"])
            for message in await chat.group_messages()
            for entity in message.get("entities") or []
            if entity["type"] == "text_link" and "/staff/login" in entity["url"]
        ]

    given = set(await links())

    async def new_link() -> str | None:
        fresh = [url for url in await links() if url not in given]
        return fresh[-1] if fresh else None

    await chat.staff_says("/console")
    return str(await eventually(new_link))
