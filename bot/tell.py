"""The conversation core's `Tell` port in Telegram: a message in the person's chat, in their
language."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError

from conversation.replies import Say
from domain.accounts import ChatUserId
from infra.repositories.accounts import locale_of
from texts.i18n import Catalogs

log = logging.getLogger(__name__)


class TelegramTell:
    def __init__(self, bot: Bot, i18n: Catalogs) -> None:
        self._bot = bot
        self._i18n = i18n

    async def __call__(self, account: ChatUserId, *lines: Say) -> bool:
        with self._i18n.use_locale(await locale_of(account)):
            text = "\n".join(map(str, lines))
        try:
            await self._bot.send_message(account, text)
        except (TelegramForbiddenError, TelegramBadRequest) as error:
            log.warning("%s not told (%s)", account, error.message)
            return False
        return True
