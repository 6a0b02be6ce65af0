"""The payment QR code as an image a phone can save and another phone can scan."""

from __future__ import annotations

import base64
import io

import qrcode
from PIL import Image, ImageDraw
from qrcode.constants import ERROR_CORRECT_M

from infra.receipt import cjk_font

WIDTH = 560
MARGIN = 40


def payment_qr_png(url: str, amount: str, order_number: str, deadline: str) -> bytes:
    """QR of the order's URL with the amount, order number and deadline under it, in the
    words the caller gives (the trainee's language; Noto Sans SC, from an installed package,
    sets Chinese and Latin alike)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(url)
    code.make(fit=True)
    matrix = code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    matrix = matrix.resize((WIDTH - 2 * MARGIN, WIDTH - 2 * MARGIN), Image.Resampling.NEAREST)

    canvas = Image.new("RGB", (WIDTH, WIDTH + 150), "white")
    canvas.paste(matrix, (MARGIN, MARGIN))
    draw = ImageDraw.Draw(canvas)
    big, small = cjk_font(40), cjk_font(24)
    top = WIDTH - 10
    draw.text((WIDTH // 2, top), amount, font=big, fill="#1f7a5a", anchor="mt")
    draw.text((WIDTH // 2, top + 56), order_number, font=small, fill="#1c2733", anchor="mt")
    draw.text((WIDTH // 2, top + 92), deadline, font=small, fill="#c0392b", anchor="mt")
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def plain_qr_data_uri(url: str) -> str:
    """A bare QR code for a web page: in WeChat a long press on it recognises a payment code."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(url)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").get_image().save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
