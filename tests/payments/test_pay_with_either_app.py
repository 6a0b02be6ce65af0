"""One QR code of ours, paid with whichever app scanned it: the same exactly-once guarantees,
reconciliation and expiry as with one provider, each payment recorded with where it was made."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import aiohttp_jinja2
import jinja2
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient, AiohttpServer

from domain.checkout import ApplyPayment, ExpireOrders, Fees, Order, PlaceOrder, Reconcile
from domain.payment import Outcome
from infra.db import models
from infra.payments.alipay import AliPay, AliPayConfig
from infra.payments.choice import ProviderChoice, app_of
from infra.payments.sandbox import SandboxProvider
from infra.repositories.payments import TortoisePaymentStore
from infra.repositories.registry import TortoiseBindings
from infra.settings import SettingsError, load_settings
from infra.workdays import ChineseWorkingDays
from jijiao.app import make_payment_provider
from tests.payments.alipay_fake import FakeAlipay
from tests.payments.test_exactly_once import RecordingNotifier, World
from tests.payments.wechatpay_fake import generate_key, private_pem, public_pem
from tests.support import registry
from tests.support.clock import FixedClock
from webview import keys as webkeys
from webview.middlewares import LOCALE
from webview.payments import PaymentWeb, add_payment_routes

APP_ID = "2021000117650001"
ALIPAY_UA = (
    "Mozilla/5.0 (Linux; Android 14; V2309A) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/118.0 Mobile Safari/537.36 AlipayClient/10.6.58.8000 Language/zh-Hans"
)
WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800323c) NetType/WIFI Language/zh_CN"
)
BROWSER_UA = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def keys() -> tuple:
    return generate_key(), generate_key()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def fake(keys: tuple, clock: FixedClock) -> FakeAlipay:
    app, alipay = keys
    return FakeAlipay(app_id=APP_ID, app_key=app.public_key(), alipay_key=alipay, now=clock.now)


@pytest.fixture
async def alipay(
    keys: tuple, fake: FakeAlipay, clock: FixedClock, aiohttp_server: AiohttpServer
) -> AliPay:
    server = await aiohttp_server(fake.make_app())
    app, alipay_key = keys
    return AliPay(
        AliPayConfig(
            app_id=APP_ID,
            app_private_key_pem=private_pem(app),
            alipay_public_key_pem=public_pem(alipay_key),
            notify_url="https://jijiao.example.cn/pay/notify/alipay",
            gateway=str(server.make_url("/gateway.do")),
        ),
        clock.now,
    )


@pytest.fixture
def world(database: str, alipay: AliPay, clock: FixedClock) -> World:
    sandbox = SandboxProvider("http://127.0.0.1:8080", b"s" * 32)
    choice = ProviderChoice([sandbox, alipay], "https://jijiao.example.cn", b"c" * 32)
    store = TortoisePaymentStore(registry.PII)
    notifier = RecordingNotifier()
    apply = ApplyPayment(store, notifier, ChineseWorkingDays(), choice.name, clock)
    base = next(_numbers) * 1000
    numbers = (f"JJA{n:08d}" for n in itertools.count(base))
    place = PlaceOrder(
        TortoiseBindings(registry.PII), store, Fees(30000), choice, clock, lambda now: next(numbers)
    )
    return World(
        clock,
        store,
        choice,  # type: ignore[arg-type]
        notifier,
        apply,
        place,
        ExpireOrders(store, choice, notifier, clock),
        Reconcile(store, choice, apply, clock),
    )


async def scanned_with_alipay(world: World, order: Order) -> str:
    choice: ProviderChoice = world.provider  # type: ignore[assignment]
    return await choice.create_at(
        "alipay", order.number, order.amount_fen, "继续教育培训费", order.expires_at
    )


async def test_the_order_qr_code_is_ours_and_opens_the_scan_page(world: World) -> None:
    _, order = await world.paying_trainee()

    choice: ProviderChoice = world.provider  # type: ignore[assignment]
    assert order.pay_url == choice.scan_url(order.number)
    assert order.pay_url.startswith(f"https://jijiao.example.cn/pay/{order.number}/")


async def test_a_genuine_alipay_notification_is_applied_once_and_recorded_as_alipay(
    world: World, fake: FakeAlipay, alipay: AliPay
) -> None:
    _, order = await world.paying_trainee()
    await scanned_with_alipay(world, order)
    fake.mark_paid(order.number, at=world.clock.now())
    body = fake.notification(order.number, at=world.clock.now())
    event = alipay.parse_notification({}, body, now=world.clock.now())

    first = await world.apply(replace(event, provider="alipay"), "notification")
    again = await world.apply(replace(event, provider="alipay"), "notification")

    assert (first, again) == (Outcome.APPLIED, Outcome.DUPLICATE)
    row = await models.Order.get(number=order.number)
    assert (row.status, row.provider) == ("paid", "alipay")
    assert world.notifier.paid_orders == [order.number]


async def test_a_lost_alipay_notification_is_found_by_reconciliation(
    world: World, fake: FakeAlipay
) -> None:
    _, order = await world.paying_trainee()
    await scanned_with_alipay(world, order)
    fake.mark_paid(order.number, at=world.clock.now())  # and Alipay's notification never came

    assert await world.reconcile() == [Outcome.APPLIED]
    assert await world.reconcile() == []
    row = await models.Order.get(number=order.number)
    assert (row.status, row.provider) == ("paid", "alipay")


async def test_a_payment_in_the_other_app_is_found_too(world: World) -> None:
    _, order = await world.paying_trainee()
    await scanned_with_alipay(world, order)  # opened in Alipay, then paid in the sandbox
    sandbox: SandboxProvider = world.provider.providers["sandbox"]  # type: ignore[attr-defined]
    await sandbox.create(order.number, order.amount_fen, "继续教育培训费", order.expires_at)
    await sandbox.pay(order.number, world.clock.now())

    assert await world.reconcile() == [Outcome.APPLIED]
    assert (await models.Order.get(number=order.number)).provider == "sandbox"


async def test_paying_in_both_apps_goes_to_staff_as_a_double_charge(
    world: World, fake: FakeAlipay, alipay: AliPay
) -> None:
    _, order = await world.paying_trainee()
    await scanned_with_alipay(world, order)
    sandbox: SandboxProvider = world.provider.providers["sandbox"]  # type: ignore[attr-defined]
    await sandbox.create(order.number, order.amount_fen, "继续教育培训费", order.expires_at)
    sandbox_event = await sandbox.pay(order.number, world.clock.now())
    assert sandbox_event is not None
    fake.mark_paid(order.number, at=world.clock.now())

    assert await world.apply(sandbox_event, "notification") is Outcome.APPLIED
    alipay_event = alipay.parse_notification(
        {}, fake.notification(order.number, at=world.clock.now()), now=world.clock.now()
    )
    assert await world.apply(alipay_event, "notification") is Outcome.DOUBLE_CHARGE
    assert world.notifier.staff == [(order.number, Outcome.DOUBLE_CHARGE)]


async def test_an_expired_order_is_closed_at_alipay(world: World, fake: FakeAlipay) -> None:
    _, order = await world.paying_trainee()
    await scanned_with_alipay(world, order)
    fake.scan(order.number)  # the payer scanned, then left without paying
    world.clock.advance(minutes=31)

    assert await world.expire() == 1

    assert fake.trades[order.number].status == "TRADE_CLOSED"
    with pytest.raises(ValueError):
        fake.mark_paid(order.number, at=world.clock.now())


# The scan page


def test_the_scanning_app_is_told_by_its_user_agent() -> None:
    assert app_of(ALIPAY_UA) == "alipay"
    assert app_of(WECHAT_UA) == "wechatpay"
    assert app_of(BROWSER_UA) is None


class WeChatStub:
    """WeChat Pay as the scan page sees it (its own adapter is tested against its fake)."""

    name = "wechatpay"

    async def create(
        self, order_number: str, amount_fen: int, description: str, expires_at: datetime
    ) -> str:
        return f"weixin://wxpay/bizpayurl?pr={order_number[-7:]}"


async def scan_client(
    world: World, alipay: AliPay, aiohttp_client: AiohttpClient
) -> tuple[object, ProviderChoice]:
    choice = ProviderChoice([WeChatStub(), alipay], "", b"c" * 32)  # type: ignore[list-item]
    app = web.Application()
    app[webkeys.CLOCK] = world.clock  # type: ignore[assignment]

    @web.middleware
    async def locale(request: web.Request, handler):  # type: ignore[no-untyped-def]
        request[LOCALE] = "en"
        return await handler(request)

    app.middlewares.append(locale)
    environment = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(Path(__file__).parents[2] / "webview" / "templates"),
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    add_payment_routes(
        app,
        PaymentWeb(
            providers={},
            apply_payment=world.apply,
            find_order=world.store.get,
            sandbox=None,
            notify_base="",
            choice=choice,
        ),
    )
    return await aiohttp_client(app), choice


async def test_alipay_scanning_our_code_goes_straight_to_alipays_checkout(
    world: World, alipay: AliPay, fake: FakeAlipay, aiohttp_client: AiohttpClient
) -> None:
    _, order = await world.paying_trainee()
    client, choice = await scan_client(world, alipay, aiohttp_client)

    page = await client.get(  # type: ignore[attr-defined]
        f"/pay/{order.number}/{choice.token(order.number)}",
        headers={"User-Agent": ALIPAY_UA},
        allow_redirects=False,
    )

    assert page.status == 302
    assert page.headers["Location"] == fake.trades[order.number].qr_code


async def test_wechat_scanning_our_code_is_shown_wechat_pays_code_only(
    world: World, alipay: AliPay, fake: FakeAlipay, aiohttp_client: AiohttpClient
) -> None:
    _, order = await world.paying_trainee()
    client, choice = await scan_client(world, alipay, aiohttp_client)

    page = await client.get(  # type: ignore[attr-defined]
        f"/pay/{order.number}/{choice.token(order.number)}", headers={"User-Agent": WECHAT_UA}
    )

    html = await page.text()
    assert page.status == 200
    assert 'data-provider="wechatpay"' in html and 'data-provider="alipay"' not in html
    assert "Recognise QR code" in html
    assert order.number not in fake.trades  # nothing asked of Alipay


async def test_a_plain_browser_gets_the_choice_of_both(
    world: World, alipay: AliPay, aiohttp_client: AiohttpClient
) -> None:
    _, order = await world.paying_trainee()
    client, choice = await scan_client(world, alipay, aiohttp_client)

    page = await client.get(  # type: ignore[attr-defined]
        f"/pay/{order.number}/{choice.token(order.number)}", headers={"User-Agent": BROWSER_UA}
    )

    html = await page.text()
    assert 'data-provider="wechatpay"' in html and 'data-provider="alipay"' in html
    assert "Pay only once" in html


async def test_the_scan_page_needs_the_token_of_our_qr_code(
    world: World, alipay: AliPay, aiohttp_client: AiohttpClient
) -> None:
    _, order = await world.paying_trainee()
    client, _ = await scan_client(world, alipay, aiohttp_client)

    page = await client.get(  # type: ignore[attr-defined]
        f"/pay/{order.number}/{'0' * 32}", headers={"User-Agent": ALIPAY_UA}
    )

    assert page.status == 404


async def test_a_paid_order_scanned_again_is_not_offered_for_payment(
    world: World, alipay: AliPay, fake: FakeAlipay, aiohttp_client: AiohttpClient
) -> None:
    _, order = await world.paying_trainee()
    await scanned_with_alipay(world, order)
    fake.mark_paid(order.number, at=world.clock.now())
    await world.reconcile()
    client, choice = await scan_client(world, alipay, aiohttp_client)

    page = await client.get(  # type: ignore[attr-defined]
        f"/pay/{order.number}/{choice.token(order.number)}",
        headers={"User-Agent": ALIPAY_UA},
        allow_redirects=False,
    )

    assert page.status == 200 and "Paid." in await page.text()


# Settings


@pytest.fixture
def key_files(tmp_path: Path, keys: tuple) -> dict[str, Path]:
    app, alipay_key = keys
    (tmp_path / "app_private_key.pem").write_text(private_pem(app))
    (tmp_path / "alipay_public_key.pem").write_text(public_pem(alipay_key))
    return {
        "alipay_private_key_path": tmp_path / "app_private_key.pem",
        "alipay_public_key_path": tmp_path / "alipay_public_key.pem",
    }


@pytest.fixture
def no_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "PAYMENT_PROVIDER", "PAYMENT_PROVIDERS", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


PRODUCTION = {
    "telegram": {"bot_token": "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"},
    "security": {"secret_key": "s" * 40},
    "web": {"public_url": "https://jijiao.example.cn"},
}


def test_production_pays_with_alipay_alone_from_its_key_files(
    no_environment: None, tmp_path: Path, key_files: dict[str, Path]
) -> None:
    settings = load_settings(
        app={"data_dir": tmp_path},
        payment={"provider": "alipay", "alipay_app_id": APP_ID, **key_files},
        **PRODUCTION,
    )

    provider = make_payment_provider(settings)

    assert isinstance(provider, AliPay)
    assert provider._config.notify_url == "https://jijiao.example.cn/pay/notify/alipay"
    assert "PRIVATE KEY" not in repr(provider._config)


def test_with_two_providers_the_trainee_gets_one_qr_code_of_ours(
    no_environment: None, tmp_path: Path, key_files: dict[str, Path]
) -> None:
    settings = load_settings(
        app={"data_dir": tmp_path},
        payment={"providers": "sandbox, alipay", "alipay_app_id": APP_ID, **key_files},
    )

    provider = make_payment_provider(settings)

    assert isinstance(provider, ProviderChoice)
    assert list(provider.providers) == ["sandbox", "alipay"]


def test_alipay_without_its_keys_is_refused_by_name(no_environment: None, tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(app={"data_dir": tmp_path}, payment={"providers": "wechatpay,alipay"})
    assert "PAYMENT_WECHAT_MCHID" in str(refused.value)
    with pytest.raises(SettingsError) as refused:
        load_settings(app={"data_dir": tmp_path}, payment={"providers": "alipay"})
    assert "PAYMENT_ALIPAY_APP_ID" in str(refused.value)
    with pytest.raises(SettingsError) as refused:
        load_settings(app={"data_dir": tmp_path}, payment={"providers": "unionpay"})
    assert "unionpay" in str(refused.value)


def test_the_sandbox_stays_the_default(no_environment: None, tmp_path: Path) -> None:
    settings = load_settings(app={"data_dir": tmp_path})
    assert isinstance(make_payment_provider(settings), SandboxProvider)


async def test_alipay_out_of_reach_does_not_hide_a_payment_in_the_other_app(
    world: World, fake: FakeAlipay, alipay: AliPay
) -> None:
    _, order = await world.paying_trainee()
    sandbox: SandboxProvider = world.provider.providers["sandbox"]  # type: ignore[attr-defined]
    await sandbox.create(order.number, order.amount_fen, "继续教育培训费", order.expires_at)
    await sandbox.pay(order.number, world.clock.now())
    alipay._sdk._gateway = "http://127.0.0.1:9/gateway.do"  # nothing listens there

    assert await world.reconcile() == [Outcome.APPLIED]


async def test_an_order_past_its_expiry_is_not_offered_even_before_the_expiry_job_runs(
    world: World, alipay: AliPay, fake: FakeAlipay, aiohttp_client: AiohttpClient
) -> None:
    _, order = await world.paying_trainee()
    client, choice = await scan_client(world, alipay, aiohttp_client)
    world.clock.advance(minutes=31)

    page = await client.get(  # type: ignore[attr-defined]
        f"/pay/{order.number}/{choice.token(order.number)}",
        headers={"User-Agent": ALIPAY_UA},
        allow_redirects=False,
    )

    assert page.status == 200 and "expired" in await page.text()
    assert order.number not in fake.trades


def test_an_alipay_key_file_that_is_not_a_key_stops_the_start_naming_the_setting(
    no_environment: None, tmp_path: Path, key_files: dict[str, Path]
) -> None:
    key_files["alipay_public_key_path"].write_text("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA")
    settings = load_settings(
        app={"data_dir": tmp_path},
        payment={"provider": "alipay", "alipay_app_id": APP_ID, **key_files},
        **PRODUCTION,
    )

    with pytest.raises(SettingsError) as refused:
        make_payment_provider(settings)

    assert str(refused.value).startswith("PAYMENT_ALIPAY_PUBLIC_KEY_PATH")
    assert "MIIB" not in str(refused.value)


async def test_alipay_out_of_reach_at_expiry_still_closes_the_rest_and_tells_every_payer(
    world: World, alipay: AliPay, fake: FakeAlipay
) -> None:
    first = (await world.paying_trainee())[1]
    second = (await world.paying_trainee())[1]
    for order in (first, second):
        await scanned_with_alipay(world, order)
    sandbox: SandboxProvider = world.provider.providers["sandbox"]  # type: ignore[attr-defined]
    await sandbox.create(second.number, second.amount_fen, "继续教育培训费", second.expires_at)
    alipay._sdk._gateway = "http://127.0.0.1:9/gateway.do"  # nothing listens there
    world.clock.advance(minutes=31)

    with pytest.raises(Exception, match="unavailable"):
        await world.expire()

    assert sorted(world.notifier.expired_orders) == sorted([first.number, second.number])
    assert (await models.SandboxPayment.get(order_number=second.number)).state == "closed"
