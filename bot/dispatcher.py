from __future__ import annotations

from typing import Any

from aiogram import Dispatcher
from aiogram.fsm.storage.base import BaseStorage

from bot import conversation
from bot.filters_inline import await_filters_in_place
from bot.handlers import (
    broadcast,
    errors,
    exam,
    fallback,
    selfie,
    staff_desk,
    staff_faces,
    staff_payment,
    staff_registry,
    staff_stats,
    support,
)
from bot.middlewares import (
    AccountLocaleMiddleware,
    AccountMiddleware,
    ClientLanguageMenu,
    LogContext,
    OldButtons,
    TrackAnswers,
    UpdateMetricsMiddleware,
)
from domain.accounts import AccountRepository
from domain.locales import DEFAULT_LOCALE, Locale
from infra.metrics import Metrics
from texts.i18n import Catalogs


def make_dispatcher(
    *,
    storage: BaseStorage,
    i18n: Catalogs,
    accounts: AccountRepository,
    staff_group_id: int | None = None,
    metrics: Metrics | None = None,
    staff_locale: str = DEFAULT_LOCALE.value,
    **dependencies: Any,
) -> Dispatcher:
    """A fresh dispatcher with every feature router; `dependencies` reach handlers by name.
    In the staff group, someone with no language of their own reads `staff_locale`."""
    dispatcher = Dispatcher(storage=storage, accounts=accounts, **dependencies)
    dispatcher.update.outer_middleware(LogContext())
    if metrics is not None:
        # First of ours, so the time includes loading the account.
        dispatcher.update.outer_middleware(UpdateMetricsMiddleware(metrics))
    dispatcher.update.outer_middleware(AccountMiddleware(accounts, dependencies.get("clock")))
    dispatcher.update.outer_middleware(ClientLanguageMenu(i18n, dependencies.get("webapp_url", "")))
    # The staff group and the desks' own groups (STAFF_DESK_GROUPS) read the staff language.
    desk = dependencies.get("desk")
    default = frozenset({staff_group_id} if staff_group_id is not None else ())
    staff_groups: frozenset[int] = desk.staff_groups if desk is not None else default
    AccountLocaleMiddleware(i18n, staff_groups, Locale(staff_locale)).setup(dispatcher)
    dispatcher.callback_query.outer_middleware(TrackAnswers())
    dispatcher.callback_query.outer_middleware(OldButtons(dependencies.get("webapp_url", "")))
    # Trainees' private chats first: the staff routers each take only their group's messages
    # and buttons (their chat filters), the conversation router only private chats, so the
    # order between them changes nothing but how many routers a trainee's update passes
    # through before it is answered (issue 20).
    dispatcher.include_routers(
        errors.make_router(),
        conversation.make_router(),
        staff_registry.make_router(staff_group_id),
        staff_payment.make_router(staff_group_id),
        broadcast.make_router(staff_group_id),
        staff_desk.make_router(staff_groups),
        staff_stats.make_router(staff_group_id),
        exam.make_staff_router(staff_group_id),
        staff_faces.make_router(staff_group_id),
        broadcast.make_mute_router(),
        selfie.make_router(),
        support.make_relay_router(),
        fallback.make_router(),
    )
    await_filters_in_place(dispatcher)
    return dispatcher
