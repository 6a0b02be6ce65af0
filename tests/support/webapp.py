"""Telegram Mini App initData, signed the way Telegram signs it; the web view the Mini App
tests serve."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from domain.clock import Clock
from infra.repositories.accounts import TortoiseAccountRepository
from webview.app import make_web_app
from webview.auth import Sessions
from webview.keys import WebConfig


def init_data(token: str, user: dict[str, object], auth_date: datetime) -> str:
    fields = {
        "query_id": "AAH-test",
        "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False),
        "auth_date": str(int(auth_date.timestamp())),
    }
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


def signed_in_web_app(
    i18n: Any, clock: Clock, sessions: Sessions, **options: Any
) -> web.Application:
    """The web view as the Mini App tests serve it: the test bot's token, a local base URL,
    accounts in the database and a database that is always up; features add their routes.
    `options` replace any of these (`config`, `health_checks`) or add the other arguments of
    `make_web_app` (`metrics`, `ready_checks`)."""
    from tests.support.harness import TEST_TOKEN

    async def alive() -> None:
        return None

    arguments: dict[str, Any] = {
        "config": WebConfig(TEST_TOKEN, "http://127.0.0.1", 3600, True),
        "accounts": TortoiseAccountRepository(),
        "health_checks": {"database": alive},
    }
    return make_web_app(i18n=i18n, sessions=sessions, clock=clock, **{**arguments, **options})
