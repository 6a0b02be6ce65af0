"""Which payment provider a start gets: WeChat Pay from its key files, the sandbox only where
its anyone-can-pay checkout is harmless."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.payments.sandbox import SandboxProvider
from infra.payments.wechatpay import WeChatPay
from infra.settings import SettingsError, load_settings
from jijiao.app import make_payment_provider
from tests.payments.wechatpay_fake import generate_key, private_pem, public_pem

PRODUCTION = {
    "telegram": {"bot_token": "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"},
    "security": {"secret_key": "s" * 40},
    "web": {"public_url": "https://jijiao.example.cn"},
}


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the working tree
    for name in ("TELEGRAM_BOT_TOKEN", "PAYMENT_PROVIDER", "WEB_PUBLIC_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_local_mode_pays_in_the_sandbox(tmp_path: Path):
    settings = load_settings(app={"data_dir": tmp_path})
    assert isinstance(make_payment_provider(settings), SandboxProvider)


def test_production_refuses_the_sandbox_unless_told_it_is_staging(tmp_path: Path):
    settings = load_settings(app={"data_dir": tmp_path}, **PRODUCTION)
    with pytest.raises(SettingsError) as refused:
        make_payment_provider(settings)
    assert "PAYMENT_PROVIDER" in str(refused.value)
    staging = load_settings(
        app={"data_dir": tmp_path},
        payment={"sandbox_outside_local_mode": True},
        **PRODUCTION,
    )
    assert isinstance(make_payment_provider(staging), SandboxProvider)


def test_production_pays_with_wechat_pay_from_its_key_files(tmp_path: Path):
    merchant, platform = generate_key(), generate_key()
    (tmp_path / "apiclient_key.pem").write_text(private_pem(merchant))
    (tmp_path / "pub_key.pem").write_text(public_pem(platform))
    settings = load_settings(
        app={"data_dir": tmp_path},
        payment={
            "provider": "wechatpay",
            "wechat_mchid": "1900000001",
            "wechat_appid": "wx8888888888888888",
            "wechat_api_v3_key": "k" * 32,
            "wechat_cert_serial_no": "5157F09EFDC096DE15EBE81A47057A72",
            "wechat_private_key_path": tmp_path / "apiclient_key.pem",
            "wechat_public_key_path": tmp_path / "pub_key.pem",
            "wechat_public_key_id": "PUB_KEY_ID_0114232134912410000",
        },
        **PRODUCTION,
    )
    provider = make_payment_provider(settings)
    assert isinstance(provider, WeChatPay) and provider.name == "wechatpay"
    assert provider._config.notify_url == "https://jijiao.example.cn/pay/notify/wechatpay"


def test_a_production_start_on_the_sandbox_stops_with_one_line_and_touches_nothing(tmp_path: Path):
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "TELEGRAM_BOT_TOKEN": PRODUCTION["telegram"]["bot_token"],
        "SECURITY_SECRET_KEY": PRODUCTION["security"]["secret_key"],
        "WEB_PUBLIC_URL": PRODUCTION["web"]["public_url"],
        "APP_DATA_DIR": str(tmp_path / "var"),
        "PAYMENT_PROVIDER": "sandbox",
    }
    started = subprocess.run(
        [sys.executable, "-m", "jijiao", "run"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert started.returncode == 2
    assert "Traceback" not in started.stderr
    lines = started.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jijiao: invalid setting PAYMENT_PROVIDER:")
    assert not (tmp_path / "var" / "jijiao.sqlite3").exists()  # refused before any migration
