"""The stand-in as two aiohttp sub-applications: WeChat's own endpoints (with OAuth and the
phone page) under `{prefix}/wechat`, and the JSON API that plays the users under
`{prefix}/api/wechat`."""

import base64
import html
import ipaddress
import json
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import BodyPartReader, web
from yarl import URL

from wechatlocal.state import ApiError, AuthorizeError, Json, WeChatError, WeChatLocal

log = logging.getLogger(__name__)

WECHATLOCAL_KEY = web.AppKey("wechatlocal", WeChatLocal)
STATIC_DIR = Path(__file__).parent / "static"
JSON_LIMIT = 64 * 1024
MEDIA_LIMIT = 10 * 1024 * 1024 + JSON_LIMIT
MAX_WAIT = 60
OPENID_COOKIE = "wxlocal_openid"
_INT = re.compile(r"\d{1,18}")
_ASSET = re.compile(r"[A-Za-z0-9_-]+\.(?:js|css|svg)")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: http: https:",
        "frame-src 'self' http: https:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
    ]
)


def json_reply(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/json",
    )


# -- WeChat's API ---------------------------------------------------------------------------


@web.middleware
async def wechat_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except WeChatError as exc:
        return json_reply(exc.to_json())
    except ApiError as exc:
        return json_reply(exc.to_json(), exc.code)


async def _json_body(request: web.Request) -> Json:
    raw = await request.read()
    if not raw:
        raise WeChatError(44002)
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise WeChatError(47001, "not JSON") from exc
    if not isinstance(body, dict):
        raise WeChatError(47001, "not a JSON object")
    return body


def add_wechat_routes(app: web.Application, wx: WeChatLocal) -> None:
    def authorized(request: web.Request) -> None:
        wx.check_token(request.query.get("access_token"))

    async def token(request: web.Request) -> web.Response:
        q = request.query
        return json_reply(wx.issue_token(q.get("grant_type"), q.get("appid"), q.get("secret")))

    async def stable_token(request: web.Request) -> web.Response:
        return json_reply(wx.stable_token(await _json_body(request)))

    async def custom_send(request: web.Request) -> web.Response:
        authorized(request)
        return json_reply(wx.custom_send(await _json_body(request)))

    async def template_send(request: web.Request) -> web.Response:
        authorized(request)
        return json_reply(wx.template_send(await _json_body(request)))

    async def subscribe_send(request: web.Request) -> web.Response:
        authorized(request)
        return json_reply(wx.subscribe_send(await _json_body(request)))

    async def media_upload(request: web.Request) -> web.Response:
        authorized(request)
        kind = request.query.get("type")
        if not request.content_type.startswith("multipart/"):
            raise WeChatError(41005)
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name != "media":
                continue
            data = await part.read(decode=True)
            filename = part.filename or "media"
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            return json_reply(wx.upload_media(kind, filename, content_type, bytes(data)))
        raise WeChatError(41005)

    async def media_get(request: web.Request) -> web.Response:
        authorized(request)
        media = wx.get_media(request.query.get("media_id"))
        return web.Response(
            body=media.data,
            content_type=media.content_type,
            headers={"Content-disposition": f'attachment; filename="{quote(media.filename)}"'},
        )

    async def menu_create(request: web.Request) -> web.Response:
        authorized(request)
        return json_reply(wx.menu_create(await _json_body(request)))

    async def menu_get(request: web.Request) -> web.Response:
        authorized(request)
        return json_reply(wx.menu_get())

    async def menu_delete(request: web.Request) -> web.Response:
        authorized(request)
        return json_reply(wx.menu_delete())

    async def selfmenu(request: web.Request) -> web.Response:
        authorized(request)
        return json_reply(wx.selfmenu_info())

    async def user_info(request: web.Request) -> web.Response:
        authorized(request)
        return json_reply(wx.user_info(request.query.get("openid")))

    async def authorize(request: web.Request) -> web.Response:
        q = request.query
        openid = q.get("openid") or request.cookies.get(OPENID_COOKIE)
        try:
            target = wx.authorize(
                appid=q.get("appid"),
                redirect_uri=q.get("redirect_uri"),
                response_type=q.get("response_type"),
                scope=q.get("scope"),
                state=q.get("state"),
                openid=openid,
            )
        except AuthorizeError as exc:
            page = (
                '<!doctype html><meta charset="utf-8"><meta name="viewport" '
                'content="width=device-width"><title>微信</title>'
                f"<p>{html.escape(exc.text)}</p><p>errcode {exc.code}</p>"
            )
            return web.Response(text=page, content_type="text/html", status=400)
        raise web.HTTPFound(target)

    async def sns_token(request: web.Request) -> web.Response:
        q = request.query
        return json_reply(
            wx.oauth_access_token(
                q.get("appid"), q.get("secret"), q.get("code"), q.get("grant_type")
            )
        )

    async def open_link(request: web.Request) -> web.Response:
        """The phone page opens links through here: remembers who is holding the phone (for
        OAuth's authorize) and goes on."""
        openid = request.query.get("openid", "")
        url = request.query.get("url", "")
        relative = url.startswith("/") and not url.startswith("//")
        if openid not in wx.users or not (relative or url.startswith(("http://", "https://"))):
            raise web.HTTPBadRequest(text="openid of a known user and an http(s) url are needed")
        # As given: the link's own encoding (redirect_uri inside it) is kept byte for byte.
        response = web.HTTPFound(URL(url, encoded=True))
        response.set_cookie(OPENID_COOKIE, openid, path="/", httponly=True, samesite="Lax")
        raise response

    r = app.router
    r.add_get("/cgi-bin/token", token)
    r.add_post("/cgi-bin/stable_token", stable_token)
    r.add_post("/cgi-bin/message/custom/send", custom_send)
    r.add_post("/cgi-bin/message/template/send", template_send)
    r.add_post("/cgi-bin/message/subscribe/bizsend", subscribe_send)
    r.add_post("/cgi-bin/media/upload", media_upload)
    r.add_get("/cgi-bin/media/get", media_get)
    r.add_post("/cgi-bin/menu/create", menu_create)
    r.add_get("/cgi-bin/menu/get", menu_get)
    r.add_get("/cgi-bin/menu/delete", menu_delete)
    r.add_get("/cgi-bin/get_current_selfmenu_info", selfmenu)
    r.add_get("/cgi-bin/user/info", user_info)
    r.add_get("/connect/oauth2/authorize", authorize)
    r.add_get("/sns/oauth2/access_token", sns_token)
    r.add_get("/open", open_link)


# -- the phone page -------------------------------------------------------------------------


_SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def add_page_routes(app: web.Application, api_base: str) -> None:
    template = (STATIC_DIR / "phone.html").read_text(encoding="utf-8")
    assets = {path.name for path in STATIC_DIR.iterdir() if _ASSET.fullmatch(path.name)}

    async def phone(request: web.Request) -> web.Response:
        base = str(request.app.router["wechatlocal-phone"].url_for()).rsplit("/", 1)[0]
        body = template.replace("{{base}}", html.escape(base, quote=True)).replace(
            "{{api}}", html.escape(api_base, quote=True)
        )
        return web.Response(
            text=body,
            content_type="text/html",
            headers={
                "Content-Security-Policy": CONTENT_SECURITY_POLICY,
                "Cache-Control": "no-cache",
                **_SECURITY_HEADERS,
            },
        )

    async def asset(request: web.Request) -> web.FileResponse:
        name = request.match_info["name"]
        if name not in assets:
            raise web.HTTPNotFound()
        return web.FileResponse(
            STATIC_DIR / name, headers={"Cache-Control": "no-cache", **_SECURITY_HEADERS}
        )

    app.router.add_get("/phone", phone, name="wechatlocal-phone")
    app.router.add_get("/static/{name}", asset)


# -- the JSON API that plays the users ------------------------------------------------------


def _loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@web.middleware
async def same_origin_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The JSON API acts as any user: only this machine's page or scripts may drive it."""
    reason = None
    if not _loopback(urlsplit(f"//{request.host}").hostname or ""):
        reason = "host"
    elif request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        reason = "fetch-site"
    else:
        origin = request.headers.get("Origin")
        if origin is not None:
            parts = urlsplit(origin)
            if parts.netloc.lower() != request.host.lower():
                reason = "origin"
    if reason is not None:
        log.warning(
            "wechatlocal: %s %s refused: cross-site (%s)", request.method, request.path, reason
        )
        return json_reply(ApiError(403, "Forbidden: cross-site request").to_json(), 403)
    return await handler(request)


@web.middleware
async def api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return json_reply(exc.to_json(), exc.code)
    except WeChatError as exc:
        return json_reply(ApiError(400, exc.errmsg).to_json(), 400)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return json_reply(ApiError(exc.status, exc.reason).to_json(), exc.status)


async def _api_body(request: web.Request) -> Json:
    raw = await request.read()
    if len(raw) > JSON_LIMIT:
        raise ApiError(413, "body too large")
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise ApiError(400, "the body must be JSON") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def _query_number(request: web.Request, name: str) -> int:
    raw = request.query.get(name, "").strip()
    if raw == "":
        return 0
    if not _INT.fullmatch(raw):
        raise ApiError(400, f"{name} must be a non-negative integer")
    return int(raw)


def add_user_api_routes(app: web.Application, wx: WeChatLocal) -> None:
    async def config(request: web.Request) -> web.Response:
        c = wx.config
        return json_reply(
            {
                "ok": True,
                "appid": c.appid,
                "token": c.token,
                "encoding_aes_key": c.encoding_aes_key,
                "safe_mode": c.safe_mode,
                "callback_url": c.callback_url,
                "original_id": c.original_id,
                "account_name": c.account_name,
            }
        )

    async def users(request: web.Request) -> web.Response:
        return json_reply({"ok": True, "result": wx.list_users()})

    async def create_user(request: web.Request) -> web.Response:
        body = await _api_body(request)
        openid, nickname = body.get("openid"), body.get("nickname")
        if openid is not None and not isinstance(openid, str):
            raise ApiError(400, "openid must be a string")
        if nickname is not None and not isinstance(nickname, str):
            raise ApiError(400, "nickname must be a string")
        user = wx.ensure_user(openid, nickname, follows=bool(body.get("follows")))
        return json_reply({"ok": True, "result": user.to_json(wx.now())})

    async def user(request: web.Request) -> web.Response:
        found = wx.user(request.match_info["openid"])
        return json_reply({"ok": True, "result": found.to_json(wx.now())})

    async def send(request: web.Request) -> web.Response:
        openid = request.match_info["openid"]
        body = await _api_body(request)
        if "text" in body:
            if not isinstance(body["text"], str):
                raise ApiError(400, "text must be a string")
            result = await wx.send_text(openid, body["text"])
        elif "image" in body:  # base64, as a phone page or a test sends a photo
            try:
                data = base64.b64decode(str(body["image"]), validate=True)
            except ValueError as exc:
                raise ApiError(400, "image must be base64") from exc
            result = await wx.send_image(openid, data)
        elif "menu_choice" in body:
            result = await wx.choose(openid, str(body["menu_choice"]))
        elif "event" in body:
            event, key = body["event"], body.get("key")
            status = body.get("status", "accept")
            if not isinstance(event, str) or (key is not None and not isinstance(key, str)):
                raise ApiError(400, "event and key must be strings")
            if not isinstance(status, str):
                raise ApiError(400, "status must be a string")
            result = await wx.send_event(openid, event, key, status=status)
        else:
            raise ApiError(400, 'send {"text"}, {"image"}, {"event", "key"} or {"menu_choice"}')
        return json_reply({"ok": True, "result": result})

    async def messages(request: web.Request) -> web.Response:
        openid = request.match_info["openid"]
        wx.user(openid)
        wait = min(_query_number(request, "wait"), MAX_WAIT)
        include_user = request.query.get("all", "") in ("1", "true")
        found = await wx.wait_messages(
            openid, _query_number(request, "after"), include_user=include_user, wait=wait
        )
        return json_reply({"ok": True, "messages": found})

    async def media(request: web.Request) -> web.Response:
        wx.user(request.match_info["openid"])
        try:
            item = wx.get_media(request.match_info["media_id"])
        except WeChatError as exc:
            raise ApiError(404, "no such media") from exc
        return web.Response(
            body=item.data,
            content_type=item.content_type,
            headers={"Cache-Control": "private, max-age=3600", **_SECURITY_HEADERS},
        )

    async def pay(request: web.Request) -> web.Response:
        body = await _api_body(request)
        bridge = body.get("bridge")
        if not isinstance(bridge, dict):
            raise ApiError(400, 'send {"bridge": {appId, timeStamp, nonceStr, package, ...}}')
        result = await wx.pay_jsapi(request.match_info["openid"], bridge)
        return json_reply({"ok": True, "result": result})

    async def menu(request: web.Request) -> web.Response:
        return json_reply({"ok": True, "result": wx.menu})

    async def stats(request: web.Request) -> web.Response:
        return json_reply({"ok": True, "result": wx.stats.to_json()})

    async def notices(request: web.Request) -> web.Response:
        body = await _api_body(request)
        wx.refuse_notices(request.match_info["openid"], bool(body.get("refuse", True)))
        return json_reply({"ok": True})

    async def verify(request: web.Request) -> web.Response:
        return json_reply({"ok": True, "result": await wx.verify_callback()})

    r = app.router
    r.add_get("/config", config)
    r.add_get("/users", users)
    r.add_post("/users", create_user)
    r.add_get("/users/{openid}", user)
    r.add_post("/users/{openid}/send", send)
    r.add_post("/users/{openid}/notices", notices)
    r.add_post("/users/{openid}/pay", pay)
    r.add_get("/users/{openid}/messages", messages)
    r.add_get("/users/{openid}/media/{media_id}", media)
    r.add_get("/menu", menu)
    r.add_get("/stats", stats)
    r.add_post("/verify", verify)


# -- assembling -----------------------------------------------------------------------------


def make_wechat_app(wx: WeChatLocal, *, api_base: str) -> web.Application:
    """WeChat's endpoints, OAuth and the phone page; `api_base` is where the JSON API is."""
    app = web.Application(middlewares=[wechat_errors], client_max_size=MEDIA_LIMIT)
    app[WECHATLOCAL_KEY] = wx
    add_wechat_routes(app, wx)
    add_page_routes(app, api_base)

    async def release_waiters(app: web.Application) -> None:
        wx.begin_shutdown()

    async def stop(app: web.Application) -> None:
        await wx.close()

    app.on_shutdown.append(release_waiters)
    app.on_cleanup.append(stop)
    return app


def make_wechat_user_api_app(wx: WeChatLocal) -> web.Application:
    app = web.Application(middlewares=[same_origin_only, api_errors])
    app[WECHATLOCAL_KEY] = wx
    add_user_api_routes(app, wx)
    return app


def mount_wechatlocal(parent: web.Application, wx: WeChatLocal, prefix: str = "/_local") -> None:
    """WeChat at `{prefix}/wechat` (the product's WECHAT_API_BASE), the JSON API at
    `{prefix}/api/wechat`. Mount before anything at `prefix` itself (the local chat)."""
    prefix = prefix.rstrip("/")
    parent.add_subapp(f"{prefix}/api/wechat", make_wechat_user_api_app(wx))
    parent.add_subapp(f"{prefix}/wechat", make_wechat_app(wx, api_base=f"{prefix}/api/wechat"))
