"""The web view: an aiohttp app serving the Telegram Mini App and public pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from domain.clock import Clock
from infra.metrics import Metrics
from infra.repositories.accounts import TortoiseAccountRepository
from texts.i18n import Catalogs
from webview import keys, middlewares, views
from webview.auth import Sessions
from webview.keys import WebConfig
from webview.metrics import metrics_view, request_metrics

HERE = Path(__file__).resolve().parent
MAX_BODY = 8 * 1024 * 1024


def make_web_app(
    *,
    config: WebConfig,
    i18n: Catalogs,
    sessions: Sessions,
    clock: Clock,
    accounts: TortoiseAccountRepository,
    health_checks: dict[str, Callable[[], Awaitable[None]]],
    ready_checks: dict[str, Callable[[], Awaitable[None]]] | None = None,
    metrics: Metrics | None = None,
) -> web.Application:
    """`health_checks` answer /healthz (liveness); `ready_checks` answer /readyz (may this
    instance take traffic), the health checks when not given. With `metrics`, every request
    is counted and /metrics serves them."""
    # Outermost: the status counted is the one the client got, error pages included.
    observed = [] if metrics is None else [request_metrics(metrics)]
    app = web.Application(
        middlewares=[
            middlewares.request_id,
            *observed,
            middlewares.viewer_and_locale,
            middlewares.errors,
        ],
        client_max_size=MAX_BODY,
    )
    if metrics is not None:
        app[keys.METRICS] = metrics
    app.on_response_prepare.append(middlewares.security_headers)
    app[keys.CONFIG] = config
    app[keys.I18N] = i18n
    app[keys.SESSIONS] = sessions
    app[keys.CLOCK] = clock
    app[keys.ACCOUNTS] = accounts
    app[keys.HEALTH_CHECKS] = health_checks
    app[keys.READY_CHECKS] = health_checks if ready_checks is None else ready_checks

    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.gettext, newstyle=True
    )

    app.router.add_get("/", views.index, name="index")
    app.router.add_get("/app", views.miniapp, name="miniapp")
    app.router.add_get("/app/launch", views.launch, name="launch")
    app.router.add_get("/app/launch/{tail:.+}", views.launch, name="launch_page")
    app.router.add_post("/app/auth", views.auth_with_init_data, name="auth")
    app.router.add_get("/app/login", views.login_with_link, name="login")
    app.router.add_get("/app/api/me", views.me, name="me")
    app.router.add_get("/healthz", views.healthz, name="healthz")
    app.router.add_get("/readyz", views.readyz, name="readyz")
    if metrics is not None:
        app.router.add_get("/metrics", metrics_view, name="metrics")
    app.router.add_static("/static/", HERE / "static", name="static")
    return app
