from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from domain.clock import Clock
from infra.metrics import Metrics
from infra.repositories.accounts import TortoiseAccountRepository
from texts.i18n import Catalogs
from webview.auth import Sessions


@dataclass(frozen=True, slots=True)
class WebConfig:
    bot_token: str
    base_url: str
    initdata_max_age: int
    local_mode: bool
    # Unset: /metrics answers loopback clients only.
    metrics_token: str | None = None


CONFIG = web.AppKey("config", WebConfig)
I18N = web.AppKey("i18n", Catalogs)
SESSIONS = web.AppKey("sessions", Sessions)
CLOCK = web.AppKey("clock", Clock)
ACCOUNTS = web.AppKey("accounts", TortoiseAccountRepository)
HEALTH_CHECKS = web.AppKey("health_checks", dict[str, Callable[[], Awaitable[None]]])
READY_CHECKS = web.AppKey("ready_checks", dict[str, Callable[[], Awaitable[None]]])
METRICS = web.AppKey("metrics", Metrics)
