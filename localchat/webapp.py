"""Mini App launch parameters signed the way Telegram signs them, so the bot's check passes."""

import hashlib
import hmac
import json
import secrets
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

WEBAPP_VERSION = "8.0"

# Telegram's default light theme; Mini Apps read these to style themselves.
DEFAULT_THEME: dict[str, str] = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#999999",
    "link_color": "#2481cc",
    "button_color": "#2481cc",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#efeff3",
    "header_bg_color": "#ffffff",
    "accent_text_color": "#2481cc",
    "section_bg_color": "#ffffff",
    "section_header_text_color": "#6d6d72",
    "subtitle_text_color": "#999999",
    "destructive_text_color": "#ff3b30",
}


def sign_init_data(token: str, fields: dict[str, str]) -> str:
    """Return `fields` urlencoded with Telegram's `hash` appended."""
    data_check_string = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    digest = hmac.new(secret, data_check_string.encode(), hashlib.sha256).hexdigest()
    return urlencode([*fields.items(), ("hash", digest)], quote_via=quote)


def make_init_data(token: str, user: dict[str, Any], auth_date: int) -> str:
    fields = {
        "query_id": "AAH" + secrets.token_urlsafe(16),
        "user": json.dumps(user, ensure_ascii=False, separators=(",", ":")),
        "auth_date": str(auth_date),
    }
    return sign_init_data(token, fields)


def launch_url(url: str, init_data: str, theme: dict[str, str] | None = None) -> str:
    """The Mini App URL with Telegram's launch parameters in the fragment."""
    params = urlencode(
        [
            ("tgWebAppData", init_data),
            ("tgWebAppVersion", WEBAPP_VERSION),
            ("tgWebAppPlatform", "web"),
            ("tgWebAppThemeParams", json.dumps(theme or DEFAULT_THEME, separators=(",", ":"))),
        ],
        quote_via=quote,
    )
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, params))
