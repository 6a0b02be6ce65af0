"""WeChat's server API, as much as the channel calls: the access token, customer-service
messages (客服消息), temporary media, the custom menu and the OAuth code exchange. Every URL is
built from the configured base (WeChat's own, or the local stand-in's)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from domain.clock import Clock

log = logging.getLogger(__name__)

# The token is renewed this long before WeChat says it expires (its lifetime is 2 hours).
TOKEN_MARGIN = timedelta(minutes=5)
# Invalid or expired access token: fetch a new one and try once more.
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
TIMEOUT = aiohttp.ClientTimeout(total=10)


class WeChatError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass(frozen=True, slots=True)
class ApiConfig:
    appid: str
    appsecret: str
    api_base: str


class WeChatApi:
    def __init__(self, config: ApiConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._token: tuple[str, datetime] | None = None
        self._token_lock = asyncio.Lock()

    def _url(self, path: str) -> str:
        return f"{self._config.api_base}{path}"

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @staticmethod
    async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
        response.raise_for_status()
        body = json.loads(await response.read())
        if not isinstance(body, dict):
            raise WeChatError(-1, "not a JSON object")
        errcode = int(body.get("errcode") or 0)
        if errcode:
            raise WeChatError(errcode, str(body.get("errmsg", "")))
        return body

    async def access_token(self, *, renew: bool = False) -> str:
        async with self._token_lock:
            now = self._clock.now()
            if not renew and self._token is not None and self._token[1] > now:
                return self._token[0]
            params = {
                "grant_type": "client_credential",
                "appid": self._config.appid,
                "secret": self._config.appsecret,
            }
            async with self._http().get(self._url("/cgi-bin/token"), params=params) as response:
                body = await self._json(response)
            lifetime = timedelta(seconds=int(body.get("expires_in", 7200)))
            self._token = (str(body["access_token"]), now + lifetime - TOKEN_MARGIN)
            return self._token[0]

    async def _call(
        self,
        path: str,
        *,
        payload: Any = None,
        form: Callable[[], aiohttp.FormData] | None = None,
        **params: str,
    ) -> dict[str, Any]:
        for attempt in range(2):
            token = await self.access_token(renew=attempt > 0)
            query = {"access_token": token, **params}
            data: Any
            if form is not None:
                data = form()  # a form is read once: a retry builds it again
            else:
                data = json.dumps(payload, ensure_ascii=False).encode()
            headers = {} if form is not None else {"Content-Type": "application/json"}
            try:
                async with self._http().post(
                    self._url(path), params=query, data=data, headers=headers
                ) as response:
                    return await self._json(response)
            except WeChatError as error:
                if error.errcode not in TOKEN_ERRORS or attempt > 0:
                    raise
                log.info("WeChat access token refused (%s): renewing it", error.errcode)
        raise AssertionError("unreachable")

    async def send(self, openid: str, message: dict[str, Any]) -> None:
        """A customer-service message (text, msgmenu, image…): WeChat accepts it within 48 hours
        of the person's last message to us."""
        await self._call("/cgi-bin/message/custom/send", payload={"touser": openid, **message})

    async def upload(self, kind: str, filename: str, data: bytes) -> str:
        """Temporary media (3 days); its media_id."""

        def form() -> aiohttp.FormData:
            built = aiohttp.FormData()
            built.add_field("media", data, filename=filename)
            return built

        body = await self._call("/cgi-bin/media/upload", form=form, type=kind)
        return str(body["media_id"])

    async def download(self, media_id: str) -> bytes:
        """Temporary media a person sent us (a photo), by its media_id: the file, or
        WeChatError when WeChat answers with an error instead (expired, unknown)."""
        for attempt in range(2):
            token = await self.access_token(renew=attempt > 0)
            query = {"access_token": token, "media_id": media_id}
            async with self._http().get(self._url("/cgi-bin/media/get"), params=query) as response:
                if response.content_type not in ("application/json", "text/plain"):
                    response.raise_for_status()
                    return await response.read()
                try:
                    await self._json(response)  # an error is answered as JSON
                except WeChatError as error:
                    if error.errcode not in TOKEN_ERRORS or attempt > 0:
                        raise
                    continue
                raise WeChatError(-1, "media/get answered JSON without an error")
        raise AssertionError("unreachable")

    async def create_menu(self, menu: dict[str, Any]) -> None:
        await self._call("/cgi-bin/menu/create", payload=menu)

    async def openid_for(self, code: str) -> str:
        """OAuth (snsapi_base): the code WeChat gave the browser, exchanged for the openid."""
        params = {
            "appid": self._config.appid,
            "secret": self._config.appsecret,
            "code": code,
            "grant_type": "authorization_code",
        }
        async with self._http().get(
            self._url("/sns/oauth2/access_token"), params=params
        ) as response:
            body = await self._json(response)
        return str(body["openid"])

    async def template(self, openid: str, notice: dict[str, Any]) -> None:
        """A template message (模板消息): outside the 48-hour window too, to a follower."""
        await self._call("/cgi-bin/message/template/send", payload={"touser": openid, **notice})

    async def subscribe(self, openid: str, notice: dict[str, Any]) -> None:
        """A subscription notice (订阅通知, bizsend): only for a template the person accepted,
        and a one-time acceptance is used up by one notice (43101 otherwise)."""
        await self._call("/cgi-bin/message/subscribe/bizsend", payload={"touser": openid, **notice})
