from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.locales import Locale, resolve_locale
from domain.masking import mask_id_number, mask_name, mask_phone, redact_text


def test_a_chosen_language_wins_over_the_telegram_language():
    assert resolve_locale("en", "zh-hans") is Locale.EN
    assert resolve_locale("zh_CN", "en-US") is Locale.ZH_CN


def test_telegram_english_variants_get_english_and_everything_else_chinese():
    assert resolve_locale(None, "en-GB") is Locale.EN
    assert resolve_locale(None, "EN") is Locale.EN
    for code in ("zh-hans", "zh-hant", "zh", "ru", "", None):
        assert resolve_locale(None, code) is Locale.ZH_CN


def test_staff_without_a_language_we_speak_read_the_staff_language():
    assert resolve_locale(None, "ru", default=Locale.EN) is Locale.EN
    assert resolve_locale(None, None, default=Locale.EN) is Locale.EN
    assert resolve_locale(None, "zh-hans", default=Locale.EN) is Locale.ZH_CN


def test_a_stored_locale_we_no_longer_ship_falls_back():
    assert resolve_locale("fr", None) is Locale.ZH_CN


def test_masks_hide_the_birth_date_and_the_middle_of_a_phone():
    assert mask_id_number("53010219900307123X") == "530102********123X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("张三丰") == "张**"


def test_free_text_is_redacted_before_logging():
    line = "enrol 53010219900307123X phone 13812345678 order 20261127000001"
    assert redact_text(line) == "enrol 530102********123X phone 138****5678 order 20261127000001"


@given(
    st.from_regex(r"[1-6]\d{5}(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d)\d{3}[\dX]", fullmatch=True)
)
def test_no_id_number_survives_redaction(id_number: str):
    redacted = redact_text(f"user {id_number} said hi")
    assert id_number not in redacted
    assert id_number[6:14] not in redacted
