from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot import keyboards
from bot.callbacks import LanguageCallback, MenuAction, MenuCallback
from bot.commands import set_chat_commands
from domain.accounts import ChatAccount, ChatUserId, ChooseLanguage
from domain.clock import Clock
from texts import common as texts
from texts.i18n import Catalogs
from webview.auth import Sessions, Viewer


def make_router() -> Router:
    router = Router(name="start")
    # Its menus carry the Mini App button, which Telegram allows in private chats only.
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")

    # The menu's 📖 Study is a Mini App button, which Telegram allows in private chats only.
    @router.message(CommandStart(), F.chat.type == "private")
    async def show_greeting(
        message: Message, account: ChatAccount, webapp_url: str, state: FSMContext
    ) -> None:
        await state.clear()
        await message.answer(
            texts.greeting(account.first_name), reply_markup=keyboards.main_menu(webapp_url)
        )

    @router.message(Command("menu"), F.chat.type == "private")
    async def show_menu(message: Message, webapp_url: str) -> None:
        await message.answer(texts.menu_prompt(), reply_markup=keyboards.main_menu(webapp_url))

    @router.callback_query(MenuCallback.filter(F.action == MenuAction.HOME))
    async def return_to_menu(query: CallbackQuery, webapp_url: str) -> None:
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.edit_text(
                texts.menu_prompt(), reply_markup=keyboards.main_menu(webapp_url)
            )

    @router.message(Command("language"))
    async def ask_language(message: Message, account: ChatAccount) -> None:
        await message.answer(
            texts.language_prompt(), reply_markup=keyboards.language_picker(account.locale)
        )

    @router.callback_query(MenuCallback.filter(F.action == MenuAction.LANGUAGE))
    async def ask_language_from_menu(query: CallbackQuery, account: ChatAccount) -> None:
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(
                texts.language_prompt(), reply_markup=keyboards.language_picker(account.locale)
            )

    @router.callback_query(LanguageCallback.filter())
    async def switch_language(
        query: CallbackQuery,
        callback_data: LanguageCallback,
        choose_language: ChooseLanguage,
        i18n: Catalogs,
        webapp_url: str,
    ) -> None:
        locale = await choose_language(ChatUserId(query.from_user.id), callback_data.locale)
        with i18n.use_locale(locale.value):
            await query.answer(texts.language_set())
            if isinstance(query.message, Message):
                await query.message.edit_text(
                    texts.language_set(), reply_markup=keyboards.language_picker(locale)
                )
                await query.message.answer(
                    texts.menu_prompt(), reply_markup=keyboards.main_menu(webapp_url)
                )
        if query.bot is not None:
            await set_chat_commands(query.bot, query.from_user.id, i18n, locale.value)

    # A sign-in link is for its owner only: never posted where a group can read it.
    @router.message(Command("web"), F.chat.type == "private")
    async def hand_out_a_browser_link(
        message: Message, sessions: Sessions, clock: Clock, login_url: str
    ) -> None:
        """Outside Telegram's web view (a laptop, another browser) a signed link signs in."""
        assert message.from_user is not None
        user = message.from_user
        token = sessions.link_token(
            Viewer(user.id, user.first_name, user.language_code), clock.now()
        )
        await message.answer(
            texts.browser_link(sessions.link_ttl // 60),
            reply_markup=keyboards.open_link(f"{login_url}?token={token}"),
        )

    return router
