"""Into the web view from WeChat, signed in (网页授权, snsapi_base): the link
`/wechat/oauth?next=/app/…` sends the browser to WeChat's authorize page with a state that is
ours, signed and good once; WeChat sends it back with a code, exchanged for the openid, and the
person's web view session starts. snsapi_base asks the person nothing (no consent page)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from domain.accounts import ChatAccount
from wechat.api import WeChatApi, WeChatError
from wechat.channel import CHANNEL, DEFAULT_LANGUAGE, UNNAMED, Accounts
from wechat.store import Memo

# A page of the web view, with its query string: nothing else may follow a sign-in.
NEXT = re.compile(r"/app(/[A-Za-z0-9_\-/]{0,200})?(\?[A-Za-z0-9_=&%.\-]{0,300})?")
# WeChat's state: letters and digits, at most 128 bytes.
STATE = re.compile(r"([0-9a-f]{32})([0-9a-f]{32})")
STATE_TTL = timedelta(minutes=10)
DEFAULT_NEXT = "/app"


class SignInRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class OAuthConfig:
    appid: str
    open_base: str
    base_url: str  # ours, for the redirect_uri


def safe_next(value: str | None) -> str:
    if value and NEXT.fullmatch(value) and "//" not in value:
        return value
    return DEFAULT_NEXT


class OAuth:
    def __init__(
        self,
        config: OAuthConfig,
        *,
        api: WeChatApi,
        accounts: Accounts,
        memo: Memo,
        key: bytes,
    ) -> None:
        self._config = config
        self._api = api
        self._accounts = accounts
        self._memo = memo
        self._key = key

    def _mac(self, nonce: str) -> str:
        return hmac.new(self._key, f"wechat-oauth\n{nonce}".encode(), hashlib.sha256).hexdigest()[
            :32
        ]

    async def authorize_url(self, next_path: str | None) -> str:
        nonce = secrets.token_hex(16)
        await self._memo.put(f"oauth:{nonce}", safe_next(next_path), STATE_TTL)
        query = urlencode(
            {
                "appid": self._config.appid,
                "redirect_uri": f"{self._config.base_url}/wechat/oauth/return",
                "response_type": "code",
                "scope": "snsapi_base",
                "state": nonce + self._mac(nonce),
            }
        )
        return f"{self._config.open_base}/connect/oauth2/authorize?{query}#wechat_redirect"

    async def finish(self, code: str, state: str) -> tuple[ChatAccount, str]:
        """The person the code names and the page they asked for; a forged, expired or used
        state is refused before WeChat is asked anything."""
        match = STATE.fullmatch(state)
        if match is None or not hmac.compare_digest(self._mac(match[1]), match[2]):
            raise SignInRefused("forged_state")
        next_path = await self._memo.take(f"oauth:{match[1]}")
        if next_path is None:
            raise SignInRefused("used_state")
        if not code:
            raise SignInRefused("no_code")  # the person refused, or WeChat sent none
        try:
            openid = await self._api.openid_for(code)
        except WeChatError as error:
            raise SignInRefused(f"code:{error.errcode}") from None
        account = await self._accounts.seen_on(CHANNEL, openid, UNNAMED, DEFAULT_LANGUAGE)
        return account, safe_next(next_path)
