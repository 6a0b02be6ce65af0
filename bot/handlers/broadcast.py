"""Staff broadcasts from the staff group, their live progress, and trainees' /mute and /unmute.

The composer: /broadcast → audience → (type, track or credit code) → the message → a preview
with the recipient count → Confirm. Confirmed, every recipient becomes an outbox row and the
sender delivers them at Telegram's pace; one message in the group shows the progress and has
Pause / Resume / Cancel.
"""

from __future__ import annotations

import logging
import time
from enum import StrEnum
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from application.reminders import TortoiseReminderPreferences
from bot.callbacks import RowId
from domain.accounts import ChatUserId
from domain.clock import Clock
from domain.locales import DEFAULT_LOCALE
from domain.registry import CertType, Track
from domain.reminders import (
    Audience,
    AudienceKind,
    BroadcastCommand,
    BroadcastContent,
    BroadcastProgress,
    BroadcastRefused,
    BroadcastStatus,
    ControlBroadcast,
    CountAudience,
    PreviewBroadcast,
    QuietHours,
    StartBroadcast,
)
from domain.timezone import CHINA
from infra.outbox import TortoiseBroadcasts
from texts import reminders as texts
from texts.enrolment import cert_type_name
from texts.i18n import Catalogs

log = logging.getLogger(__name__)


class Composing(StatesGroup):
    audience = State()
    credit_code = State()
    content = State()
    confirm = State()


class ComposeAction(StrEnum):
    AUDIENCE = "a"
    CERT_TYPE = "t"
    TRACK = "k"
    CONFIRM = "ok"
    CANCEL = "x"


class ComposeCallback(CallbackData, prefix="bcc"):
    action: ComposeAction
    audience: AudienceKind | None = None
    cert_type: CertType | None = None
    track: Track | None = None


class BroadcastCallback(CallbackData, prefix="bcp"):
    command: BroadcastCommand
    broadcast: RowId


# ---- keyboards ------------------------------------------------------------------------------


def _rows(buttons: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d)] for t, d in buttons]
    )


def _cancel() -> tuple[str, str]:
    return texts.cancel_button(), ComposeCallback(action=ComposeAction.CANCEL).pack()


def audience_keyboard() -> InlineKeyboardMarkup:
    return _rows(
        [
            (
                texts.audience_button(kind),
                ComposeCallback(action=ComposeAction.AUDIENCE, audience=kind).pack(),
            )
            for kind in AudienceKind
        ]
        + [_cancel()]
    )


def cert_type_keyboard() -> InlineKeyboardMarkup:
    return _rows(
        [
            (
                cert_type_name(cert_type),
                ComposeCallback(action=ComposeAction.CERT_TYPE, cert_type=cert_type).pack(),
            )
            for cert_type in CertType
        ]
        + [_cancel()]
    )


def track_keyboard() -> InlineKeyboardMarkup:
    return _rows(
        [
            (
                texts.track_button(track),
                ComposeCallback(action=ComposeAction.TRACK, track=track).pack(),
            )
            for track in Track
        ]
        + [_cancel()]
    )


def confirm_keyboard() -> InlineKeyboardMarkup:
    confirm = ComposeCallback(action=ComposeAction.CONFIRM).pack()
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=texts.confirm_button(), callback_data=confirm),
                InlineKeyboardButton(text=_cancel()[0], callback_data=_cancel()[1]),
            ]
        ]
    )


def progress_keyboard(progress: BroadcastProgress) -> InlineKeyboardMarkup | None:
    def button(text: str, command: BroadcastCommand) -> InlineKeyboardButton:
        data = BroadcastCallback(command=command, broadcast=progress.id).pack()
        return InlineKeyboardButton(text=text, callback_data=data)

    if progress.status is BroadcastStatus.RUNNING:
        first = button(texts.pause_button(), BroadcastCommand.PAUSE)
    elif progress.status is BroadcastStatus.PAUSED:
        first = button(texts.resume_button(), BroadcastCommand.RESUME)
    else:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[[first, button(texts.stop_button(), BroadcastCommand.CANCEL)]]
    )


# ---- progress -------------------------------------------------------------------------------


class BroadcastReporter:
    """Keeps each running broadcast's progress message current: edited when it changed, at
    most every `min_interval` seconds (a group takes about 20 messages a minute)."""

    def __init__(
        self,
        bot: Bot,
        i18n: Catalogs,
        broadcasts: TortoiseBroadcasts,
        clock: Clock,
        quiet: QuietHours,
        min_interval: float = 4.0,
        staff_locale: str = DEFAULT_LOCALE.value,
    ) -> None:
        self._bot = bot
        self._staff_locale = staff_locale
        self._i18n = i18n
        self._broadcasts = broadcasts
        self._clock = clock
        self._quiet = quiet
        self._min_interval = min_interval
        self._shown: dict[int, tuple[float, str]] = {}

    async def __call__(self) -> None:
        for active in await self._broadcasts.active():
            now = self._clock.now()
            progress = await self._broadcasts.progress(active.id, now)
            if progress is None:
                continue
            finished = progress.status is BroadcastStatus.RUNNING and progress.remaining == 0
            if finished and await self._broadcasts.change_status(
                active.id, BroadcastStatus.RUNNING, BroadcastStatus.DONE
            ):
                progress = await self._broadcasts.progress(active.id, now) or progress
            await self.show(progress, active.chat_id, active.message_id)

    async def follow(self, broadcast_id: int, chat_id: int, message_id: int) -> None:
        await self._broadcasts.attach_progress_message(broadcast_id, chat_id, message_id)

    def render(self, progress: BroadcastProgress) -> tuple[str, InlineKeyboardMarkup | None]:
        now = self._clock.now()
        quiet_until = None
        if self._quiet.contains(now):
            quiet_until = self._quiet.next_allowed(now).astimezone(CHINA).strftime("%H:%M")
        # The group is shared by all staff: one language for everyone there.
        with self._i18n.context(), self._i18n.use_locale(self._staff_locale):
            return texts.progress(progress, quiet_until), progress_keyboard(progress)

    async def show(
        self, progress: BroadcastProgress, chat_id: int, message_id: int, *, force: bool = False
    ) -> None:
        text, markup = self.render(progress)
        last = self._shown.get(progress.id)
        if last is not None and last[1] == text:
            return
        urgent = force or progress.finished
        if last is not None and not urgent and time.monotonic() - last[0] < self._min_interval:
            return
        self._shown[progress.id] = (time.monotonic(), text)
        try:
            await self._bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
        except TelegramBadRequest as exc:
            if "not modified" not in exc.message:
                log.warning("broadcast %s: progress not shown: %s", progress.id, exc.message)
        if progress.finished:
            self._shown.pop(progress.id, None)


# ---- the composer ---------------------------------------------------------------------------


def _user(event: Message | CallbackQuery) -> ChatUserId:
    assert event.from_user is not None
    return ChatUserId(event.from_user.id)


async def _edit(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)


def make_router(staff_group_id: int | None) -> Router:
    router = Router(name="broadcast")
    router.message.filter(F.chat.id == staff_group_id)
    router.callback_query.filter(F.message.chat.id == staff_group_id)

    async def ask_content(
        query: CallbackQuery,
        state: FSMContext,
        audience: Audience,
        count: CountAudience,
        clock: Clock,
    ) -> None:
        audience, _ = await count(audience, clock.now())
        await state.update_data(audience=audience.to_json())
        await state.set_state(Composing.content)
        await _edit(query, texts.ask_content(), _rows([_cancel()]))

    @router.message(Command("broadcast"))
    async def start_composing(message: Message, state: FSMContext) -> None:
        await state.clear()
        await state.set_state(Composing.audience)
        await message.reply(texts.ask_audience(), reply_markup=audience_keyboard())

    @router.callback_query(ComposeCallback.filter(F.action == ComposeAction.CANCEL))
    async def cancel_composing(query: CallbackQuery, state: FSMContext) -> None:
        await state.clear()
        await _edit(query, texts.composer_cancelled(), None)

    @router.callback_query(
        Composing.audience, ComposeCallback.filter(F.action == ComposeAction.AUDIENCE)
    )
    async def choose_audience(
        query: CallbackQuery,
        callback_data: ComposeCallback,
        state: FSMContext,
        count_audience: CountAudience,
        clock: Clock,
    ) -> None:
        kind = callback_data.audience or AudienceKind.ALL
        if kind is AudienceKind.CERT_TYPE:
            await _edit(query, texts.ask_cert_type(), cert_type_keyboard())
        elif kind is AudienceKind.TRACK:
            await _edit(query, texts.ask_track(), track_keyboard())
        elif kind is AudienceKind.ENTERPRISE:
            await state.set_state(Composing.credit_code)
            await _edit(query, texts.ask_credit_code(), _rows([_cancel()]))
        else:
            await ask_content(query, state, Audience(kind), count_audience, clock)

    @router.callback_query(
        Composing.audience, ComposeCallback.filter(F.action == ComposeAction.CERT_TYPE)
    )
    async def choose_cert_type(
        query: CallbackQuery,
        callback_data: ComposeCallback,
        state: FSMContext,
        count_audience: CountAudience,
        clock: Clock,
    ) -> None:
        audience = Audience(AudienceKind.CERT_TYPE, cert_type=callback_data.cert_type)
        await ask_content(query, state, audience, count_audience, clock)

    @router.callback_query(
        Composing.audience, ComposeCallback.filter(F.action == ComposeAction.TRACK)
    )
    async def choose_track(
        query: CallbackQuery,
        callback_data: ComposeCallback,
        state: FSMContext,
        count_audience: CountAudience,
        clock: Clock,
    ) -> None:
        audience = Audience(AudienceKind.TRACK, track=callback_data.track)
        await ask_content(query, state, audience, count_audience, clock)

    @router.message(Composing.credit_code, F.text)
    async def take_credit_code(
        message: Message, state: FSMContext, count_audience: CountAudience, clock: Clock
    ) -> None:
        audience = Audience(AudienceKind.ENTERPRISE, credit_code=message.text)
        try:
            audience, _ = await count_audience(audience, clock.now())
        except BroadcastRefused as exc:
            await message.reply(texts.refusal(exc.code, exc.params))
            return
        await state.update_data(audience=audience.to_json())
        await state.set_state(Composing.content)
        await message.reply(texts.ask_content(), reply_markup=_rows([_cancel()]))

    @router.message(Composing.content, F.text | F.photo)
    async def take_content(
        message: Message, state: FSMContext, preview_broadcast: PreviewBroadcast, clock: Clock
    ) -> None:
        content = BroadcastContent(
            html=message.html_text,
            plain_length=len(message.text or message.caption or ""),
            photo_file_id=message.photo[-1].file_id if message.photo else None,
        )
        audience = Audience.from_json((await state.get_data())["audience"])
        try:
            preview = await preview_broadcast(audience, content, clock.now())
        except BroadcastRefused as exc:
            await message.reply(texts.refusal(exc.code, exc.params))
            return
        await state.update_data(content=_content_json(content))
        await state.set_state(Composing.confirm)
        if content.photo_file_id is not None:
            await message.answer_photo(content.photo_file_id, caption=content.html or None)
        else:
            await message.answer(content.html)
        await message.answer(
            texts.preview(preview.audience, preview.recipients), reply_markup=confirm_keyboard()
        )

    @router.callback_query(
        Composing.confirm, ComposeCallback.filter(F.action == ComposeAction.CONFIRM)
    )
    async def confirm_broadcast(
        query: CallbackQuery,
        state: FSMContext,
        start_broadcast: StartBroadcast,
        broadcast_reporter: BroadcastReporter,
        clock: Clock,
    ) -> None:
        data = await state.get_data()
        await state.clear()
        audience = Audience.from_json(data["audience"])
        try:
            progress = await start_broadcast(
                audience, _content_from(data["content"]), _user(query), clock.now()
            )
        except BroadcastRefused as exc:
            await _edit(query, texts.refusal(exc.code, exc.params), None)
            return
        text, markup = broadcast_reporter.render(progress)
        await query.answer()
        if isinstance(query.message, Message):
            shown = await query.message.edit_text(text, reply_markup=markup)
            message_id = (
                shown.message_id if isinstance(shown, Message) else query.message.message_id
            )
            await broadcast_reporter.follow(progress.id, query.message.chat.id, message_id)

    @router.callback_query(BroadcastCallback.filter())
    async def control(
        query: CallbackQuery,
        callback_data: BroadcastCallback,
        control_broadcast: ControlBroadcast,
        broadcast_reporter: BroadcastReporter,
        clock: Clock,
    ) -> None:
        try:
            progress = await control_broadcast(
                callback_data.broadcast, callback_data.command, clock.now()
            )
        except BroadcastRefused as exc:
            await query.answer(texts.refusal(exc.code), show_alert=True)
            return
        await query.answer(texts.control_done(progress.status))
        if isinstance(query.message, Message):
            await broadcast_reporter.show(
                progress, query.message.chat.id, query.message.message_id, force=True
            )

    return router


def _content_json(content: BroadcastContent) -> dict[str, Any]:
    return {"html": content.html, "length": content.plain_length, "photo": content.photo_file_id}


def _content_from(data: dict[str, Any]) -> BroadcastContent:
    return BroadcastContent(data["html"], data["length"], data["photo"])


# ---- trainees: blocking the bot (/mute and /unmute are the conversation core's) -----------


def make_mute_router() -> Router:
    router = Router(name="reminder_settings")
    router.message.filter(F.chat.type == "private")

    @router.my_chat_member(F.chat.type == "private")
    async def follow_blocking(
        event: ChatMemberUpdated, reminder_preferences: TortoiseReminderPreferences
    ) -> None:
        # Blocking the bot stops the sender; unblocking starts it again.
        reachable = event.new_chat_member.status not in {"kicked", "left"}
        await reminder_preferences.set_reachable(ChatUserId(event.from_user.id), reachable)

    return router
