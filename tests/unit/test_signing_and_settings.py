from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infra.settings import LOCAL_BOT_TOKEN, SettingsError, load_settings
from infra.signing import BadToken, Signer

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def test_a_signed_token_round_trips_until_it_expires():
    signer = Signer(b"s" * 32)
    token = signer.sign("link", {"u": 1}, now=NOW, ttl=60)
    assert signer.unsign("link", token, now=NOW + timedelta(seconds=59))["u"] == 1
    with pytest.raises(BadToken):
        signer.unsign("link", token, now=NOW + timedelta(seconds=61))


def test_a_token_is_bound_to_its_purpose_and_its_key():
    token = Signer(b"s" * 32).sign("link", {"u": 1}, now=NOW, ttl=60)
    with pytest.raises(BadToken):
        Signer(b"s" * 32).unsign("session", token, now=NOW)
    with pytest.raises(BadToken):
        Signer(b"t" * 32).unsign("link", token, now=NOW)


@pytest.mark.parametrize("garbage", ["", ".", "abc", "a.b", "!!!.???", "eyJ1IjoxfQ.x"])
def test_garbage_tokens_are_refused_not_crashing(garbage: str):
    with pytest.raises(BadToken):
        Signer(b"s" * 32).unsign("link", garbage, now=NOW)


def test_no_settings_at_all_means_local_mode(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.local_mode
    assert settings.bot_token == LOCAL_BOT_TOKEN
    assert settings.database_url == "sqlite://var/jijiao.sqlite3"
    assert settings.base_url == "http://127.0.0.1:8080"
    assert settings.database.timeout == 3  # seconds: a hung database is an outage after it


def test_the_staff_group_reads_chinese_unless_told_otherwise(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert load_settings().staff.language == "zh_CN"
    monkeypatch.setenv("STAFF_LANGUAGE", "en")
    assert load_settings().staff.language == "en"


def test_environment_names_map_to_sections(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABC")
    monkeypatch.setenv("SECURITY_SECRET_KEY", "x" * 32)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/jijiao")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("WEB_PUBLIC_URL", "https://jijiao.example.cn/")
    monkeypatch.setenv("TELEGRAM_ADMIN_IDS", "[1, 2]")
    monkeypatch.setenv("DATABASE_TIMEOUT", "2.5")
    settings = load_settings()
    assert not settings.local_mode
    assert settings.database_url == "postgresql://u@db/jijiao"
    assert settings.database.timeout == 2.5
    assert settings.redis.url == "redis://cache:6379/0"
    assert settings.base_url == "https://jijiao.example.cn"
    assert settings.telegram.admin_ids == [1, 2]
    assert "ABC" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("WEB_PORT", "eighty", "valid integer"),
        ("WEB_PORT", "70000", "less than or equal to 65535"),
        ("DATABASE_URL", "mysql://x", "must start with sqlite://"),
        ("DATABASE_TIMEOUT", "0", "greater than 0"),
        ("TELEGRAM_BOT_TOKEN", "not-a-token", "must look like"),
        ("WEB_PUBLIC_URL", "jijiao.example.cn", "absolute http(s) URL"),
        ("STAFF_LANGUAGE", "fr", "'zh_CN' or 'en'"),
    ],
)
def test_a_bad_setting_is_named_with_its_problem(monkeypatch, name, value, problem):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.name == name
    assert problem in caught.value.problem


def test_production_without_a_secret_key_refuses_to_start(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABC")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.name == "SECURITY_SECRET_KEY"


def test_wechat_pay_needs_all_of_its_settings(monkeypatch):
    monkeypatch.setenv("PAYMENT_PROVIDER", "wechatpay")
    monkeypatch.setenv("PAYMENT_WECHAT_MCHID", "1900000109")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "PAYMENT_WECHAT_APPID is required" in caught.value.problem


def test_fees_are_configurable_per_certificate_type(monkeypatch):
    monkeypatch.setenv("PAYMENT_FEE_FEN", "25000")
    monkeypatch.setenv("PAYMENT_FEES", '{"tower_crane": 40000}')
    settings = load_settings()
    assert (settings.payment.fee_fen, settings.payment.fees) == (25000, {"tower_crane": 40000})


def test_without_a_webhook_url_the_bot_long_polls(monkeypatch):
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "")
    assert load_settings().telegram.webhook_url is None


def test_a_webhook_url_needs_its_secret_token(monkeypatch):
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "http://127.0.0.1:8080")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.name == "TELEGRAM_WEBHOOK_SECRET"
    assert caught.value.problem == "is required when TELEGRAM_WEBHOOK_URL is set"


def test_webhook_settings_are_read_and_the_secret_kept_out_of_reprs(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABC")
    monkeypatch.setenv("SECURITY_SECRET_KEY", "x" * 32)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://bot.jijiao.example.cn/")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "s3cret_Token-1")
    settings = load_settings()
    assert settings.telegram.webhook_url == "https://bot.jijiao.example.cn"
    assert settings.webhook_secret() == "s3cret_Token-1"
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("TELEGRAM_WEBHOOK_URL", "bot.jijiao.example.cn", "absolute http(s) URL"),
        ("TELEGRAM_WEBHOOK_SECRET", "no spaces!", "A-Z, a-z, 0-9, _ and -"),
        ("TELEGRAM_WEBHOOK_SECRET", "x" * 257, "1-256 characters"),
    ],
)
def test_a_bad_webhook_setting_is_named_with_its_problem(monkeypatch, name, value, problem):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.name == name
    assert problem in caught.value.problem


def test_telegram_itself_posts_webhooks_only_over_https(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABC")
    monkeypatch.setenv("SECURITY_SECRET_KEY", "x" * 32)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "http://bot.jijiao.example.cn")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "s3cret")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.name == "TELEGRAM_WEBHOOK_URL"
