"""The completion receipt (回执) of R-EXAM-3: a colour A4 page with photo, fields and a QR code.

One artwork, drawn with Pillow at print resolution, is sent twice: as a PNG for the chat and as
a one-page PDF to print. Chinese text uses Noto Sans SC from the pylopdf-fonts-zh-cn package,
so it renders on a fresh machine without system fonts. The layout is a registration-form table
(登记表) with the photo in a cell spanning the first rows; every value is measured first and
wraps or shrinks to fit its cell, and the whole table shrinks if it would reach the QR code.

The receipt only ever sees the masked ID number: ReceiptData refuses an unmasked one."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import qrcode
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError
from pylopdf_fonts_zh_cn import sans_path
from qrcode.constants import ERROR_CORRECT_M

from domain.masking import redact_text
from domain.registry import SITE_ROLE_ZH, CertType, SiteRole

# Page: A4 portrait at 200 dpi (210 x 297 mm).
DPI = 200
PAGE_W = round(210 / 25.4 * DPI)
PAGE_H = round(297 / 25.4 * DPI)
MARGIN = 110

# Colours.
PAPER = "#ffffff"
HEADER_COLOUR = (29, 78, 137)  # deep blue band, table frame and footer
HEADER_SUBTITLE = "#d3e2f4"
ACCENT = "#c9a14a"  # gold rule under the header
INK = "#1c2733"
MUTED = "#6b7785"  # the English under each label
RULE = "#c9d2dd"
LABEL_FILL = "#eef3f9"
PHOTO_BORDER = "#8a96a3"
PLACEHOLDER_FILL = "#d9dde3"
PLACEHOLDER_FIGURE = "#c3c9d1"
STAMP_COLOUR = (198, 40, 40)  # red seal

# Header band and introduction.
HEADER_H = 300
ACCENT_H = 8
INTRO_TOP = HEADER_H + ACCENT_H + 50

# Table: label column, cell padding, and the photo cell spanning the first rows.
TABLE_TOP = 500
TABLE_LEFT = MARGIN
TABLE_RIGHT = PAGE_W - MARGIN
FRAME_W = 4
GRID_W = 2
LABEL_W = 330
CELL_PAD_X = 28
CELL_PAD_Y = 28
PHOTO_W = 360
PHOTO_H = PHOTO_W * 4 // 3
PHOTO_PAD = 24
PHOTO_CELL_W = PHOTO_W + 2 * PHOTO_PAD
PHOTO_CELL_H = PHOTO_H + 2 * PHOTO_PAD
PHOTO_BOX = (
    TABLE_RIGHT - PHOTO_CELL_W + PHOTO_PAD,
    TABLE_TOP + PHOTO_PAD,
    TABLE_RIGHT - PHOTO_PAD,
    TABLE_TOP + PHOTO_PAD + PHOTO_H,
)

# Bottom section: issuer and stamp on the left, QR code and caption on the right.
FOOTER_H = 80
QR_SIZE = 400
QR_CAPTION_H = 100
QR_BOX = (
    PAGE_W - MARGIN - QR_SIZE,
    PAGE_H - FOOTER_H - 50 - QR_CAPTION_H - QR_SIZE,
    PAGE_W - MARGIN,
    PAGE_H - FOOTER_H - 50 - QR_CAPTION_H,
)
BOTTOM_TOP = QR_BOX[1] - 40  # the table must end above this line
STAMP_D = 330
STAMP_TOPLEFT = (MARGIN + 560, QR_BOX[1] + 40)
ISSUER_W = STAMP_TOPLEFT[0] - 40 - MARGIN
ISSUER_TOP = QR_BOX[1] + 120

# Type sizes in pixels (at 200 dpi, 40 px is about 14 pt). Values shrink through their tuple.
TITLE_SIZE = 80
SUBTITLE_SIZE = 38
INTRO_SIZE = 34
INTRO_EN_SIZE = 26
LABEL_SIZE = 36
LABEL_EN_SIZE = 23
VALUE_SIZES = (44, 40, 36, 32)
NOTE_SIZES = (28, 25, 22)
LINE_HEIGHT = 1.3  # line box as a multiple of the font size
TABLE_SCALES = (1.0, 0.9, 0.8, 0.7)  # tried in turn until the table ends above BOTTOM_TOP

TITLE_ZH = "继续教育完成回执"
TITLE_EN = "Continuing education completion receipt"
INTRO_ZH = "兹证明下列学员已完成继续教育课程学习，并通过考核。"
INTRO_EN = (
    "This is to certify that the trainee below has completed the continuing education course "
    "and passed the examination."
)
FOOTER_TEXT = (
    "本回执可扫描二维码在线核验真伪  ·  This receipt can be verified online with the QR code"
)

_CJK = "\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_TOKEN = re.compile(rf"\s+|[^\s{_CJK}]+|.", re.DOTALL)
_NO_LINE_START = set("，。、；：？！）》」』】〕”’·・,.;:?!)]}%")
ELLIPSIS = "…"


# The receipt is one bilingual document: its certificate names are fixed, as its title is.
CERT_TYPE_NAMES = {
    CertType.SPECIAL_OPS: ("建筑施工特种作业人员", "Special operations personnel"),
    CertType.SAFETY_A: ("安全生产考核合格证书（A证）", "Safety certificate A"),
    CertType.SAFETY_B: ("安全生产考核合格证书（B证）", "Safety certificate B"),
    CertType.SITE_PRO: ("现场专业人员", "On-site professional"),
    CertType.SAFETY_C: ("安全生产考核合格证书（C证）", "Safety certificate C"),
    CertType.TOWER_CRANE: ("塔式起重机司机", "Tower-crane driver"),
    CertType.RIGGER: ("建筑起重司索信号工", "Rigger / signaller"),
}
ROLE_NAMES_EN = {
    SiteRole.CONSTRUCTION: "Construction worker",
    SiteRole.QUALITY: "Quality inspector",
    SiteRole.SAFETY: "Safety officer",
    SiteRole.STANDARDS: "Standards officer",
    SiteRole.MATERIALS: "Materials officer",
    SiteRole.MACHINERY: "Machinery officer",
    SiteRole.LABOUR: "Labour officer",
    SiteRole.RECORDS: "Records officer",
}


def role_names(role: SiteRole | None) -> tuple[str, str]:
    return (SITE_ROLE_ZH[role], ROLE_NAMES_EN[role]) if role is not None else ("", "")


@dataclass(frozen=True, slots=True)
class ReceiptData:
    """What the receipt shows. The caller masks the ID number (domain.masking.mask_id_number)."""

    receipt_number: str  # e.g. "JJ-2026-000123"
    name: str  # full name as printed on the certificate
    id_number_masked: str  # masked by the caller: 530102********123X
    cert_type_zh: str
    cert_type_en: str
    certificate_number: str
    hours: float  # course class hours
    passed_on: date
    best_score: int  # 0-100
    photo: bytes | None  # JPEG/PNG of the enrolment photo; None draws a placeholder
    verify_url: str  # what the QR code encodes
    role_zh: str = ""  # 现场专业人员: 施工员, 质量员, …
    role_en: str = ""
    category: str = ""  # 施工员: 土建, 装饰装修, …
    course_zh: str = ""  # the catalogue's course title
    course_en: str = ""
    hours_illustrative: bool = False  # the demo catalogue's hours (docs/courses.md)
    issuer_zh: str = "云南省建设行业继续教育"
    issuer_en: str = "Yunnan construction continuing education"

    def __post_init__(self) -> None:
        masked = self.id_number_masked
        if "*" not in masked or redact_text(masked) != masked:
            raise ValueError("id_number_masked must be masked (see domain.masking)")
        if not 0 <= self.best_score <= 100:
            raise ValueError(f"best_score must be 0-100, not {self.best_score}")
        if self.hours < 0:
            raise ValueError(f"hours must not be negative, not {self.hours}")
        if not self.verify_url:
            raise ValueError("verify_url is required: the QR code encodes it")


def render_png(data: ReceiptData) -> bytes:
    """The receipt as a PNG of the A4 page at 200 dpi (1654 x 2339), to send as a chat image."""
    buffer = io.BytesIO()
    _compose(data).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def render_pdf(data: ReceiptData) -> bytes:
    """The same artwork as a one-page A4 PDF; 200 dpi and 4:4:4 JPEG keep small text sharp."""
    buffer = io.BytesIO()
    _compose(data).save(
        buffer,
        format="PDF",
        resolution=DPI,
        quality=92,
        subsampling=0,
        title=f"{TITLE_ZH} {data.receipt_number}",
        subject=TITLE_EN,
        author=data.issuer_zh,
        creator="jijiao",
    )
    return buffer.getvalue()


# --- text ---------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def cjk_font(size: int) -> ImageFont.FreeTypeFont:
    """Noto Sans SC at a pixel size, loaded once per size."""
    return ImageFont.truetype(str(sans_path()), size)


def fit_lines(text: str, font: ImageFont.FreeTypeFont, max_width: float) -> list[str]:
    """Break text into lines no wider than max_width.

    Latin words break at spaces, Chinese anywhere between characters (but never before closing
    punctuation such as ） or ，); a word longer than a line breaks between its letters. Only a
    single character wider than max_width can overflow."""
    lines: list[str] = []
    line = ""
    for token in _TOKEN.findall(" ".join(text.split())):
        if font.getlength(line + token) <= max_width:
            line += token
        elif token.isspace():
            lines.append(line)
            line = ""
        elif len(token) > 1 and font.getlength(token) <= max_width:
            lines.append(line)  # a whole word moves to the next line
            line = token
        else:  # a Chinese character, or a word longer than a line
            for char in token:
                if not line or font.getlength(line + char) <= max_width:
                    line += char
                elif char in _NO_LINE_START and len(line) > 1:
                    lines.append(line[:-1])
                    line = line[-1] + char
                else:
                    lines.append(line)
                    line = char
    lines.append(line)
    return [kept.strip() for kept in lines if kept.strip()]


@dataclass(frozen=True, slots=True)
class _Block:
    """Lines of text set in one font and colour, one line box of LINE_HEIGHT each."""

    lines: list[str]
    font: ImageFont.FreeTypeFont
    fill: str

    @property
    def height(self) -> int:
        return len(self.lines) * _line_height(self.font)

    def draw(self, draw: ImageDraw.ImageDraw, x: float, top: float, anchor: str = "ls") -> float:
        """Draw from top downwards ("ls" left-aligned, "ms" centred on x); returns the bottom."""
        step = _line_height(self.font)
        for line in self.lines:
            # Ideographs span about -0.12 to 0.88 em around the baseline: centre that in the box.
            baseline = top + step / 2 + 0.38 * self.font.size
            draw.text((x, baseline), line, font=self.font, fill=self.fill, anchor=anchor)
            top += step
        return top


def _fit(text: str, sizes: Sequence[int], max_width: float, max_lines: int, fill: str) -> _Block:
    """The largest size at which text fits in max_lines; at the smallest, cut with an ellipsis."""
    for size in sizes:
        lines = fit_lines(text, cjk_font(size), max_width)
        if len(lines) <= max_lines:
            return _Block(lines, cjk_font(size), fill)
    smallest = cjk_font(sizes[-1])

    def cut(length: int) -> list[str]:
        return fit_lines(text[:length].rstrip() + ELLIPSIS, smallest, max_width)

    # The longest beginning of text that fits with an ellipsis, by bisection on its length.
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if len(cut(middle)) <= max_lines else (low, middle - 1)
    return _Block(cut(low), smallest, fill)


def _line_height(font: ImageFont.FreeTypeFont) -> int:
    return round(font.size * LINE_HEIGHT)


def _scaled(sizes: Sequence[int], scale: float) -> tuple[int, ...]:
    return tuple(max(12, round(size * scale)) for size in sizes)


# --- fields and table layout ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    label_zh: str
    label_en: str
    value: str
    note: str = ""  # a second, smaller grey line: the English of the value
    max_lines: int = 2


@dataclass(slots=True)
class _Row:
    label: list[_Block]
    value: list[_Block]
    height: int
    top: int = 0
    beside_photo: bool = False


def _fields(data: ReceiptData) -> list[_Field]:
    hours = f"{_number(data.hours)} 学时 / hours"
    if data.hours_illustrative:  # a demo catalogue's figure must not pass for a real one
        hours += "（示例学时 / illustrative）"
    role = [_Field("岗位", "Role", data.role_zh, data.role_en)] if data.role_zh else []
    category = [_Field("专业类别", "Category", data.category)] if data.category else []
    course = [_Field("课程", "Course", data.course_zh, data.course_en, 3)] if data.course_zh else []
    return [
        _Field("姓名", "Name", data.name),
        _Field("身份证号", "ID number", data.id_number_masked, max_lines=1),
        _Field("证书类别", "Certificate type", data.cert_type_zh, data.cert_type_en, 3),
        *role,
        *category,
        _Field("证书编号", "Certificate number", data.certificate_number),
        *course,
        _Field("学时", "Class hours", hours),
        _Field("考试成绩", "Exam score (best)", f"{data.best_score} 分 / 100"),
        _Field("合格日期", "Date passed", _date(data.passed_on)),
        _Field("回执编号", "Receipt number", data.receipt_number),
    ]


def _number(value: float) -> str:
    """24.0 → 24, 24.5 → 24.5."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日 / {day.isoformat()}"


def _measure(field: _Field, value_width: float, scale: float) -> _Row:
    label_width = LABEL_W - 2 * CELL_PAD_X
    label = [
        _fit(field.label_zh, _scaled([LABEL_SIZE], scale), label_width, 2, INK),
        _fit(field.label_en, _scaled([LABEL_EN_SIZE], scale), label_width, 2, MUTED),
    ]
    value = [_fit(field.value, _scaled(VALUE_SIZES, scale), value_width, field.max_lines, INK)]
    if field.note:
        sizes = _scaled(NOTE_SIZES, scale)
        value.append(_fit(field.note, sizes, value_width, field.max_lines, MUTED))
    content = max(sum(block.height for block in label), sum(block.height for block in value))
    return _Row(label, value, height=content + 2 * CELL_PAD_Y)


def _layout_table(fields: Sequence[_Field], scale: float) -> list[_Row]:
    """Measured rows with their tops; the first ones share the height of the photo cell."""
    value_left = TABLE_LEFT + LABEL_W + CELL_PAD_X
    narrow = TABLE_RIGHT - PHOTO_CELL_W - CELL_PAD_X - value_left
    wide = TABLE_RIGHT - CELL_PAD_X - value_left
    rows: list[_Row] = []
    beside_height = 0
    for field in fields:
        row = _measure(field, narrow, scale)
        filling = len(rows) == sum(r.beside_photo for r in rows)
        # A row goes beside the photo while at least half of it fits there.
        if filling and (not rows or beside_height + row.height / 2 < PHOTO_CELL_H):
            row.beside_photo = True
            beside_height += row.height
        else:
            row = _measure(field, wide, scale)
        rows.append(row)
    beside = [row for row in rows if row.beside_photo]
    spare = max(0, PHOTO_CELL_H - beside_height)
    for index, row in enumerate(beside):
        row.height += spare // len(beside) + (1 if index < spare % len(beside) else 0)
    top = TABLE_TOP
    for row in rows:
        row.top = top
        top += row.height
    return rows


def _fit_table(fields: Sequence[_Field]) -> list[_Row]:
    """The table at the largest scale that ends above the bottom section."""
    for scale in TABLE_SCALES:
        rows = _layout_table(fields, scale)
        if rows[-1].top + rows[-1].height <= BOTTOM_TOP:
            break
    return rows


# --- drawing --------------------------------------------------------------------------------------


def _compose(data: ReceiptData) -> Image.Image:
    canvas = Image.new("RGB", (PAGE_W, PAGE_H), PAPER)
    draw = ImageDraw.Draw(canvas)
    _draw_header(draw)
    _draw_intro(draw)
    _draw_table(draw, _fit_table(_fields(data)))
    canvas.paste(_photo(data.photo), PHOTO_BOX[:2])
    draw.rectangle(PHOTO_BOX, outline=PHOTO_BORDER, width=2)
    _draw_issuer(draw, data)
    _stamp(canvas)
    canvas.paste(_qr(data.verify_url), QR_BOX[:2])
    _draw_qr_caption(draw)
    _draw_footer(draw)
    return canvas


def _draw_header(draw: ImageDraw.ImageDraw) -> None:
    draw.rectangle((0, 0, PAGE_W, HEADER_H), fill=HEADER_COLOUR)
    draw.rectangle((0, HEADER_H, PAGE_W, HEADER_H + ACCENT_H), fill=ACCENT)
    title = _Block([TITLE_ZH], cjk_font(TITLE_SIZE), PAPER)
    subtitle = _Block([TITLE_EN], cjk_font(SUBTITLE_SIZE), HEADER_SUBTITLE)
    top = (HEADER_H - title.height - subtitle.height) / 2
    # The font ships one weight: drawn three times a pixel apart, the title reads bold.
    for dx in (-1, 0, 1):
        title.draw(draw, PAGE_W / 2 + dx, top, "ms")
    subtitle.draw(draw, PAGE_W / 2, top + title.height, "ms")


def _draw_intro(draw: ImageDraw.ImageDraw) -> None:
    width = TABLE_RIGHT - TABLE_LEFT
    top = _fit(INTRO_ZH, [INTRO_SIZE], width, 1, INK).draw(draw, MARGIN, INTRO_TOP)
    _fit(INTRO_EN, [INTRO_EN_SIZE], width, 2, MUTED).draw(draw, MARGIN, top)


def _draw_table(draw: ImageDraw.ImageDraw, rows: Sequence[_Row]) -> None:
    """Label column tinted, grey rules between rows, the photo cell on the right, a blue frame."""
    bottom = rows[-1].top + rows[-1].height
    label_right = TABLE_LEFT + LABEL_W
    photo_left = TABLE_RIGHT - PHOTO_CELL_W
    photo_bottom = max(row.top + row.height for row in rows if row.beside_photo)
    draw.rectangle((TABLE_LEFT, TABLE_TOP, label_right, bottom), fill=LABEL_FILL)
    for row in rows[:-1]:
        right = photo_left if row.beside_photo else TABLE_RIGHT
        draw.line((TABLE_LEFT, row.top + row.height, right, row.top + row.height), RULE, GRID_W)
    draw.line((label_right, TABLE_TOP, label_right, bottom), RULE, GRID_W)
    draw.line((photo_left, TABLE_TOP, photo_left, photo_bottom), RULE, GRID_W)
    draw.line((photo_left, photo_bottom, TABLE_RIGHT, photo_bottom), RULE, GRID_W)
    draw.rectangle(
        (TABLE_LEFT, TABLE_TOP, TABLE_RIGHT, bottom), outline=HEADER_COLOUR, width=FRAME_W
    )
    for row in rows:
        _draw_cell(draw, row.label, TABLE_LEFT + CELL_PAD_X, row.top, row.height)
        _draw_cell(draw, row.value, label_right + CELL_PAD_X, row.top, row.height)


def _draw_cell(
    draw: ImageDraw.ImageDraw, blocks: Sequence[_Block], left: int, top: int, height: int
) -> None:
    """Blocks stacked and centred vertically in the cell."""
    y = top + (height - sum(block.height for block in blocks)) / 2
    for block in blocks:
        y = block.draw(draw, left, y)


def _photo(photo: bytes | None) -> Image.Image:
    """The enrolment photo cropped to 3:4 around its centre, or a grey 'no photo' placeholder."""
    if photo is None:
        return _placeholder()
    try:
        with Image.open(io.BytesIO(photo)) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError("photo is not a readable JPEG or PNG image") from error
    return ImageOps.fit(image, (PHOTO_W, PHOTO_H), Image.Resampling.LANCZOS, centering=(0.5, 0.5))


def _placeholder() -> Image.Image:
    """A grey box with a head-and-shoulders outline and 无照片 / No photo."""
    image = Image.new("RGB", (PHOTO_W, PHOTO_H), PLACEHOLDER_FILL)
    draw = ImageDraw.Draw(image)
    centre = PHOTO_W / 2
    head, head_y = PHOTO_W * 0.15, PHOTO_H * 0.30
    draw.ellipse((centre - head, head_y - head, centre + head, head_y + head), PLACEHOLDER_FIGURE)
    shoulders = (centre - PHOTO_W * 0.3, PHOTO_H * 0.5, centre + PHOTO_W * 0.3, PHOTO_H * 0.9)
    draw.pieslice(shoulders, 180, 360, fill=PLACEHOLDER_FIGURE)
    top = _Block(["无照片"], cjk_font(34), MUTED).draw(draw, centre, PHOTO_H * 0.74, "ms")
    _Block(["No photo"], cjk_font(26), MUTED).draw(draw, centre, top, "ms")
    return image


def _qr(url: str) -> Image.Image:
    """The verification URL as a QR code with its quiet zone, whole pixels per module."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=1, border=4)
    code.add_data(url)
    code.make(fit=True)
    matrix = code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    scale = max(1, QR_SIZE // matrix.width)
    matrix = matrix.resize((matrix.width * scale, matrix.height * scale), Image.Resampling.NEAREST)
    square = Image.new("RGB", (QR_SIZE, QR_SIZE), "white")
    offset = (QR_SIZE - matrix.width) // 2
    square.paste(matrix, (offset, offset))
    return square


def _draw_qr_caption(draw: ImageDraw.ImageDraw) -> None:
    centre = (QR_BOX[0] + QR_BOX[2]) / 2
    top = _Block(["扫码验证真伪"], cjk_font(32), INK).draw(draw, centre, QR_BOX[3] + 8, "ms")
    _Block(["Scan to verify"], cjk_font(24), MUTED).draw(draw, centre, top, "ms")


def _draw_issuer(draw: ImageDraw.ImageDraw, data: ReceiptData) -> None:
    width = ISSUER_W
    top = _fit("签发单位 / Issued by", [26], width, 1, MUTED).draw(draw, MARGIN, ISSUER_TOP)
    top = _fit(data.issuer_zh, [40, 34], width, 2, INK).draw(draw, MARGIN, top)
    _fit(data.issuer_en, [26, 22], width, 2, MUTED).draw(draw, MARGIN, top)


def _stamp(canvas: Image.Image) -> None:
    """A round red 合格 / PASSED seal, slightly turned and a little transparent, like a chop."""
    layer = Image.new("RGBA", (STAMP_D, STAMP_D), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    ink = (*STAMP_COLOUR, 220)
    draw.ellipse((4, 4, STAMP_D - 5, STAMP_D - 5), outline=ink, width=12)
    draw.ellipse((26, 26, STAMP_D - 27, STAMP_D - 27), outline=ink, width=3)
    middle = STAMP_D / 2
    draw.text((middle, STAMP_D * 0.26), "★", font=cjk_font(48), fill=ink, anchor="mm")
    draw.text(
        (middle, STAMP_D * 0.52),
        "合格",
        font=cjk_font(92),
        fill=ink,
        anchor="mm",
        stroke_width=2,
        stroke_fill=ink,
    )
    draw.text((middle, STAMP_D * 0.76), "PASSED", font=cjk_font(38), fill=ink, anchor="mm")
    turned = layer.rotate(14, resample=Image.Resampling.BICUBIC)
    canvas.paste(turned, STAMP_TOPLEFT, turned)


def _draw_footer(draw: ImageDraw.ImageDraw) -> None:
    draw.rectangle((0, PAGE_H - FOOTER_H, PAGE_W, PAGE_H), fill=HEADER_COLOUR)
    footer = _Block([FOOTER_TEXT], cjk_font(24), HEADER_SUBTITLE)
    footer.draw(draw, PAGE_W / 2, PAGE_H - FOOTER_H + (FOOTER_H - footer.height) / 2, "ms")
