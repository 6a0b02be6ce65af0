"""Every setting of the product, read once from the environment (and an optional `.env`).

Sections map to environment names by their first underscore: `TELEGRAM_BOT_TOKEN` is
`telegram.bot_token`, `DATABASE_URL` is `database.url`, `WEB_PORT` is `web.port`.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.desks import DeskId

LOCAL_BOT_TOKEN = "7000000001:local-development-token"
LOCAL_STAFF_GROUP_ID = -1001000000001
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class AppSection(BaseModel):
    data_dir: Path = Path("var")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    demo_data: bool = True


class TelegramSection(BaseModel):
    bot_token: SecretStr | None = None
    staff_group_id: int | None = None
    admin_ids: list[int] = Field(default_factory=list)
    # Public base URL Telegram posts updates to (the app serves them at /telegram/webhook);
    # unset: the bot long-polls.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    # Bot API server base, e.g. a self-hosted telegram-bot-api, or one local chat that several
    # instances share (tests/support/instances.py); unset: Telegram's own (or, in local mode,
    # the embedded local chat).
    api_url: str | None = None
    # Seconds a call to the Bot API may take before it counts as failed (and, for a reply, is
    # tried again: infra/telegram.py). Telegram answers in well under a second.
    request_timeout: float = Field(default=20, gt=0)
    # Seconds an update being handled stays with its instance unless renewed: after a crash,
    # how long until another instance (or the restarted one) handles it (bot/inbox.py).
    inbox_lease_seconds: float = Field(default=30, gt=0)

    @field_validator("webhook_url", "api_url")
    @classmethod
    def _webhook_absolute(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http(s) URL")
        return value.rstrip("/") if value else None

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        bot_id, _, rest = value.get_secret_value().partition(":")
        if not bot_id.isdigit() or not rest:
            raise ValueError("must look like 123456789:ABC... (the token BotFather gave you)")
        return value


class DatabaseSection(BaseModel):
    url: str | None = None
    # Seconds any one wait for PostgreSQL may take (a query, a new connection, a free one from
    # the pool; the server's statement_timeout too): past it, a hung database is an outage
    # ("temporarily unavailable") instead of a request waiting for the kernel. The app's
    # queries take milliseconds.
    timeout: float = Field(default=3, gt=0)

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite://", "postgres://", "postgresql://")):
            raise ValueError("must start with sqlite://, postgres:// or postgresql://")
        return value or None


class RedisSection(BaseModel):
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value or None


class WebSection(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_url: str | None = None
    initdata_max_age: int = Field(default=86400, gt=0)
    link_ttl: int = Field(default=3600, gt=0)
    # Bearer token for /metrics; unset: only this machine may scrape.
    metrics_token: SecretStr | None = None

    @field_validator("public_url")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http(s) URL")
        return value.rstrip("/") if value else None

    @field_validator("metrics_token")
    @classmethod
    def _token_or_none(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value() else None


PROVIDERS = ("sandbox", "wechatpay", "alipay")


class PaymentSection(BaseModel):
    provider: Literal["sandbox", "wechatpay", "alipay"] = "sandbox"
    # Several at once, comma separated (PAYMENT_PROVIDERS=wechatpay,alipay): the trainee gets
    # one QR code that opens the checkout of whichever app scanned it. Unset: `provider` alone.
    providers: str | None = None
    # The sandbox's checkout page marks orders paid for anyone: local mode only, unless a
    # staging server says so explicitly.
    sandbox_outside_local_mode: bool = False
    fee_fen: int = Field(default=30000, gt=0)
    # Seconds between asking the provider about open orders (a lost notification, S9).
    reconcile_every: float = Field(default=60, gt=0)
    fees: dict[str, int] = Field(default_factory=dict)
    wechat_mchid: str | None = None
    wechat_appid: str | None = None
    wechat_api_v3_key: SecretStr | None = None
    wechat_cert_serial_no: str | None = None
    wechat_private_key_path: Path | None = None
    wechat_public_key_path: Path | None = None
    wechat_public_key_id: str | None = None
    # WeChat Pay's API; only tests point it elsewhere (a loopback WeChat Pay).
    wechat_gateway: str = "https://api.mch.weixin.qq.com"
    alipay_app_id: str | None = None
    alipay_private_key_path: Path | None = None  # the application's private key (PEM)
    alipay_public_key_path: Path | None = None  # Alipay's public key (PEM), not the app's own
    alipay_seller_id: str | None = None  # the 2088… PID; notifications are checked against it
    alipay_gateway: str = "https://openapi.alipay.com/gateway.do"

    def enabled(self) -> tuple[str, ...]:
        if not self.providers:
            return (self.provider,)
        return tuple(dict.fromkeys(n.strip() for n in self.providers.split(",") if n.strip()))

    @model_validator(mode="after")
    def _providers_complete(self) -> PaymentSection:
        enabled = self.enabled()
        unknown = [name for name in enabled if name not in PROVIDERS]
        if unknown or not enabled:
            raise ValueError(f"PAYMENT_PROVIDERS takes {', '.join(PROVIDERS)}; not {unknown}")
        for provider, fields in (("wechatpay", WECHAT_FIELDS), ("alipay", ALIPAY_FIELDS)):
            if provider in enabled:
                for name in fields:
                    if not getattr(self, name):
                        raise ValueError(f"PAYMENT_{name.upper()} is required for {provider}")
        return self


WECHAT_FIELDS = (
    "wechat_mchid",
    "wechat_appid",
    "wechat_api_v3_key",
    "wechat_cert_serial_no",
    "wechat_private_key_path",
    "wechat_public_key_path",
    "wechat_public_key_id",
)
ALIPAY_FIELDS = ("alipay_app_id", "alipay_private_key_path", "alipay_public_key_path")


class SecuritySection(BaseModel):
    secret_key: SecretStr | None = None
    # During a key rotation (docs/operations.md): the keys SECURITY_SECRET_KEY replaced, comma
    # separated. They still open what they sealed and verify what they signed; nothing new is
    # sealed or signed with them.
    previous_keys: SecretStr | None = None


class ReminderSection(BaseModel):
    """Deadline reminders and the outbox sender (env `REMINDERS_*`)."""

    # Beijing time; equal start and end switch quiet hours off.
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    study_days: list[int] = Field(default_factory=lambda: [7, 3, 1, 0])
    cert_months: list[int] = Field(default_factory=lambda: [-3, -2, -1, 0, 1, 2])
    void_days: list[int] = Field(default_factory=lambda: [7])
    catchup_days: int = Field(default=3, ge=1, le=31)
    void_lookback_days: int = Field(default=30, ge=0)
    # Telegram: about 30 messages a second overall, 1 a second per chat, 20 a minute per group.
    global_per_second: float = Field(default=30, gt=0)
    private_per_second: float = Field(default=1, gt=0)
    group_per_minute: float = Field(default=20, gt=0)
    lease_seconds: float = Field(default=60, gt=0)
    max_attempts: int = Field(default=8, ge=1)
    scan_every: float = Field(default=600, gt=0)
    send_every: float = Field(default=2, gt=0)


class StudySection(BaseModel):
    """Lessons and face checks (env `STUDY_*`)."""

    # Local mode may use e.g. 0.02 so a lesson takes seconds; production keeps 1.0.
    minutes_scale: float = Field(default=1.0, gt=0)
    heartbeat_seconds: float = Field(default=15, gt=0)
    check_interval_seconds: float = Field(default=600, gt=0)
    check_answer_seconds: float = Field(default=60, gt=0)
    # Liveness: the check opening a lesson or an exam asks the trainee to turn their head.
    head_turn: bool = True
    # Face data is deleted this long after the trainee's last pass (nothing else studied).
    retention_days: int = Field(default=30, ge=0)


class ExamSection(BaseModel):
    """Timed exams (env `EXAM_*`)."""

    questions: int = Field(default=20, ge=1, le=100)
    time_limit_minutes: float = Field(default=60, gt=0)


class StaffSection(BaseModel):
    """The staff group (env `STAFF_*`)."""

    # What the whole group reads: trainee cards, topic notes, review and application cards.
    # A staff member's own commands answer in their own language (their Telegram language or
    # the one chosen with the bot), falling back to this one.
    language: Literal["zh_CN", "en"] = "zh_CN"
    # A desk's own staff group (docs/desks.md), e.g. STAFF_DESK_GROUPS='{"payment": -100123}':
    # its cases' topics open there. A desk not listed, and every desk when this is empty, uses
    # the staff group (TELEGRAM_STAFF_GROUP_ID).
    desk_groups: dict[DeskId, int] = {}


SMS_ENDPOINTS = {
    "aliyun": "https://dysmsapi.aliyuncs.com",
    "tencent": "https://sms.tencentcloudapi.com",
}


class SmsSection(BaseModel):
    """SMS codes that prove a phone where the channel has no "share my contact" (WeChat; env
    `SMS_*`). The sandbox sends nothing and shows the codes in local mode; Aliyun and Tencent
    Cloud need an approved signature and a verification-code template."""

    provider: Literal["sandbox", "aliyun", "tencent"] = "sandbox"
    access_key_id: str | None = None  # Tencent: the SecretId
    access_key_secret: SecretStr | None = None  # Tencent: the SecretKey
    sign_name: str | None = None
    template_code: str | None = None  # Tencent: the template id
    app_id: str | None = None  # Tencent only: the SmsSdkAppId
    region: str = "ap-guangzhou"  # Tencent only
    # The provider's API; unset: its public one. Tests point it at a local stand-in.
    endpoint: str | None = None

    @model_validator(mode="after")
    def _provider_complete(self) -> SmsSection:
        required = {
            "sandbox": (),
            "aliyun": ("access_key_id", "access_key_secret", "sign_name", "template_code"),
            "tencent": (
                "access_key_id",
                "access_key_secret",
                "sign_name",
                "template_code",
                "app_id",
            ),
        }[self.provider]
        for name in required:
            value = getattr(self, name)
            if not value or (isinstance(value, SecretStr) and not value.get_secret_value()):
                raise ValueError(f"SMS_{name.upper()} is required for SMS_PROVIDER={self.provider}")
        return self

    def api(self) -> str:
        return self.endpoint or SMS_ENDPOINTS.get(self.provider, "")


LOCAL_WECHAT_APPID = "wxlocal0000000001"
LOCAL_WECHAT_APPSECRET = "local-wechat-appsecret"
LOCAL_WECHAT_TOKEN = "localwechattoken"
# 43 characters of base64 (WeChat's EncodingAESKey shape): the local stand-in's, never a secret.
LOCAL_WECHAT_AES_KEY = "bG9jYWxqaWppYW93ZWNoYXRhZXNrZXkwMDAwMDAwMDA"
WECHAT_AES_KEY = re.compile(r"[A-Za-z0-9+/]{43}")
WECHAT_TOKEN = re.compile(r"[A-Za-z0-9]{3,32}")


class WechatSection(BaseModel):
    """The WeChat Official Account channel (env `WECHAT_*`, wechat/). Off unless APPID,
    APPSECRET and TOKEN are set; local mode talks to the WeChat stand-in with local values."""

    appid: str | None = None
    appsecret: SecretStr | None = None
    # The callback's token (服务器配置 Token): signs what WeChat posts to /wechat/callback.
    token: SecretStr | None = None
    # Safe mode's EncodingAESKey (43 characters); unset: plaintext mode only.
    encoding_aes_key: SecretStr | None = None
    # WeChat's API and its OAuth page; unset: WeChat's own (in local mode, the stand-in's).
    api_base: str | None = None
    open_base: str | None = None
    # Template message ids (模板消息) for reminders and broadcasts outside the 48-hour window
    # (WECHAT_TEMPLATE_REMINDER, WECHAT_TEMPLATE_BROADCAST); the defaults suit the stand-in.
    template_reminder: str = "jijiao-reminder"
    template_broadcast: str = "jijiao-broadcast"
    # The subscription-notice template (订阅通知, WECHAT_SUBSCRIBE_TEMPLATE) tried before the
    # template message for a person who accepted it; "" for none.
    subscribe_template: str = "jijiao-subscribe"

    @field_validator("api_base", "open_base")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http(s) URL")
        return value.rstrip("/") if value else None

    @field_validator("appsecret", "token", "encoding_aes_key")
    @classmethod
    def _secret_or_none(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value() else None

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WECHAT_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("must be 3-32 letters and digits (WeChat's rule)")
        return value

    @field_validator("encoding_aes_key")
    @classmethod
    def _aes_key_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WECHAT_AES_KEY.fullmatch(value.get_secret_value()):
            raise ValueError("must be the 43 characters WeChat generated (EncodingAESKey)")
        return value

    @property
    def configured(self) -> bool:
        return bool(self.appid and self.appsecret and self.token)


WECHAT_API = "https://api.weixin.qq.com"
WECHAT_OPEN = "https://open.weixin.qq.com"


@dataclass(frozen=True, slots=True)
class WechatSettings:
    """The channel's settings once resolved (local defaults filled in)."""

    appid: str
    appsecret: str
    token: str
    encoding_aes_key: str | None
    api_base: str
    open_base: str


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="ignore",
    )

    app: AppSection = AppSection()
    telegram: TelegramSection = TelegramSection()
    exam: ExamSection = ExamSection()
    database: DatabaseSection = DatabaseSection()
    redis: RedisSection = RedisSection()
    web: WebSection = WebSection()
    payment: PaymentSection = PaymentSection()
    security: SecuritySection = SecuritySection()
    study: StudySection = StudySection()
    reminders: ReminderSection = ReminderSection()
    staff: StaffSection = StaffSection()
    sms: SmsSection = SmsSection()
    wechat: WechatSection = WechatSection()

    @property
    def local_mode(self) -> bool:
        """No Telegram token: the local chat stands in for Telegram."""
        return self.telegram.bot_token is None

    @property
    def bot_token(self) -> str:
        token = self.telegram.bot_token
        return token.get_secret_value() if token else LOCAL_BOT_TOKEN

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite://{self.app.data_dir / 'jijiao.sqlite3'}"

    @property
    def base_url(self) -> str:
        return self.web.public_url or f"http://{self.web.host}:{self.web.port}"

    @property
    def staff_group_id(self) -> int | None:
        if self.telegram.staff_group_id is not None:
            return self.telegram.staff_group_id
        return LOCAL_STAFF_GROUP_ID if self.local_mode else None

    @property
    def wechat_channel(self) -> WechatSettings | None:
        """The WeChat channel's settings, or None when it is off: configured by WECHAT_*, or
        in local mode the WeChat stand-in's (mounted at /_local/wechat) unless set."""
        wechat = self.wechat
        if wechat.configured:
            assert wechat.appid and wechat.appsecret and wechat.token
            aes_key = wechat.encoding_aes_key
            return WechatSettings(
                appid=wechat.appid,
                appsecret=wechat.appsecret.get_secret_value(),
                token=wechat.token.get_secret_value(),
                encoding_aes_key=aes_key.get_secret_value() if aes_key else None,
                api_base=wechat.api_base or self._local_wechat_base(WECHAT_API),
                open_base=wechat.open_base or self._local_wechat_base(WECHAT_OPEN),
            )
        if not self.local_mode:
            return None
        stand_in = self._local_wechat_base(WECHAT_API)
        return WechatSettings(
            appid=LOCAL_WECHAT_APPID,
            appsecret=LOCAL_WECHAT_APPSECRET,
            token=LOCAL_WECHAT_TOKEN,
            encoding_aes_key=LOCAL_WECHAT_AES_KEY,
            api_base=wechat.api_base or stand_in,
            open_base=wechat.open_base or stand_in,
        )

    def _local_wechat_base(self, production: str) -> str:
        if self.local_mode:
            return f"http://127.0.0.1:{self.web.port}/_local/wechat"
        return production

    def webhook_secret(self) -> str:
        secret = self.telegram.webhook_secret
        if secret is None:
            raise SettingsError(
                "TELEGRAM_WEBHOOK_SECRET", "is required when TELEGRAM_WEBHOOK_URL is set"
            )
        return secret.get_secret_value()

    def secret_key(self) -> bytes:
        """The key behind signed links; local mode keeps a generated one in the data dir."""
        if self.security.secret_key is not None:
            return self.security.secret_key.get_secret_value().encode()
        if not self.local_mode:
            raise SettingsError("SECURITY_SECRET_KEY", "is required when TELEGRAM_BOT_TOKEN is set")
        path = self.app.data_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()

    def previous_keys(self) -> list[bytes]:
        keys = self.security.previous_keys
        if keys is None:
            return []
        return [key.strip().encode() for key in keys.get_secret_value().split(",") if key.strip()]


class SettingsError(Exception):
    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name} {problem}")
        self.name = name
        self.problem = problem


def load_settings(**overrides: object) -> Settings:
    """Build the settings or raise SettingsError naming the first bad environment variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = "_".join(str(part) for part in error["loc"] if not isinstance(part, int)).upper()
        raise SettingsError(name, error["msg"]) from None
    if not settings.local_mode and settings.security.secret_key is None:
        raise SettingsError("SECURITY_SECRET_KEY", "is required when TELEGRAM_BOT_TOKEN is set")
    if any(len(key) < 16 for key in settings.previous_keys()):
        raise SettingsError("SECURITY_PREVIOUS_KEYS", "every key must be at least 16 bytes")
    if settings.local_mode and not _loopback(settings.web.host):
        raise SettingsError(
            "WEB_HOST",
            "local mode (no TELEGRAM_BOT_TOKEN) listens on this machine only: its chat page lets "
            "anyone act as any user. Set TELEGRAM_BOT_TOKEN for a server",
        )
    wechat = settings.wechat
    if any((wechat.appid, wechat.appsecret, wechat.token)) and not wechat.configured:
        missing = next(
            name
            for name, value in (
                ("WECHAT_APPID", wechat.appid),
                ("WECHAT_APPSECRET", wechat.appsecret),
                ("WECHAT_TOKEN", wechat.token),
            )
            if not value
        )
        raise SettingsError(
            missing,
            "is required for the WeChat channel (WECHAT_APPID, "
            "WECHAT_APPSECRET and WECHAT_TOKEN together)",
        )
    telegram = settings.telegram
    if telegram.webhook_url:
        settings.webhook_secret()
        # A self-hosted Bot API server (--local) also posts to http:// webhooks.
        if (
            not settings.local_mode
            and not telegram.api_url
            and not telegram.webhook_url.startswith("https://")
        ):
            raise SettingsError("TELEGRAM_WEBHOOK_URL", "must be https:// (Telegram's rule)")
    return settings


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
