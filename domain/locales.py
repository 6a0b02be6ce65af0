"""Which language a person is answered in."""

from __future__ import annotations

from enum import StrEnum


class Locale(StrEnum):
    ZH_CN = "zh_CN"
    EN = "en"


DEFAULT_LOCALE = Locale.ZH_CN


def resolve_locale(
    chosen: str | None, language_code: str | None, default: Locale = DEFAULT_LOCALE
) -> Locale:
    """The person's own choice wins; else their Telegram language if we speak it; else
    `default` (Chinese, or for staff the staff group's language)."""
    if chosen is not None and chosen in {locale.value for locale in Locale}:
        return Locale(chosen)
    if language_code:
        language = language_code.replace("-", "_").split("_")[0].lower()
        if language == "en":
            return Locale.EN
        if language == "zh":
            return Locale.ZH_CN
    return default
