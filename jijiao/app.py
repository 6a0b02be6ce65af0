"""The composition root: the one place where settings become running parts."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.webhook.aiohttp_server import setup_application
from aiohttp import web
from Cryptodome.PublicKey import RSA
from redis.asyncio import Redis

from application.exam import ExamConfig, Exams, purge_face_data
from application.overdue import OverdueSweep
from application.reminders import (
    OutboxRefresh,
    ReminderScanner,
    StaffDailySummary,
    TortoiseReminderPreferences,
)
from application.study import FaceStore, LazyFaces, Study, StudyConfig
from bot.applications import Applications, ChatApplications, SignedApplications
from bot.commands import register_commands, register_menu_button
from bot.console import ConsoleActions
from bot.conversation import TelegramReplies
from bot.desk import Desk
from bot.dispatcher import make_dispatcher
from bot.exam_notifier import RECEIPT_PICTURE, BotExamNotifier
from bot.face_reviews import FaceReviewDesk
from bot.files import TelegramFiles
from bot.handlers.broadcast import BroadcastReporter
from bot.inbox import Inbox, InboxConfig, LocalClaims, RedisClaims, poll
from bot.notifier import BotPaymentNotifier
from bot.reminder_messages import ReminderTexts
from bot.tell import TelegramTell
from bot.webhook import WEBHOOK_PATH, Webhook
from conversation.engine import Conversations
from conversation.flows.applications import Applications as ApplicationsFlow
from conversation.flows.common import Home
from conversation.flows.enrolment import Enrolment
from conversation.flows.exam import Exam
from conversation.flows.home import Muting, SelfHelp, Start
from conversation.flows.payment import Payment
from conversation.flows.support import Support
from conversation.phone_proof import PhoneByCode
from conversation.ports import Tell
from conversation.replies import Say
from domain.accounts import ChatAccount, ChatUserId, ChooseLanguage
from domain.checkout import (
    ApplyPayment,
    AttachInvoice,
    CheckOrder,
    ExpireOrders,
    Fees,
    OverdueInvoices,
    PlaceOrder,
    Reconcile,
    RemoveEnrolment,
    SaveInvoiceDetails,
    ShowBill,
    StartJsapiPayment,
)
from domain.clock import Clock
from domain.desks import DeskId
from domain.enrolment import (
    CorrectCategory,
    EnrolCertificates,
    EnrolEmployees,
    EnterpriseEmployees,
    MyCertificates,
    MyStatus,
    RequestCategoryCorrection,
    RequestSupport,
)
from domain.identity import BindEnterprise, BindPerson
from domain.locales import DEFAULT_LOCALE
from domain.payment import JsapiProvider, NotifiedProvider, PaymentProvider
from domain.phone_codes import PhoneCodes, SmsSender
from domain.reminders import (
    ControlBroadcast,
    CountAudience,
    MuteReminders,
    PreviewBroadcast,
    QuietHours,
    ReminderKind,
    Schedule,
    StartBroadcast,
)
from domain.timezone import CHINA
from infra.clock import SystemClock
from infra.content import load_banks, load_courses
from infra.db import models, open_database, ping
from infra.demo import seed_demo
from infra.fsm import DatabaseStorage, SealedRedisStorage
from infra.i18n import make_i18n
from infra.inbox import TortoiseInbox
from infra.metrics import Metrics, outbox_pending
from infra.outbox import TortoiseBroadcasts, TortoiseOutbox
from infra.payments.alipay import AliPay, AliPayConfig
from infra.payments.choice import ProviderChoice
from infra.payments.sandbox import LOCAL_APPID, SandboxProvider
from infra.payments.wechatpay import WeChatPay, WeChatPayConfig
from infra.pii import Pii
from infra.qr import payment_qr_png
from infra.registry_import import import_registry
from infra.repositories import reach
from infra.repositories.accounts import TortoiseAccountRepository
from infra.repositories.console import ConsoleRecords
from infra.repositories.desk_log import TortoiseDeskLog
from infra.repositories.payments import TortoisePaymentStore
from infra.repositories.records import Records
from infra.repositories.registry import (
    TortoiseBindings,
    TortoiseEnrolments,
    TortoiseRegistry,
    TortoiseSupportDesk,
)
from infra.repositories.selfhelp import situation_of
from infra.repositories.support import TortoiseTickets
from infra.sender import (
    TELEGRAM,
    BotTransport,
    Limits,
    LocalRateLimiter,
    OutboxSender,
    RateLimiter,
    RedisRateLimiter,
    SenderConfig,
)
from infra.settings import (
    LOCAL_WECHAT_AES_KEY,
    ExamSection,
    ReminderSection,
    Settings,
    SettingsError,
    StudySection,
    WechatSettings,
)
from infra.signing import Signer
from infra.sms.sandbox import SandboxSms
from infra.sms.store import KeyedCodeHasher, TortoiseCodeStore
from infra.telegram import JsonSession, RepliesFirst, RetryAfter, TransientErrors
from infra.workdays import ChineseWorkingDays
from infra.workers import Job, Lease, NoLease, RedisLease, Workers, stop_task
from jijiao.exam_board import ChatExams
from jijiao.support_desk import ChannelDesk, ConsoleAnswers
from localchat import FloodLimits, LocalChat, LocalChatConfig, make_localchat_app
from texts.i18n import Catalogs
from webview.app import make_web_app
from webview.applications import ApplicationWeb, add_application_routes
from webview.auth import (
    SESSION_COOKIE,
    Sessions,
    StaffRole,
    StaffSessions,
    StaffViewer,
    Viewer,
)
from webview.console import ConsoleWeb, add_console_routes
from webview.exam import add_exam_routes
from webview.keys import WebConfig
from webview.payments import JsapiWeb, PaymentWeb, add_payment_routes
from webview.records import RecordsWeb, add_records_routes
from webview.sms import add_local_sms_routes
from webview.study import StudyWeb, add_study_routes
from wechat.api import ApiConfig, WeChatApi
from wechat.channel import CHANNEL as WECHAT_CHANNEL
from wechat.channel import WeChatChannel, WeChatReplies
from wechat.menu import publish_menu
from wechat.notices import WeChatNotices
from wechat.oauth import OAuth, OAuthConfig
from wechat.outbox import NoticeTemplates, WeChatTransport
from wechat.protocol import Callbacks
from wechat.store import Memo, MemoryMemo, RedisMemo
from wechat.tell import WeChatLater
from wechat.web import WeChatWeb, add_wechat_routes
from wechatlocal import WeChatLocal, WeChatLocalConfig, mount_wechatlocal

log = logging.getLogger(__name__)

SESSION_TTL = 12 * 3600
SHUTDOWN_GRACE = 10
FSM_TTL = timedelta(days=7)
# A trainee's message queued for their topic this long is sent by the sweep job.
RELAY_STALE = timedelta(seconds=20)
LOCAL_BOT_USERNAME = "jijiao_local_bot"
LOCAL_STAFF = [(900001, "客服小李 (demo staff)")]


@dataclass
class Runtime:
    settings: Settings
    bot: Bot
    dispatcher: Dispatcher
    web_app: web.Application
    localchat: LocalChat | None
    services: Services
    clock: Clock
    wechatlocal: WeChatLocal | None = None

    @property
    def local_url(self) -> str:
        return f"{self.settings.base_url}/_local/"


async def picture_of(files: TelegramFiles, file_id: str) -> tuple[str, bytes]:
    """A broadcast's picture (staff sent it in Telegram) as a file for WeChat's media upload."""
    data, suffix = await files.read(file_id)
    return f"picture{suffix}", data


async def wechat_picture(files: TelegramFiles, exams: Exams, ref: str) -> tuple[str, bytes]:
    """A picture an outbox row for WeChat names, as a file for WeChat's media upload: a
    receipt's made again from its id ("receipt:<id>", the row holds no image), else a
    broadcast's from Telegram."""
    if ref.startswith(RECEIPT_PICTURE):
        receipt_id = int(ref.removeprefix(RECEIPT_PICTURE))
        png, _ = await exams.receipt_files(receipt_id)
        return f"receipt-{receipt_id}.png", png
    return await picture_of(files, ref)


class ChannelTell:
    """`Tell` on the person's own channel: the account's channel picks the channel's Tell
    (Telegram's chat, direct; WeChat's an outbox row, delivered as a customer-service message or
    a notice with the outbox's retries, once that channel is on): see docs/architecture.md,
    "Decisions on WeChat"."""

    def __init__(self, telegram: Tell) -> None:
        self._by_channel: dict[str, Tell] = {TELEGRAM: telegram}

    def add(self, channel: str, tell: Tell) -> None:
        self._by_channel[channel] = tell

    async def __call__(self, account: ChatUserId, *lines: Say) -> bool:
        channel = await reach.channel_of(account)
        tell = self._by_channel.get(channel)
        if tell is None:
            log.warning("%s not told: no way to %s", account, channel)
            return False
        return await tell(account, *lines)


@dataclass
class Services:
    """The wired use cases: `handlers` reach bot handlers by name; the rest serve the web
    view and the periodic jobs."""

    handlers: dict[str, Any]
    apply_payment: ApplyPayment
    payment_store: TortoisePaymentStore
    jobs: list[Job]
    study: Study
    exams: Exams
    faces: LazyFaces


def build_services(
    *,
    bot: Bot,
    i18n: Catalogs,
    clock: Clock,
    webapp_url: str,
    sessions: Sessions,
    provider: PaymentProvider,
    fees: Fees,
    staff_group_id: int | None,
    data_dir: Path,
    signer: Signer,
    base_url: str = "http://127.0.0.1:8080",
    reminders: ReminderSection | None = None,
    study: StudySection | None = None,
    exam: ExamSection | None = None,
    redis: Redis | None = None,
    metrics: Metrics | None = None,
    reconcile_every: float = 60,
    staff_locale: str = DEFAULT_LOCALE.value,
    desk_groups: Mapping[DeskId, int] | None = None,
    sms: SmsSender | None = None,
) -> Services:
    accounts = TortoiseAccountRepository()
    pii = Pii.from_signer(signer)
    registry = TortoiseRegistry(pii)
    bindings = TortoiseBindings(pii)
    enrolments = TortoiseEnrolments(pii)
    desk = TortoiseSupportDesk(pii)
    store = TortoisePaymentStore(pii)
    pay_apps = (
        tuple(provider.providers) if isinstance(provider, ProviderChoice) else (provider.name,)
    )
    notifier = BotPaymentNotifier(
        bot,
        i18n,
        accounts,
        staff_group_id,
        webapp_url,
        outbox=TortoiseOutbox(),
        clock=clock,
        staff_locale=staff_locale,
    )
    apply_payment = ApplyPayment(
        store, notifier, ChineseWorkingDays(), provider.name, clock, closer=provider
    )
    overdue = OverdueInvoices(store, clock)

    async def flag_overdue_invoices() -> None:
        late = await overdue()
        if late and staff_group_id is not None:
            await notifier.overdue_invoices([order.number for order in late])

    payments = (bindings, store, fees, provider, clock, new_order_number)
    handlers: dict[str, Any] = {
        "accounts": accounts,
        "clock": clock,
        "pii": pii,
        "webapp_url": webapp_url,
        "sessions": sessions,
        "choose_language": ChooseLanguage(accounts),
        "bind_person": BindPerson(registry, bindings, desk),
        "bind_enterprise": BindEnterprise(registry, bindings),
        "my_certificates": MyCertificates(registry, bindings, enrolments, clock),
        "enrol_certificates": EnrolCertificates(registry, bindings, enrolments, clock),
        "enterprise_employees": EnterpriseEmployees(registry, bindings, enrolments, clock),
        "enrol_employees": EnrolEmployees(registry, bindings, enrolments, clock),
        "my_status": MyStatus(bindings, enrolments),
        "request_support": RequestSupport(desk),
        "request_category_correction": RequestCategoryCorrection(registry, bindings, desk),
        "correct_category": CorrectCategory(registry, bindings),
        "import_registry": functools.partial(import_registry, pii=pii, clock=clock),
        "show_bill": ShowBill(*payments),
        "remove_enrolment": RemoveEnrolment(*payments),
        "place_order": PlaceOrder(*payments),
        "save_invoice_details": SaveInvoiceDetails(store),
        "check_order": CheckOrder(store, provider, apply_payment),
        "attach_invoice": AttachInvoice(store, notifier),
        "overdue_invoices": overdue,
        "notifier": notifier,
        "desk": Desk(
            bot,
            i18n,
            TortoiseTickets(pii),
            staff_group_id,
            clock,
            staff_locale=staff_locale,
            desk_groups=desk_groups,
        ),
        # The dispatcher's fallback for staff who set no language of their own.
        "staff_locale": staff_locale,
        "tell": (tell := ChannelTell(TelegramTell(bot, i18n))),
        "applications": Applications(clock, i18n, pii=pii, webapp_url=webapp_url, tell=tell),
    }
    # Every support conversation, whichever channel, in the desk's own record (the console's).
    desk_log = TortoiseDeskLog(pii)
    handlers["desk"].desk_log = desk_log  # staff's answers in the group are kept there too
    handlers["channel_desk"] = ChannelDesk(
        handlers["desk"], TortoiseTickets(pii), desk_log, i18n, clock
    )
    handlers["console_answers"] = ConsoleAnswers(
        bot, handlers["desk"], TortoiseTickets(pii), desk_log, i18n, clock
    )
    handlers["desk_log"] = desk_log
    handlers["desk"].other_channel = handlers["console_answers"].from_topic
    home = Home()
    staff_sessions = StaffSessions(signer)

    def console_link(staff_id: int, name: str, supervisor: bool, locale: str) -> str:
        role = StaffRole.SUPERVISOR if supervisor else StaffRole.DESK
        staff = StaffViewer(staff_id, name, role, locale, secrets.token_urlsafe(12))
        return f"{base_url}/staff/login?t={staff_sessions.link_token(staff, clock.now())}"

    handlers["console_link"] = console_link

    def sign_in_link(account: ChatAccount) -> tuple[str, int]:
        viewer = Viewer(account.id, account.first_name, account.language_code)
        token = sessions.link_token(viewer, clock.now())
        return f"{base_url}/app/login?token={token}", sessions.link_ttl // 60

    faces = LazyFaces(data_dir, observe=metrics.observe_face_check if metrics else None)
    exam_notifier = BotExamNotifier(bot, i18n, accounts, webapp_url)
    study_service = make_study(
        study or StudySection(),
        faces,
        data_dir,
        signer.key_for("faces"),
        signer.previous_keys_for("faces"),
    )
    exam = exam or ExamSection()
    exams = Exams(
        load_banks(),
        study_service,
        signer,
        pii,
        ExamConfig(
            questions=exam.questions,
            time_limit=timedelta(minutes=exam.time_limit_minutes),
            verify_base=base_url,
            receipts_dir=data_dir / "receipts",
        ),
        notifier=exam_notifier,
        outbox=TortoiseOutbox(),
    )
    exam_notifier.attach(exams)
    study_service.on_review = FaceReviewDesk(bot, i18n, handlers["desk"], study_service, exams).post
    handlers.update(study=study_service, exams=exams, exam_notifier=exam_notifier)

    reminder_handlers, reminder_jobs = build_reminders(
        bot=bot,
        i18n=i18n,
        clock=clock,
        settings=reminders or ReminderSection(),
        redis=redis,
        staff_group_id=staff_group_id,
        metrics=metrics,
        staff_locale=staff_locale,
    )
    # Proof of a phone by SMS code, for channels without "share my contact" (PhoneByCode).
    sms_sender = sms or SandboxSms(clock)
    handlers["sms"] = sms_sender
    handlers["phone_codes"] = PhoneCodes(
        TortoiseCodeStore(), sms_sender, KeyedCodeHasher(signer.key_for("sms-code")), clock
    )
    handlers["conversations"] = Conversations(
        [
            Start(
                home=home, choose_language=handlers["choose_language"], sign_in_link=sign_in_link
            ),
            SelfHelp(clock=clock, situation_of=situation_of),
            Enrolment(
                clock=clock,
                bind_person=handlers["bind_person"],
                bind_enterprise=handlers["bind_enterprise"],
                my_certificates=handlers["my_certificates"],
                enrol_certificates=handlers["enrol_certificates"],
                enterprise_employees=handlers["enterprise_employees"],
                enrol_employees=handlers["enrol_employees"],
                my_status=handlers["my_status"],
                request_support=handlers["request_support"],
                request_category_correction=handlers["request_category_correction"],
                desk=handlers["channel_desk"],
                home=home,
            ),
            Payment(
                show_bill=handlers["show_bill"],
                place_order=handlers["place_order"],
                save_invoice_details=handlers["save_invoice_details"],
                check_order=handlers["check_order"],
                remove_enrolment=handlers["remove_enrolment"],
                qr=payment_qr_png,
                pay_apps=pay_apps,
            ),
            # Before the desk: while a form is awaited, what nobody took asks for it again.
            Exam(board=ChatExams(exams, clock)),
            Muting(mute=reminder_handlers["mute_reminders"]),
            ApplicationsFlow(desk=ChatApplications(handlers["applications"], handlers["desk"])),
            Support(desk=handlers["channel_desk"]),
        ]
    )
    sent_messages = TortoiseOutbox()

    async def keep_sent(chat_id: int, name: str, message_id: int) -> None:
        """A message a later notice must find (the order's QR code, whose buttons go when the
        order is paid or over), kept under its name and message id."""
        kind = name.split("|", 1)[0]
        await sent_messages.record_sent(
            chat_id, kind, f"{name}|{message_id}", message_id, clock.now()
        )

    handlers["replies"] = TelegramReplies(webapp_url, i18n, keep_sent)
    support_desk: Desk = handlers["desk"]

    async def relay_to_topics() -> None:
        """Messages still queued for a topic (a sender stopped, Telegram was away)."""
        for user_id in await support_desk.tickets.waiting_since(clock.now() - RELAY_STALE):
            await support_desk.relay(user_id)

    jobs = [
        Job("relay_support_messages", 30, relay_to_topics),
        Job("expire_orders", 15, ExpireOrders(store, provider, notifier, clock)),
        Job(
            "reconcile_payments",
            reconcile_every,
            Reconcile(store, provider, apply_payment, clock),
        ),
        Job("overdue_invoices", 6 * 3600, flag_overdue_invoices),
    ]
    handlers.update(reminder_handlers)
    jobs.extend(reminder_jobs)

    async def close_exam_attempts() -> None:
        await exams.close_overdue(clock.now())

    async def purge_faces() -> None:
        await purge_face_data(exams, clock.now(), study_service.config.retention)

    jobs.append(Job("close_exam_attempts", 15, close_exam_attempts))
    jobs.append(Job("face_data_retention", 3600, purge_faces))
    return Services(handlers, apply_payment, store, jobs, study_service, exams, faces)


def build_reminders(
    *,
    bot: Bot,
    i18n: Catalogs,
    clock: Clock,
    settings: ReminderSection,
    redis: Redis | None,
    staff_group_id: int | None = None,
    metrics: Metrics | None = None,
    staff_locale: str = DEFAULT_LOCALE.value,
) -> tuple[dict[str, Any], list[Job]]:
    """Reminders and staff broadcasts (key flow 8): the scanner, the outbox sender under
    Telegram's limits (shared through Redis when there is one), the composer's use cases."""
    schedule = Schedule(
        study_days=tuple(settings.study_days),
        cert_months=tuple(settings.cert_months),
        void_days=tuple(settings.void_days),
        catchup_days=settings.catchup_days,
        void_lookback_days=settings.void_lookback_days,
    )
    quiet = QuietHours(settings.quiet_start, settings.quiet_end)
    limits = Limits(
        settings.global_per_second, settings.private_per_second, settings.group_per_minute
    )
    limiter: RateLimiter = (
        RedisRateLimiter(redis, limits) if redis is not None else LocalRateLimiter(limits)
    )
    outbox = TortoiseOutbox()
    broadcasts = TortoiseBroadcasts(outbox)
    preferences = TortoiseReminderPreferences()
    reporter = BroadcastReporter(bot, i18n, broadcasts, clock, quiet, staff_locale=staff_locale)
    sender = OutboxSender(
        outbox,
        BotTransport(bot),
        limiter,
        clock,
        render=ReminderTexts(i18n, staff_locale),
        refresh=OutboxRefresh(broadcasts),
        quiet=quiet,
        config=SenderConfig(
            lease=timedelta(seconds=settings.lease_seconds),
            max_attempts=settings.max_attempts,
            # What the limit sends in a quarter of the lease: never more claimed than that.
            batch=max(10, min(500, int(settings.global_per_second * settings.lease_seconds / 4))),
        ),
        on_progress=reporter,
    )
    # Replies take their share of Telegram's limit before the sender does.
    bot.session.middleware(RepliesFirst(limiter))
    if metrics is not None:
        metrics.watch_sender(sender.stats)
    handlers: dict[str, Any] = {
        "mute_reminders": MuteReminders(preferences),
        "reminder_preferences": preferences,
        "count_audience": CountAudience(broadcasts),
        "preview_broadcast": PreviewBroadcast(broadcasts),
        "start_broadcast": StartBroadcast(broadcasts, quiet),
        "control_broadcast": ControlBroadcast(broadcasts),
        "broadcast_reporter": reporter,
        "outbox_sender": sender,
    }
    jobs = [
        Job("scan_reminders", settings.scan_every, ReminderScanner(outbox, clock, schedule, quiet)),
        Job("send_outbox", settings.send_every, sender),
        Job("mark_overdue", settings.scan_every, OverdueSweep(outbox, clock, quiet)),
        Job("staff_daily_summary", 3600, StaffDailySummary(outbox, staff_group_id, clock)),
    ]
    return handlers, jobs


def make_study(
    config: StudySection,
    faces: LazyFaces,
    data_dir: Path,
    key: bytes,
    previous_keys: Sequence[bytes] = (),
) -> Study:
    return Study(
        load_courses(),
        faces,
        FaceStore(data_dir / "faces", key, previous_keys),
        StudyConfig(
            minutes_scale=config.minutes_scale,
            heartbeat=timedelta(seconds=config.heartbeat_seconds),
            check_interval=timedelta(seconds=config.check_interval_seconds),
            check_answer=timedelta(seconds=config.check_answer_seconds),
            head_turn=config.head_turn,
            retention=timedelta(days=config.retention_days),
        ),
    )


def make_payment_provider(
    settings: Settings, clock: Clock | None = None
) -> NotifiedProvider | ProviderChoice:
    """The enabled providers with their keys from the files the settings name: one alone, or
    several behind one QR code of ours (ProviderChoice). The sandbox only in local mode, since
    its checkout page lets anyone mark an order paid."""
    payment = settings.payment
    clock = clock or SystemClock()

    def read(path: Path | None) -> str:
        assert path is not None  # the settings refuse a provider without every field
        return path.read_text(encoding="utf-8")

    def wechatpay() -> WeChatPay:
        assert payment.wechat_api_v3_key is not None
        return WeChatPay(
            WeChatPayConfig(
                mchid=str(payment.wechat_mchid),
                appid=str(payment.wechat_appid),
                api_v3_key=payment.wechat_api_v3_key.get_secret_value(),
                cert_serial_no=str(payment.wechat_cert_serial_no),
                private_key_pem=read(payment.wechat_private_key_path),
                public_key_pem=read(payment.wechat_public_key_path),
                public_key_id=str(payment.wechat_public_key_id),
                notify_url=f"{settings.base_url}/pay/notify/wechatpay",
                gateway=payment.wechat_gateway,
            )
        )

    def alipay() -> AliPay:
        keys = {}
        for variable, path in (
            ("PAYMENT_ALIPAY_PRIVATE_KEY_PATH", payment.alipay_private_key_path),
            ("PAYMENT_ALIPAY_PUBLIC_KEY_PATH", payment.alipay_public_key_path),
        ):
            try:
                keys[variable] = read(path)
                _rsa_key(keys[variable])
            except (OSError, ValueError, IndexError, TypeError):
                # One line naming the setting, never the key's text.
                raise SettingsError(variable, "is not a readable RSA key in PEM") from None
        return AliPay(
            AliPayConfig(
                app_id=str(payment.alipay_app_id),
                app_private_key_pem=keys["PAYMENT_ALIPAY_PRIVATE_KEY_PATH"],
                alipay_public_key_pem=keys["PAYMENT_ALIPAY_PUBLIC_KEY_PATH"],
                notify_url=f"{settings.base_url}/pay/notify/alipay",
                seller_id=payment.alipay_seller_id,
                gateway=payment.alipay_gateway,
            ),
            clock.now,
        )

    def sandbox() -> SandboxProvider:
        if not settings.local_mode and not payment.sandbox_outside_local_mode:
            raise SettingsError(
                "PAYMENT_PROVIDER",
                "the sandbox lets anyone mark an order paid; set wechatpay or alipay (or, for a "
                "staging server, PAYMENT_SANDBOX_OUTSIDE_LOCAL_MODE=true)",
            )
        # Paying inside WeChat's browser, the sandbox plays WeChat Pay for the channel's appid.
        wechat = settings.wechat_channel
        return SandboxProvider(
            settings.base_url,
            hashlib.sha256(b"sandbox" + settings.secret_key()).digest(),
            appid=wechat.appid if wechat is not None else LOCAL_APPID,
        )

    makers: dict[str, Callable[[], NotifiedProvider]] = {
        "wechatpay": wechatpay,
        "alipay": alipay,
        "sandbox": sandbox,
    }
    providers: list[NotifiedProvider] = [makers[name]() for name in payment.enabled()]
    if len(providers) == 1:
        return providers[0]
    return ProviderChoice(
        providers, settings.base_url, hashlib.sha256(b"scan" + settings.secret_key()).digest()
    )


def _rsa_key(pem: str) -> None:
    """The key loader the Alipay SDK uses, so a bad file stops the start and not a payment."""
    RSA.import_key(pem)


def sandbox_of(provider: PaymentProvider) -> SandboxProvider | None:
    if isinstance(provider, ProviderChoice):
        provider = provider.providers.get("sandbox", provider)
    return provider if isinstance(provider, SandboxProvider) else None


def jsapi_of(provider: PaymentProvider) -> JsapiProvider | None:
    """Who takes payment inside WeChat's browser (WeChat Pay, or the sandbox playing it)."""
    if isinstance(provider, ProviderChoice):
        return provider if provider.jsapi() is not None else None
    return provider if isinstance(provider, WeChatPay | SandboxProvider) else None


def make_jsapi_web(
    settings: Settings,
    provider: PaymentProvider,
    services: Services,
    accounts: TortoiseAccountRepository,
    clock: Clock,
) -> JsapiWeb | None:
    """The pay page's JSAPI checkout: with the WeChat channel on and a provider that can."""
    jsapi = jsapi_of(provider)
    if settings.wechat_channel is None or jsapi is None:
        return None
    start = StartJsapiPayment(services.payment_store, jsapi, clock)
    check: CheckOrder = services.handlers["check_order"]

    return JsapiWeb(
        start=lambda account, number, openid: start(ChatUserId(account), number, openid),
        check=lambda account, number: check(ChatUserId(account), number),
        openid_of=functools.partial(wechat_openid, accounts),
    )


async def wechat_openid(accounts: TortoiseAccountRepository, account: int) -> str | None:
    """The account's WeChat openid; None for an account of another channel."""
    return await accounts.external_id_on(ChatUserId(account), WECHAT_CHANNEL)


def new_order_number(now: datetime) -> str:
    """JJ + Beijing date and time + 4 random digits: readable on the phone, unique in practice,
    and the unique column catches the rest."""
    return f"JJ{now.astimezone(CHINA):%Y%m%d%H%M%S}{secrets.randbelow(10_000):04d}"


def web_sign_in(
    sessions: Sessions, clock: Clock, base_url: str
) -> Callable[[ChatAccount, web.StreamResponse], None]:
    """Starts a person's web view session on a response, as the web view's own sign-in does:
    for a channel that proves who the person is its own way (WeChat's OAuth)."""

    def sign_in(account: ChatAccount, response: web.StreamResponse) -> None:
        viewer = Viewer(account.id, account.first_name, account.language_code)
        response.set_cookie(
            SESSION_COOKIE,
            sessions.session_token(viewer, clock.now()),
            httponly=True,
            samesite="Lax",
            secure=base_url.startswith("https://"),
            path="/",
        )

    return sign_in


def make_wechat(
    wechat: WechatSettings,
    *,
    conversations: Callable[..., Awaitable[Any]],
    accounts: TortoiseAccountRepository,
    storage: BaseStorage,
    clock: Clock,
    redis: Redis | None,
    signer: Signer,
    sessions: Sessions,
    base_url: str,
    on_inbound: Callable[[ChatUserId], Awaitable[object]] | None = None,
) -> WeChatWeb:
    """The WeChat Official Account channel (wechat/): its callback, its messages and its
    sign-in into the web view. `conversations` is the core, or a wrapper of the same shape."""
    memo: Memo = RedisMemo(redis) if redis is not None else MemoryMemo(clock)
    api = WeChatApi(ApiConfig(wechat.appid, wechat.appsecret, wechat.api_base), clock)
    replies = WeChatReplies(base_url)
    return WeChatWeb(
        callbacks=Callbacks(
            token=wechat.token,
            appid=wechat.appid,
            encoding_aes_key=wechat.encoding_aes_key,
            clock=clock,
            seen=memo,
        ),
        channel=WeChatChannel(
            conversations=conversations,
            accounts=accounts,
            storage=storage,
            api=api,
            replies=replies,
            clock=clock,
            on_inbound=on_inbound,
        ),
        oauth=OAuth(
            OAuthConfig(wechat.appid, wechat.open_base, base_url),
            api=api,
            accounts=accounts,
            memo=memo,
            key=signer.key_for("wechat-oauth"),
        ),
        sign_in=web_sign_in(sessions, clock, base_url),
        api=api,
        replies=replies,
    )


async def publish_wechat_menu(wechat: WeChatWeb) -> bool:
    """The custom menu from the core's main menu; a failure is logged (the stand-in or WeChat
    away), never fatal."""
    try:
        await publish_menu(wechat.api, wechat.replies)
    except Exception:  # the menu stays as it was; `jijiao wechat-menu` tries again
        log.warning("the WeChat custom menu was not published", exc_info=True)
        return False
    return True


def make_storage(settings: Settings, pii: Pii) -> BaseStorage:
    if settings.redis.url:
        # A conversation left half-way (an ID number typed, the phone never shared) does not
        # keep what it holds for ever.
        return SealedRedisStorage.from_url(
            settings.redis.url, pii=pii, state_ttl=FSM_TTL, data_ttl=FSM_TTL
        )
    return DatabaseStorage(pii)


def make_bot(settings: Settings) -> Bot:
    api_url = settings.telegram.api_url
    if api_url is None and settings.local_mode:
        api_url = f"http://127.0.0.1:{settings.web.port}/_local"
    api = PRODUCTION if api_url is None else TelegramAPIServer.from_base(api_url)
    session = JsonSession(api=api, timeout=settings.telegram.request_timeout)
    bot = Bot(
        settings.bot_token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    bot.session.middleware(RetryAfter())
    bot.session.middleware(TransientErrors())
    return bot


def ready_checks(
    settings: Settings, redis: Redis | None, faces: LazyFaces
) -> dict[str, Callable[[], Awaitable[None]]]:
    checks: dict[str, Callable[[], Awaitable[None]]] = {
        "database": functools.partial(ping, settings.database_url)
    }
    if redis is not None:

        async def redis_ping() -> None:
            await redis.ping()

        checks["redis"] = redis_ping
    checks["faces"] = ready_once(faces.get)
    return checks


def ready_once(
    load: Callable[[], Coroutine[Any, Any, object]],
) -> Callable[[], Awaitable[None]]:
    """A readiness check over a slow first load: a probe that times out leaves the load running
    for the next one, instead of starting it again."""
    task: asyncio.Task[object] | None = None

    async def check() -> None:
        nonlocal task
        if task is None or (task.done() and (task.cancelled() or task.exception())):
            task = asyncio.create_task(load())
            task.add_done_callback(lambda done: done.cancelled() or done.exception())
        await asyncio.shield(task)

    return check


def make_localchat(
    settings: Settings, limits: FloodLimits | None, persist: bool, clock: Clock
) -> LocalChat:
    """Telegram's stand-in keeps the app's time, as Telegram's servers and ours agree on it:
    the initData it signs is as fresh as the app sees it."""
    staff_group_id = settings.staff_group_id
    assert staff_group_id is not None
    data_dir = settings.app.data_dir
    return LocalChat(
        LocalChatConfig(
            token=settings.bot_token,
            bot_username=LOCAL_BOT_USERNAME,
            bot_first_name="继教 jijiao",
            staff_group_id=staff_group_id,
            staff_group_title="继教客服 Support desk",
            staff_members=LOCAL_STAFF,
            state_path=data_dir / "localchat.json" if persist else None,
            files_dir=data_dir / "localchat-files" if persist else None,
            limits=limits or FloodLimits(),
        ),
        wall_clock=lambda: clock.now().timestamp(),
    )


# WeChat's stand-in answers with the credentials the product's WeChat settings resolved to
# (in local mode `infra.settings.LOCAL_WECHAT_*`), and mounts only when the product talks to it.
WECHAT_LOCAL_PREFIX = "/_local"
WECHAT_CALLBACK_PATH = "/wechat/callback"


def make_wechatlocal(
    settings: Settings, clock: Clock, *, persist: bool = True
) -> WeChatLocal | None:
    """WeChat's stand-in, in local mode when the product's WeChat API is the stand-in's
    (`http://127.0.0.1:PORT/_local/wechat`); it keeps the app's time, as the local chat does,
    and speaks safe mode when the product has an EncodingAESKey. Its credentials are public, so
    with a real WeChat account configured it never mounts."""
    wechat = settings.wechat_channel
    port = settings.web.port
    if (
        not settings.local_mode
        or wechat is None
        or wechat.api_base != f"http://127.0.0.1:{port}{WECHAT_LOCAL_PREFIX}/wechat"
    ):
        return None
    return WeChatLocal(
        WeChatLocalConfig(
            appid=wechat.appid,
            secret=wechat.appsecret,
            token=wechat.token,
            encoding_aes_key=wechat.encoding_aes_key or LOCAL_WECHAT_AES_KEY,
            callback_url=f"http://127.0.0.1:{port}{WECHAT_CALLBACK_PATH}",
            # WeChat Pay's checkout in the in-app browser: the product's payment sandbox.
            pay_url=(
                f"http://127.0.0.1:{port}/sandbox/jsapi/pay"
                if "sandbox" in settings.payment.enabled()
                else None
            ),
            safe_mode=wechat.encoding_aes_key is not None,
            oauth_hosts=("127.0.0.1", "localhost", urlsplit(settings.base_url).hostname or ""),
            state_path=settings.app.data_dir / "wechatlocal.json" if persist else None,
        ),
        wall_clock=lambda: clock.now().timestamp(),
    )


def make_sms_sender(settings: Settings, clock: Clock) -> SmsSender:
    """The sandbox unless SMS_PROVIDER says otherwise (settings check the provider's fields).
    A provider's SDK loads only where it is used."""
    sms = settings.sms
    secret = sms.access_key_secret.get_secret_value() if sms.access_key_secret else ""
    if sms.provider == "aliyun":
        from infra.sms.aliyun import AliyunSms

        return AliyunSms(
            access_key_id=sms.access_key_id or "",
            access_key_secret=secret,
            sign_name=sms.sign_name or "",
            template_code=sms.template_code or "",
            endpoint=sms.api(),
        )
    if sms.provider == "tencent":
        from infra.sms.tencent import TencentSms

        return TencentSms(
            secret_id=sms.access_key_id or "",
            secret_key=secret,
            app_id=sms.app_id or "",
            sign_name=sms.sign_name or "",
            template_id=sms.template_code or "",
            region=sms.region,
            endpoint=sms.api(),
        )
    if not settings.local_mode:
        log.warning(
            "SMS_PROVIDER is the sandbox: no SMS code reaches anyone, so phones cannot be "
            "proved by SMS (WeChat) until a provider is set"
        )
    return SandboxSms(clock)


async def seed_demo_once(clock: Clock, settings: Settings, pii: Pii) -> None:
    """First local run: a demo registry, so every flow can be tried at once."""
    if await models.Person.exists():
        return
    report = await seed_demo(clock, settings.app.data_dir, pii)
    log.info("demo registry seeded: %s certificates", report.new)


@contextlib.asynccontextmanager
async def running(
    settings: Settings,
    *,
    clock: Clock | None = None,
    flood_limits: FloodLimits | None = None,
    persist_localchat: bool = True,
) -> AsyncIterator[Runtime]:
    """Everything up (database, web view, local chat, bot by polling or webhook) until the
    block exits."""
    clock = clock or SystemClock()
    # A refused setting stops the start before anything is opened (an open database would
    # keep the process from exiting).
    provider = make_payment_provider(settings, clock)
    settings.app.data_dir.mkdir(parents=True, exist_ok=True)
    signer = Signer(settings.secret_key(), settings.previous_keys())
    if signer.rotating:
        # A reminder, not a problem: an old key left in the ring keeps old sessions valid.
        log.warning(
            "SECURITY_PREVIOUS_KEYS holds %d old key(s): finish with `jijiao rotate-key`, then "
            "remove them (docs/operations.md)",
            len(settings.previous_keys()),
        )
    pii = Pii.from_signer(signer)
    database = await open_database(settings.database_url, pii, settings.database.timeout)
    if settings.app.demo_data and settings.local_mode:
        await seed_demo_once(clock, settings, pii)
    i18n = make_i18n()
    storage = make_storage(settings, pii)
    # Every Mini App button opens through /app/launch: served as the person launching it.
    webapp_url = f"{settings.base_url}/app/launch"
    bot = make_bot(settings)
    sessions = Sessions(signer, session_ttl=SESSION_TTL, link_ttl=settings.web.link_ttl)
    # One client for the instances' shared rate limits; closed with the app.
    redis = Redis.from_url(settings.redis.url) if settings.redis.url else None
    metrics = Metrics(pending=outbox_pending)
    services = build_services(
        bot=bot,
        i18n=i18n,
        clock=clock,
        webapp_url=webapp_url,
        sessions=sessions,
        provider=provider,
        fees=Fees(settings.payment.fee_fen, settings.payment.fees),
        staff_group_id=settings.staff_group_id,
        data_dir=settings.app.data_dir,
        signer=signer,
        base_url=settings.base_url,
        reminders=settings.reminders,
        study=settings.study,
        exam=settings.exam,
        redis=redis,
        metrics=metrics,
        reconcile_every=settings.payment.reconcile_every,
        staff_locale=settings.staff.language,
        desk_groups=settings.staff.desk_groups,
        sms=make_sms_sender(settings, clock),
    )
    accounts = services.handlers["accounts"]
    dispatcher = make_dispatcher(
        storage=storage,
        i18n=i18n,
        staff_group_id=settings.staff_group_id,
        metrics=metrics,
        **services.handlers,
    )
    app = make_web_app(
        config=WebConfig(
            bot_token=settings.bot_token,
            base_url=settings.base_url,
            initdata_max_age=settings.web.initdata_max_age,
            local_mode=settings.local_mode,
            metrics_token=(
                settings.web.metrics_token.get_secret_value()
                if settings.web.metrics_token
                else None
            ),
        ),
        i18n=i18n,
        sessions=sessions,
        clock=clock,
        accounts=accounts,
        # Liveness is this process answering: a database outage is for /readyz to report, and
        # restarting the app would not bring the database back.
        health_checks={},
        ready_checks=ready_checks(settings, redis, services.faces),
        metrics=metrics,
    )
    localchat = (
        make_localchat(settings, flood_limits, persist_localchat, clock)
        if settings.local_mode and settings.telegram.api_url is None
        else None
    )
    wechatlocal = make_wechatlocal(settings, clock, persist=persist_localchat)
    if wechatlocal is not None:
        # Before the local chat's /_local, so /_local/wechat and /_local/api/wechat are its.
        mount_wechatlocal(app, wechatlocal, WECHAT_LOCAL_PREFIX)
    sms = services.handlers["sms"]
    if settings.local_mode and isinstance(sms, SandboxSms):
        # Before the local chat's /_local: the codes a person walking the app needs to read.
        add_local_sms_routes(app, sms)
    if localchat is not None:
        app.add_subapp("/_local", make_localchat_app(localchat))
    add_payment_routes(
        app,
        PaymentWeb(
            providers=(
                dict(provider.providers)
                if isinstance(provider, ProviderChoice)
                else {provider.name: provider}
            ),
            apply_payment=services.apply_payment,
            find_order=services.payment_store.get,
            sandbox=sandbox_of(provider),
            choice=provider if isinstance(provider, ProviderChoice) else None,
            jsapi=make_jsapi_web(settings, provider, services, accounts, clock),
            notify_base=f"http://127.0.0.1:{settings.web.port}",
        ),
    )
    add_study_routes(app, StudyWeb(services.study))
    add_records_routes(
        app,
        RecordsWeb(
            Records(pii, services.study.courses, services.study.config.minutes_scale),
            services.exams.receipt_files,
            TelegramFiles(bot),
        ),
    )
    add_exam_routes(app, services.exams)
    add_application_routes(
        app,
        ApplicationWeb(
            SignedApplications(services.handlers["applications"], services.handlers["desk"])
        ),
    )
    add_console_routes(
        app,
        ConsoleWeb(
            ConsoleRecords(pii),
            StaffSessions(signer),
            ConsoleActions(
                services.handlers["applications"],
                services.handlers["desk"],
                services.handlers["attach_invoice"],
                services.handlers["correct_category"],
                tell=services.handlers["tell"],
            ),
            staff_group=settings.staff_group_id,
            answers=services.handlers["console_answers"],
            desk_log=services.handlers["desk_log"],
        ),
    )
    wechat_settings = settings.wechat_channel
    wechat = (
        make_wechat(
            wechat_settings,
            # WeChat has no "share my contact": a phone is proved by an SMS code.
            conversations=PhoneByCode(
                services.handlers["conversations"], services.handlers["phone_codes"], clock
            ),
            accounts=accounts,
            storage=storage,
            clock=clock,
            redis=redis,
            signer=signer,
            sessions=sessions,
            base_url=settings.base_url,
            # Staff's answers kept while WeChat's 48 hours were over go when the person writes.
            on_inbound=services.handlers["console_answers"].deliver_kept,
        )
        if wechat_settings is not None
        else None
    )
    if wechat is not None:
        add_wechat_routes(app, wechat)
        wechat_api = wechat.api
        services.handlers["console_answers"].wechat = lambda: wechat_api
        # Reminders and broadcasts to WeChat accounts: the same outbox, WeChat's transport.
        transport = WeChatTransport(
            wechat.api,
            clock,
            openid_of=accounts.external_id,
            last_inbound=accounts.last_inbound,
            templates=NoticeTemplates(
                settings.wechat.template_reminder,
                {ReminderKind.BROADCAST.value: settings.wechat.template_broadcast},
                subscription=settings.wechat.subscribe_template,
            ),
            fetch=functools.partial(wechat_picture, TelegramFiles(bot), services.exams),
            progress=TortoiseOutbox.note_delivered,
        )
        notices = WeChatNotices(i18n, wechat.replies, f"{settings.base_url}/app")
        services.handlers["outbox_sender"].add_channel("wechat", transport, notices)
        # Decisions and other words outside a turn, and the exam's turns on the product's
        # initiative (the receipt after a pass), to WeChat accounts: outbox rows, so a WeChat
        # outage or quota at that moment delays them instead of losing them.
        later = WeChatLater(
            TortoiseOutbox(),
            notices,
            wechat.replies,
            i18n,
            clock,
            openid_of=functools.partial(wechat_openid, accounts),
        )
        services.handlers["tell"].add("wechat", later)
        services.handlers["exam_notifier"].other_channel = later.turn
    inbox = Inbox(
        dispatcher,
        bot,
        TortoiseInbox(pii, bot.id),
        clock,
        claims=RedisClaims(redis) if redis is not None else LocalClaims(),
        config=InboxConfig(lease=timedelta(seconds=settings.telegram.inbox_lease_seconds)),
    )
    webhook: Webhook | None = None
    if settings.telegram.webhook_url:
        webhook = Webhook(dispatcher, bot, settings.webhook_secret(), inbox)
        webhook.register(app, path=WEBHOOK_PATH)
        setup_application(app, dispatcher, bot=bot)
    lease: Lease = RedisLease(redis) if redis is not None else NoLease()
    workers = Workers([*services.jobs, Job("prune_update_inbox", 3600, inbox.prune)], lease)

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    polling: asyncio.Task[None] | None = None
    try:
        await web.TCPSite(runner, settings.web.host, settings.web.port).start()
        await register_commands(bot, i18n)
        await register_menu_button(bot, i18n, webapp_url)
        if wechat is not None and settings.local_mode:
            # Local mode: the stand-in gets the menu at once (a server: `jijiao wechat-menu`).
            await publish_wechat_menu(wechat)
        # Updates a dead instance left unfinished are taken over from the first turn.
        inbox.start()
        workers.start()
        if webhook is not None:
            # Every instance sets the same webhook; none deletes it on the way out.
            await bot.set_webhook(
                f"{settings.telegram.webhook_url}{WEBHOOK_PATH}",
                secret_token=settings.webhook_secret(),
                drop_pending_updates=False,
                allowed_updates=dispatcher.resolve_used_update_types(),
            )
        else:
            # A webhook left from an earlier run would make getUpdates fail with a conflict.
            await bot.delete_webhook(drop_pending_updates=False)
            # aiogram's polling asks getMe once before its loop, where a failure ends the task
            # for good and the bot would go deaf: ask now, while a failure still stops the start.
            await bot.me()
            polling = asyncio.create_task(
                poll(bot, inbox, dispatcher.resolve_used_update_types()), name="polling"
            )
        yield Runtime(settings, bot, dispatcher, app, localchat, services, clock, wechatlocal)
    finally:
        await workers.stop()
        if webhook is not None:
            # New deliveries get 503 (Telegram retries them); those in flight finish while the
            # web server, the bot session (and the local chat) are still up.
            await webhook.drain(SHUTDOWN_GRACE)
        if polling is not None:
            await stop_task(polling)
        # What is still running after the grace is given back to the inbox, unfinished.
        await inbox.stop(0 if webhook is not None else SHUTDOWN_GRACE)
        await runner.cleanup()
        await bot.session.close()
        if wechat is not None:
            await wechat.api.close()
        await storage.close()
        if redis is not None:
            await redis.aclose()
        if localchat is not None:
            await localchat.close()
        services.faces.close()
        await database.close_connections()
