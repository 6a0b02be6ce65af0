"""Payment pages: provider notifications, the sandbox provider's checkout page, and the pay page
of the web view, where WeChat's browser pays by JSAPI and any other browser gets the QR code."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

import aiohttp
import aiohttp_jinja2
from aiohttp import web

from domain.checkout import ORDER_DESCRIPTION, Order
from domain.payment import (
    InvalidNotification,
    JsapiRequest,
    OrderStatus,
    Outcome,
    PaymentEvent,
    PaymentRefused,
    format_yuan,
)
from domain.timezone import CHINA
from infra.payments.choice import ProviderChoice, app_of
from infra.payments.sandbox import SandboxProvider, SandboxRefused
from infra.qr import plain_qr_data_uri
from webview import keys
from webview.bodies import json_or_none
from webview.middlewares import LOCALE
from webview.study import _guard, _viewer

log = logging.getLogger(__name__)


class NotifyingProvider(Protocol):
    def parse_notification(
        self, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> PaymentEvent: ...


@dataclass(frozen=True)
class JsapiWeb:
    """Paying inside WeChat's browser: the signed-in person's own order, for their openid."""

    # (account, order number, openid) → the bridge's parameters (domain.checkout.StartJsapiPayment)
    start: Callable[[int, str, str], Awaitable[JsapiRequest]]
    # (account, order number) → the order, the provider asked (domain.checkout.CheckOrder)
    check: Callable[[int, str], Awaitable[Order]]
    # The account's WeChat openid; None for an account of another channel.
    openid_of: Callable[[int], Awaitable[str | None]]


@dataclass(frozen=True)
class PaymentWeb:
    providers: Mapping[str, NotifyingProvider]
    apply_payment: Callable[[PaymentEvent, str], Awaitable[Outcome]]
    find_order: Callable[[str], Awaitable[Order | None]]
    sandbox: SandboxProvider | None
    notify_base: str
    # With several providers: our one QR code opens /pay/{order}/{token}.
    choice: ProviderChoice | None = None
    jsapi: JsapiWeb | None = None


PAYMENTS = web.AppKey("payments", PaymentWeb)
# Alipay stops its retries only on the exact body "success"; anything else is "not received".
PLAIN_TEXT_ANSWERS = frozenset({"alipay"})


def _order_words(request: web.Request, order: Order) -> dict[str, object]:
    """What every page about one order shows of it."""
    return {
        "locale": request[LOCALE],
        "order": order,
        "amount": format_yuan(order.amount_fen),
        "expires": order.expires_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M"),
        "paid": order.status is OrderStatus.PAID,
    }


def _payable(request: web.Request, order: Order) -> bool:
    # Past its expiry an order is over even before the expiry job marks it: the providers
    # would refuse a time_expire in the past anyway.
    return order.status is OrderStatus.PENDING and order.expires_at > request.app[keys.CLOCK].now()


def _answer(provider: str, ok: bool, payload: dict[str, str], status: int) -> web.Response:
    if provider in PLAIN_TEXT_ANSWERS:
        return web.Response(text="success" if ok else "fail", status=status)
    return web.json_response(payload, status=status)


async def notify(request: web.Request) -> web.Response:
    """A provider's callback. Answer success only once the payment is safely applied, so the
    provider retries anything we could not take."""
    payments = request.app[PAYMENTS]
    name = request.match_info["provider"]
    provider = payments.providers.get(name)
    if provider is None:
        raise web.HTTPNotFound()
    body = await request.read()
    try:
        event = provider.parse_notification(
            request.headers, body, now=request.app[keys.CLOCK].now()
        )
    except InvalidNotification as exc:
        log.warning("rejected %s notification: %s", name, exc.code)
        return _answer(name, False, {"code": "FAIL", "message": exc.code}, 401)
    # The route names who spoke: with both apps enabled, the order records where it was paid.
    outcome = await payments.apply_payment(replace(event, provider=name), "notification")
    log.info("%s notification for order %s: %s", name, event.order_number, outcome.value)
    return _answer(name, True, {"code": "SUCCESS", "outcome": outcome.value}, 200)


def _sandbox_order_number(request: web.Request) -> str:
    payments = request.app[PAYMENTS]
    number = request.match_info["number"]
    if payments.sandbox is None or request.query.get("t") != payments.sandbox.checkout_token(
        number
    ):
        raise web.HTTPNotFound()
    return number


async def _notify_from_sandbox(
    payments: PaymentWeb, events: list[PaymentEvent], now: datetime, trade_state: str | None = None
) -> None:
    """The sandbox calls the product back over HTTP, as a provider does: the same notify path."""
    sandbox = payments.sandbox
    assert sandbox is not None
    async with aiohttp.ClientSession() as http:
        for item in events:
            headers, body = sandbox.notification(item, now, trade_state)
            async with http.post(
                f"{payments.notify_base}/pay/notify/sandbox", data=body, headers=headers
            ) as response:
                log.info("sandbox notification answered %s", response.status)


async def sandbox_jsapi_pay(request: web.Request) -> web.Response:
    """The WeChat stand-in's checkout confirmed for an openid: the sandbox takes the payment
    and notifies the product; the page learns of it only from the product."""
    payments = request.app[PAYMENTS]
    if payments.sandbox is None:
        raise web.HTTPNotFound()
    data = await json_or_none(request)
    try:
        bridge = {str(k): str(v) for k, v in data["bridge"].items()}
        openid = str(data["openid"])
    except (KeyError, TypeError, AttributeError):
        return web.json_response({"err_msg": "get_brand_wcpay_request:fail"}, status=400)
    now = request.app[keys.CLOCK].now()
    try:
        event = await payments.sandbox.pay_jsapi(bridge, openid, now)
    except SandboxRefused as refused:
        log.warning("sandbox JSAPI payment refused: %s", refused.reason)
        return web.json_response({"err_msg": "get_brand_wcpay_request:fail"}, status=403)
    await _notify_from_sandbox(payments, [event], now)
    return web.json_response({"err_msg": "get_brand_wcpay_request:ok"})


async def sandbox_checkout(request: web.Request) -> web.Response:
    number = _sandbox_order_number(request)
    payments = request.app[PAYMENTS]
    order = await payments.find_order(number)
    if order is None:
        raise web.HTTPNotFound()
    return aiohttp_jinja2.render_template(
        "sandbox_checkout.html",
        request,
        {
            **_order_words(request, order),
            "open": order.status is OrderStatus.PENDING,
            "closed": order.status is OrderStatus.CLOSED,
            "token": request.query["t"],
            "result": request.query.get("result"),
        },
    )


async def sandbox_action(request: web.Request) -> web.StreamResponse:
    """What a payer does on the provider's side; the product hears of it only by callback."""
    number = _sandbox_order_number(request)
    payments = request.app[PAYMENTS]
    sandbox = payments.sandbox
    assert sandbox is not None
    action = request.match_info["action"]
    now = request.app[keys.CLOCK].now()
    order = await payments.find_order(number)
    if order is None or action not in {"pay", "fail", "close", "pay-twice", "pay-silently"}:
        raise web.HTTPNotFound()
    trade_state = None
    if action in {"fail", "close"}:
        # The payer's bank refused, or the provider closed the trade (Alipay's TRADE_CLOSED):
        # either way the product hears "not paid", and the chat offers a new QR code.
        if action == "close":
            await sandbox.close(number)
            trade_state = "CLOSED"
        events: list[PaymentEvent] = [
            PaymentEvent(number, False, order.amount_fen, "CNY", None, None)
        ]
        result = "failed" if action == "fail" else "closed"
    else:
        event = await sandbox.pay(number, now)
        if event is None:
            raise web.HTTPFound(
                f"{request.path_qs.rsplit('/', 1)[0]}?t={request.query['t']}&result=closed"
            )
        events = {"pay": [event], "pay-twice": [event, event], "pay-silently": []}[action]
        result = "paid"
    await _notify_from_sandbox(payments, events, now, trade_state)
    raise web.HTTPFound(
        str(
            request.app.router["sandbox_checkout"]
            .url_for(number=number)
            .with_query(t=request.query["t"], result=result)
        )
    )


async def scan(request: web.Request) -> web.StreamResponse:
    """Our one QR code, scanned: Alipay's app goes on to Alipay's checkout, WeChat's is shown
    WeChat Pay's code to long-press, a plain browser gets the choice."""
    payments = request.app[PAYMENTS]
    choice = payments.choice
    number = request.match_info["number"]
    if choice is None or not hmac.compare_digest(
        request.match_info["token"].encode(), choice.token(number).encode()
    ):
        raise web.HTTPNotFound()
    order = await payments.find_order(number)
    if order is None:
        raise web.HTTPNotFound()
    payable = _payable(request, order)
    context = {**_order_words(request, order), "open": payable, "codes": [], "failed": False}
    if not payable:
        return aiohttp_jinja2.render_template("pay_scan.html", request, context)
    app = app_of(request.headers.get("User-Agent", ""))
    wanted = [app] if app in choice.providers else list(choice.providers)
    codes = []
    for name in wanted:
        try:
            url = await choice.create_at(
                name, order.number, order.amount_fen, ORDER_DESCRIPTION, order.expires_at
            )
        except Exception as exc:  # the provider's own error: the other app may still work
            log.warning("scan page: %s for order %s failed: %s", name, number, type(exc).__name__)
            continue
        if app == "alipay" and name == "alipay":
            raise web.HTTPFound(url)  # qr.alipay.com in Alipay's browser is its checkout
        codes.append({"provider": name, "url": url, "image": plain_qr_data_uri(url)})
    context["codes"] = codes
    context["in_app"] = app if app in choice.providers else None
    context["failed"] = not codes
    return aiohttp_jinja2.render_template(
        "pay_scan.html", request, context, status=503 if not codes else 200
    )


def _own_order_number(request: web.Request) -> str:
    number = request.match_info["number"]
    if not number.isascii() or not number.isalnum() or len(number) > 32:
        raise web.HTTPNotFound()
    return number


def _api_error(error: str, status: int) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status)


async def pay_page(request: web.Request) -> web.Response:
    """The order's pay page in the web view: WeChat's own checkout where its browser offers one
    (the script asks for it once WeixinJSBridge is ready), the QR code everywhere else."""
    viewer = _viewer(request)
    payments = request.app[PAYMENTS]
    order = await payments.find_order(_own_order_number(request))
    if order is None or order.payer != viewer.user_id:
        raise web.HTTPNotFound()  # somebody else's order: the same answer as none
    jsapi = payments.jsapi
    wechat = jsapi is not None and await jsapi.openid_of(viewer.user_id) is not None
    payable = _payable(request, order)
    return aiohttp_jinja2.render_template(
        "pay_order.html",
        request,
        {
            **_order_words(request, order),
            "open": payable,
            "qr": plain_qr_data_uri(order.pay_url) if payable else None,
            "pay_url": order.pay_url,
            "jsapi": wechat and payable,
        },
    )


async def api_jsapi(request: web.Request) -> web.Response:
    """The bridge's parameters for the signed-in person's own open order, for their openid."""
    viewer = _guard(request)
    jsapi = request.app[PAYMENTS].jsapi
    number = _own_order_number(request)
    openid = await jsapi.openid_of(viewer.user_id) if jsapi is not None else None
    if jsapi is None or openid is None:
        return _api_error("not_in_wechat", 403)
    try:
        bridge = await jsapi.start(viewer.user_id, number, openid)
    except PaymentRefused as refused:
        return _api_error(refused.code, 404 if refused.code == "order_not_found" else 409)
    except Exception as exc:  # the provider's own error: nothing was made on our side
        log.warning("JSAPI order %s failed: %s", number, type(exc).__name__)
        return _api_error("provider_unavailable", 503)
    return web.json_response({"ok": True, "bridge": bridge.for_bridge()})


async def api_order_state(request: web.Request) -> web.Response:
    """Paid or not, in the product's books after asking the provider: what the page shows,
    never the checkout's own "ok"."""
    viewer = _viewer(request)
    jsapi = request.app[PAYMENTS].jsapi
    if jsapi is None:
        raise web.HTTPNotFound()
    try:
        order = await jsapi.check(viewer.user_id, _own_order_number(request))
    except PaymentRefused as refused:
        return _api_error(refused.code, 404)
    # "state", not "status": the page's fetch helper keeps the HTTP status under that name.
    return web.json_response({"ok": True, "state": order.status.value})


def add_payment_routes(app: web.Application, payments: PaymentWeb) -> None:
    app[PAYMENTS] = payments
    app.router.add_post("/pay/notify/{provider}", notify, name="payment_notify")
    app.router.add_get("/pay/{number}/{token}", scan, name="payment_scan")
    app.router.add_get("/sandbox/pay/{number}", sandbox_checkout, name="sandbox_checkout")
    app.router.add_post("/sandbox/pay/{number}/{action}", sandbox_action, name="sandbox_action")
    app.router.add_post("/sandbox/jsapi/pay", sandbox_jsapi_pay, name="sandbox_jsapi_pay")
    app.router.add_get("/app/pay/{number}", pay_page, name="pay_order")
    app.router.add_post("/app/api/pay/{number}/jsapi", api_jsapi, name="pay_jsapi")
    app.router.add_get("/app/api/pay/{number}", api_order_state, name="pay_order_state")
