"""The payment QR image speaks the trainee's language and still scans (issue 17: a Chinese
trainee got "CNY 300.00 / Pay before … (UTC+8)")."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import zxingcpp
from PIL import Image

from infra.qr import payment_qr_png
from texts import payment as texts
from texts.i18n import Catalogs

EXPIRES = datetime(2026, 12, 6, 10, 30, tzinfo=UTC)


def test_the_words_under_the_code_are_in_the_trainees_language(i18n: Catalogs):
    with i18n.context(), i18n.use_locale("zh_CN"):
        chinese = (texts.qr_amount(690000), texts.qr_deadline(EXPIRES))
    with i18n.context(), i18n.use_locale("en"):
        english = (texts.qr_amount(690000), texts.qr_deadline(EXPIRES))

    assert chinese == ("金额 ¥6,900.00", "请在 2026-12-06 18:30（北京时间）前支付")
    assert english == ("Amount ¥6,900.00", "Pay before 2026-12-06 18:30 (Beijing time)")


def test_the_image_with_chinese_words_scans_to_the_order_url():
    url = "http://127.0.0.1:8080/pay/JJ20261206000001/token"
    png = payment_qr_png(
        url, "金额 ¥6,900.00", "JJ20261206000001", "请在 2026-12-06 18:30（北京时间）前支付"
    )

    picture = Image.open(io.BytesIO(png))
    assert [b.text for b in zxingcpp.read_barcodes(picture)] == [url]
