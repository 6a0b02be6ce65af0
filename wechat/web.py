"""WeChat's routes on the product's aiohttp app: the callback and the OAuth sign-in."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from domain.accounts import ChatAccount
from texts import wechat as texts
from wechat.api import WeChatApi
from wechat.channel import WeChatChannel, WeChatReplies
from wechat.oauth import OAuth, SignInRefused
from wechat.protocol import Callbacks, Refused

log = logging.getLogger(__name__)

CALLBACK_PATH = "/wechat/callback"
# Starts the person's web view session on the response: the composition root's (it knows the
# web view's cookie), so the channel imports no web view.
SignIn = Callable[[ChatAccount, web.StreamResponse], None]
# What WeChat takes for "received, nothing to say" (and stops retrying).
SUCCESS = "success"


@dataclass
class WeChatWeb:
    callbacks: Callbacks
    channel: WeChatChannel
    oauth: OAuth
    sign_in: SignIn
    api: WeChatApi
    replies: WeChatReplies


WECHAT = web.AppKey("wechat", WeChatWeb)


def _text(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/plain")


async def verify(request: web.Request) -> web.Response:
    """WeChat checks the server URL: the echo proves we hold the token."""
    try:
        echo = request.app[WECHAT].callbacks.verify_url(request.query)
    except Refused as refused:
        log.warning("WeChat URL verification refused: %s", refused.reason)
        return _text("forbidden", 403)
    return _text(echo)


async def callback(request: web.Request) -> web.Response:
    wechat = request.app[WECHAT]
    body = await request.read()
    try:
        inbound = await wechat.callbacks.open(request.query, body)
    except Refused as refused:
        if refused.reason == "replayed":
            # Nothing handled; "success" so that a genuine duplicate delivery stops.
            log.warning("WeChat callback replayed: ignored")
            return _text(SUCCESS)
        log.warning("WeChat callback refused: %s", refused.reason)
        return _text("forbidden", 403)
    if not await wechat.callbacks.first_delivery(inbound):
        log.info("WeChat retried %s: answered once already", inbound.dedup_key)
        return _text(SUCCESS)
    try:
        reply = await wechat.channel.handle(inbound.message)
    except BaseException:
        await wechat.callbacks.undeliver(inbound)
        raise
    if reply is None:
        return _text(SUCCESS)
    return web.Response(
        text=wechat.callbacks.answer(inbound, reply), content_type="application/xml"
    )


async def oauth_start(request: web.Request) -> web.Response:
    url = await request.app[WECHAT].oauth.authorize_url(request.query.get("next"))
    raise web.HTTPFound(url)


async def oauth_return(request: web.Request) -> web.Response:
    wechat = request.app[WECHAT]
    try:
        account, next_path = await wechat.oauth.finish(
            request.query.get("code", ""), request.query.get("state", "")
        )
    except SignInRefused as refused:
        log.warning("WeChat sign-in refused: %s", refused.reason)
        unavailable = refused.reason.startswith("code:")
        words = texts.sign_in_unavailable() if unavailable else texts.sign_in_refused()
        return _text(words, 502 if unavailable else 403)
    redirect = web.HTTPFound(next_path)
    redirect.headers["Cache-Control"] = "no-store"
    wechat.sign_in(account, redirect)
    raise redirect


def add_wechat_routes(app: web.Application, wechat: WeChatWeb) -> None:
    app[WECHAT] = wechat
    app.router.add_get(CALLBACK_PATH, verify, name="wechat_verify")
    app.router.add_post(CALLBACK_PATH, callback, name="wechat_callback")
    app.router.add_get("/wechat/oauth", oauth_start, name="wechat_oauth")
    app.router.add_get("/wechat/oauth/return", oauth_return, name="wechat_oauth_return")
