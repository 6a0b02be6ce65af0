"""The completion receipt of R-EXAM-3: colour, photo, readable Chinese and a QR code that scans."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import date
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageColor, ImageFont
from pylopdf_fonts_zh_cn import sans_path

from infra.receipt import (
    BOTTOM_TOP,
    HEADER_COLOUR,
    LABEL_FILL,
    PAGE_H,
    PAGE_W,
    PHOTO_BOX,
    QR_BOX,
    TABLE_LEFT,
    TABLE_RIGHT,
    TABLE_TOP,
    ReceiptData,
    _fit,
    cjk_font,
    fit_lines,
    render_pdf,
    render_png,
)

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "faces"
FULL_ID = "530102199001011234"
MASKED_ID = "530102********1234"
LONG_CERT_ZH = (
    "建筑施工特种作业人员（建筑起重信号司索工、建筑起重机械安装拆卸工、高处作业吊篮安装拆卸工）"
    "及专职安全生产管理人员（综合类C3证）"
)
LONG_CERT_EN = (
    "Special operations personnel in building construction (signaller and rigger for hoisting, "
    "installer and dismantler of construction hoisting machinery, installer of suspended "
    "platforms) and full-time safety officer (comprehensive C3)"
)


def receipt(**changes: object) -> ReceiptData:
    data = ReceiptData(
        receipt_number="JJ-2026-000123",
        name="张伟",
        id_number_masked=MASKED_ID,
        cert_type_zh="专职安全生产管理人员（C证）",
        cert_type_en="Full-time safety officer (certificate C)",
        certificate_number="云建安C（2023）0012345",
        hours=24.0,
        passed_on=date(2026, 11, 27),
        best_score=92,
        photo=(PHOTOS / "person_a_2.jpg").read_bytes(),
        verify_url="https://jijiao.example.cn/verify/JJ-2026-000123?t=8f3a1c",
    )
    return dataclasses.replace(data, **changes)  # type: ignore[arg-type]


def image(data: ReceiptData) -> Image.Image:
    with Image.open(io.BytesIO(render_png(data))) as opened:
        opened.load()
        return opened


def jpeg(colour: str, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def share(picture: Image.Image, box: tuple[int, int, int, int], test: object) -> float:
    """The share of pixels in box for which test(r, g, b) holds."""
    pixels = list(picture.crop(box).get_flattened_data())
    return sum(1 for pixel in pixels if test(*pixel)) / len(pixels)  # type: ignore[operator]


def test_png_is_a_colour_a4_portrait_page() -> None:
    picture = image(receipt())

    assert picture.format == "PNG"
    assert picture.mode == "RGB"
    assert picture.size == (PAGE_W, PAGE_H)
    assert picture.height / picture.width == pytest.approx(297 / 210, rel=0.005)
    header = share(picture, (0, 0, PAGE_W, 200), lambda r, g, b: (r, g, b) == HEADER_COLOUR)
    assert header > 0.8
    saturated = picture.convert("HSV").getchannel("S").point(lambda s: 255 if s > 100 else 0)
    assert saturated.histogram()[255] / (PAGE_W * PAGE_H) > 0.1


def test_the_qr_code_scans_to_the_verify_url() -> None:
    url = "https://jijiao.example.cn/verify/JJ-2026-000123?t=8f3a1c9e0d2b4a6f8e1c3d5b7a9f0e2d"
    barcodes = zxingcpp.read_barcodes(image(receipt(verify_url=url)))

    assert [(b.format, b.text) for b in barcodes] == [(zxingcpp.BarcodeFormat.QRCode, url)]


def test_the_font_has_chinese_glyphs_rather_than_tofu() -> None:
    font = ImageFont.truetype(str(sans_path()), 48)
    tofu = bytes(font.getmask("\uffff"))

    for char in "张伟李娜合格":
        mask = font.getmask(char)
        assert mask.getbbox() is not None
        assert bytes(mask) != tofu
    assert bytes(font.getmask("张")) != bytes(font.getmask("李"))
    assert cjk_font(48).getname() == ("Noto Sans SC", "Regular")


def test_the_name_is_drawn_in_the_name_cell() -> None:
    changed = ImageChops.difference(image(receipt()), image(receipt(name="李娜"))).getbbox()

    assert changed is not None
    left, top, right, bottom = changed
    assert TABLE_LEFT + 300 < left and right < PHOTO_BOX[0]
    assert TABLE_TOP < top and bottom < TABLE_TOP + 200


def test_the_enrolment_photo_is_in_the_photo_box() -> None:
    with_photo = image(receipt())
    without = image(receipt(photo=None))
    changed = ImageChops.difference(with_photo, without).getbbox()

    assert changed is not None
    assert PHOTO_BOX[0] <= changed[0] and changed[2] <= PHOTO_BOX[2] + 1
    assert PHOTO_BOX[1] <= changed[1] and changed[3] <= PHOTO_BOX[3] + 1
    red = image(receipt(photo=jpeg("#ff0000", (300, 300))))
    assert share(red, PHOTO_BOX, lambda r, g, b: r > 200 and g < 60 and b < 60) > 0.95


def test_the_photo_is_cropped_to_a_centred_portrait() -> None:
    # A landscape 400 x 100 picture: the 3:4 crop (75 x 100) is its green middle only.
    wide = Image.new("RGB", (400, 100), "blue")
    wide.paste(Image.new("RGB", (90, 100), "#00c000"), (155, 0))
    buffer = io.BytesIO()
    wide.save(buffer, format="PNG")
    picture = image(receipt(photo=buffer.getvalue()))

    assert share(picture, PHOTO_BOX, lambda r, g, b: g > 150 and r < 60 and b < 60) > 0.95


def test_the_missing_photo_placeholder_is_grey() -> None:
    picture = image(receipt(photo=None))

    assert share(picture, PHOTO_BOX, lambda r, g, b: max(r, g, b) - min(r, g, b) < 16) > 0.95


def test_an_unreadable_photo_is_refused() -> None:
    with pytest.raises(ValueError, match="photo"):
        render_png(receipt(photo=b"not an image"))


def test_pdf_is_one_a4_page_with_a_title() -> None:
    pdf = render_pdf(receipt())

    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert len(boxes) == 1
    width, height = (float(value) for value in boxes[0])
    assert width == pytest.approx(595.3, abs=1) and height == pytest.approx(841.9, abs=1)
    assert b"/Title" in pdf


def test_fit_lines_keeps_every_line_inside_the_width() -> None:
    font = cjk_font(44)
    width = 600

    chinese = fit_lines(LONG_CERT_ZH, font, width)
    english = fit_lines(LONG_CERT_EN, font, width)

    assert len(chinese) > 2 and len(english) > 2
    assert all(font.getlength(line) <= width for line in chinese + english)
    assert "".join(chinese) == LONG_CERT_ZH
    assert " ".join(english) == LONG_CERT_EN  # broken at spaces only, words kept whole
    assert not any(line[0] in "，、）" for line in chinese)


def test_fit_lines_breaks_a_word_longer_than_the_line() -> None:
    font = cjk_font(40)
    word = "X" * 80

    lines = fit_lines(word, font, 500)

    assert len(lines) > 1 and "".join(lines) == word
    assert all(font.getlength(line) <= 500 for line in lines)
    assert fit_lines("张伟", font, 500) == ["张伟"]
    assert fit_lines("  ", font, 500) == []


def test_long_values_stay_on_the_page_and_clear_of_the_qr_code() -> None:
    data = receipt(
        name="阿卜杜热合曼·买买提依明·艾合买提江·吐尔逊巴依·库尔班·阿布都热西提",
        cert_type_zh=LONG_CERT_ZH * 2,
        cert_type_en=LONG_CERT_EN * 2,
        certificate_number="云建安C（2023）0012345-" + "补" * 60,
        receipt_number="JJ-2026-" + "0" * 90,
        issuer_zh="云南省住房和城乡建设厅建筑施工企业安全生产管理人员继续教育培训中心" * 2,
        issuer_en="Yunnan construction continuing education " * 4,
    )
    picture = image(data)

    def blank(box: tuple[int, int, int, int]) -> bool:
        return share(picture, box, lambda r, g, b: (r, g, b) == (255, 255, 255)) == 1

    assert blank((0, BOTTOM_TOP + 1, PAGE_W, QR_BOX[1]))  # the table ended above the bottom
    assert blank((TABLE_RIGHT + 1, TABLE_TOP - 100, PAGE_W, BOTTOM_TOP))  # nothing off the right
    assert blank((0, TABLE_TOP - 100, TABLE_LEFT, BOTTOM_TOP))  # nor off the left
    assert [b.text for b in zxingcpp.read_barcodes(picture)] == [data.verify_url]


def test_an_unmasked_id_number_is_refused() -> None:
    for unmasked in (FULL_ID, "53010219900101123X", f"ID {FULL_ID}", "530102"):
        with pytest.raises(ValueError, match="masked"):
            receipt(id_number_masked=unmasked)


def test_the_full_id_number_is_not_in_the_files() -> None:
    data = receipt()
    pdf = render_pdf(data)
    png = render_png(data)

    for form in (FULL_ID.encode(), FULL_ID.encode("utf-16-be")):
        assert form not in pdf and form not in png
    assert MASKED_ID.encode() not in pdf  # nor the masked one in the PDF metadata


def test_score_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="best_score"):
        receipt(best_score=101)


def test_a_value_too_long_even_when_shrunk_is_cut_with_an_ellipsis() -> None:
    block = _fit(LONG_CERT_EN * 3, (30, 24), 500, 3, "#000000")

    assert len(block.lines) == 3 and block.lines[-1].endswith("…")
    assert all(block.font.getlength(line) <= 500 for line in block.lines)
    assert " ".join(block.lines).startswith(LONG_CERT_EN[:100])  # the spaces survive the cut


def test_an_on_site_professional_receipt_prints_role_category_and_course_in_the_table() -> None:
    """Issue 18, item 5: the role and the category reach the printed receipt."""
    builder = receipt(
        cert_type_zh="现场专业人员",
        cert_type_en="On-site professional",
        role_zh="施工员",
        role_en="Construction worker",
        category="土建",
        course_zh="现场专业人员（施工员）继续教育",
        course_en="Continuing education for on-site professionals: construction workers",
    )
    for change in (
        {"category": "市政"},
        {"role_zh": "质量员", "role_en": "Quality inspector"},
        {"hours_illustrative": True},
    ):
        changed = ImageChops.difference(
            image(builder),
            image(dataclasses.replace(builder, **change)),  # type: ignore[arg-type]
        ).getbbox()
        assert changed is not None, change
        left, top, _right, bottom = changed
        assert TABLE_LEFT + 300 < left and TABLE_TOP < top and bottom < BOTTOM_TOP, change
    # Without a role nor a category, their rows are not drawn: the table is shorter.
    plain = dataclasses.replace(builder, role_zh="", role_en="", category="")
    assert _table_bottom(image(plain)) < _table_bottom(image(builder))


def _table_bottom(picture: Image.Image) -> int:
    """The lowest pixel of the label column's fill: where the table ends."""
    fill = ImageColor.getrgb(LABEL_FILL)
    x = TABLE_LEFT + 6  # inside the frame
    return max(y for y in range(TABLE_TOP, BOTTOM_TOP) if picture.getpixel((x, y)) == fill)
