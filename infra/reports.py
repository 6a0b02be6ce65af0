"""Staff overview: counts, a weekly chart, and the office's spreadsheet of trainees."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from unicodedata import east_asian_width

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo

from domain.masking import mask_id_number, mask_phone
from domain.timezone import CHINA, local_date
from infra.db import models
from infra.pii import Pii
from infra.receipt import cjk_font

WEEKS = 8


@dataclass(frozen=True)
class Overview:
    by_state: dict[str, int]
    by_type: dict[str, int]
    paid_today: int
    paid_today_fen: int
    open_tickets: int
    pending_applications: int
    weekly: list[tuple[str, int, int]]  # week label, enrolments, passes


async def overview(now: datetime) -> Overview:
    rows = await models.Enrolment.all().select_related("certificate")
    today = local_date(now)
    paid = [
        o
        for o in await models.Order.filter(status="paid", paid_at__gte=now - timedelta(days=1))
        if o.paid_at and local_date(o.paid_at) == today
    ]
    start = today - timedelta(days=today.weekday() + 7 * (WEEKS - 1))
    weekly = []
    for week in range(WEEKS):
        first = start + timedelta(days=7 * week)
        last = first + timedelta(days=7)
        enrolled = sum(first <= local_date(r.created_at) < last for r in rows)
        passed = sum(
            r.state == "passed"
            and r.ended_at is not None
            and first <= local_date(r.ended_at) < last
            for r in rows
        )
        weekly.append((first.strftime("%m-%d"), enrolled, passed))
    return Overview(
        by_state=dict(Counter(r.state for r in rows)),
        by_type=dict(Counter(r.certificate.cert_type for r in rows)),
        paid_today=len(paid),
        paid_today_fen=sum(o.amount_fen for o in paid),
        open_tickets=await models.SupportTicket.filter(status="open").count(),
        pending_applications=await models.Application.filter(status="pending").count(),
        weekly=weekly,
    )


@dataclass(frozen=True)
class ChartWords:
    """The chart's words, in the reader's language."""

    title: str
    x_label: str
    y_label: str
    legend: tuple[str, str]  # enrolments, passes


BLUE, GREEN, INK, MUTED, GRID = "#1f6fb2", "#1f7a5a", "#1c2733", "#6b7785", "#e3e8ee"


def _step(top: int) -> int:
    """A round tick spacing giving at most 5 gridlines up to `top`."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if top / step <= 5:
            return step
    return -(-top // 5)


def weekly_chart(weekly: list[tuple[str, int, int]], words: ChartWords) -> bytes:
    """Bars of enrolments and passes per week, each bar with its value, over a scale with
    numbered gridlines. The words may be Chinese: drawn with the receipt's CJK font. The PNG
    carries its words and numbers as text too (Title, Description)."""
    width, height = 860, 480
    left, right, top_edge, bottom = 80, 30, 100, 80
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    small, label, heading = cjk_font(15), cjk_font(17), cjk_font(24)
    draw.text((left, 18), words.title, font=heading, fill=INK)
    # The legend, under the title.
    x = float(left)
    for colour, name in ((BLUE, words.legend[0]), (GREEN, words.legend[1])):
        draw.rectangle((x, 60, x + 14, 74), fill=colour)
        draw.text((x + 20, 67), name, font=label, fill=INK, anchor="lm")
        x += 20 + label.getlength(name) + 30
    peak = max([max(e, p) for _, e, p in weekly] + [1])
    step = _step(peak)
    scale_top = -(-peak // step) * step
    base = height - bottom
    span = base - top_edge

    def y_of(value: float) -> float:
        return base - span * value / scale_top

    for tick in range(0, scale_top + 1, step):
        y = y_of(tick)
        draw.line((left, y, width - right, y), fill=GRID if tick else MUTED)
        draw.text((left - 8, y), str(tick), font=small, fill=MUTED, anchor="rm")
    draw.text((left - 8, top_edge - 14), words.y_label, font=small, fill=MUTED, anchor="rs")
    slot = (width - left - right) / max(len(weekly), 1)
    for index, (week, enrolled, passed) in enumerate(weekly):
        x = left + index * slot
        for offset, value, colour in ((0.15, enrolled, BLUE), (0.5, passed, GREEN)):
            x0, x1 = x + slot * offset, x + slot * (offset + 0.3)
            draw.rectangle((x0, y_of(value), x1, base), fill=colour)
            draw.text(
                ((x0 + x1) / 2, y_of(value) - 4), str(value), font=small, fill=INK, anchor="ms"
            )
        draw.text((x + slot / 2, base + 8), week, font=small, fill=MUTED, anchor="mt")
    draw.text(
        ((left + width - right) / 2, height - 14),
        words.x_label,
        font=label,
        fill=MUTED,
        anchor="ms",
    )
    info = PngInfo()
    info.add_itxt("Title", words.title)
    numbers = "; ".join(
        f"{week}: {words.legend[0]} {enrolled}, {words.legend[1]} {passed}"
        for week, enrolled, passed in weekly
    )
    info.add_itxt("Description", f"{words.x_label} / {words.y_label}. {numbers}")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


@dataclass(frozen=True)
class WorkbookWords:
    """The spreadsheet's words, in the reader's language; `cert_type` and `state` name a code."""

    sheet: str
    headers: list[str]  # name, ID, phone, enterprise, type, number, state, enrolled, paid, deadline
    cert_type: Callable[[str], str]
    state: Callable[[str], str]


DATE_TIME = "yyyy-mm-dd hh:mm"
DATE_COLUMNS = (7, 8, 9)


def _beijing(moment: datetime | None) -> datetime | None:
    """Excel has no time zones: Beijing wall time, as the office reads it."""
    return moment.astimezone(CHINA).replace(tzinfo=None) if moment else None


def _width(value: object) -> int:
    if isinstance(value, datetime):
        return 16
    text = "" if value is None else str(value)
    return sum(2 if east_asian_width(char) in "WF" else 1 for char in text)


async def trainees_workbook(words: WorkbookWords, pii: Pii) -> bytes:
    """One row per enrolment, personal data masked as everywhere else, dates as real dates."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = words.sheet[:31]
    sheet.append(words.headers)
    rows = (
        await models.Enrolment.all()
        .select_related("certificate__person", "certificate__enterprise")
        .order_by("id")
    )
    for row in rows:
        person = row.certificate.person
        enterprise = row.certificate.enterprise
        sheet.append(
            [
                person.name,
                mask_id_number(pii.open(person.id_number_sealed)),
                mask_phone(pii.open(person.phone_sealed)) if person.phone_sealed else "",
                enterprise.name if enterprise else "",
                words.cert_type(row.certificate.cert_type),
                row.certificate.number,
                words.state(row.state),
                _beijing(row.created_at),
                _beijing(row.paid_at),
                _beijing(row.study_deadline),
            ]
        )
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column in DATE_COLUMNS:
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column + 1, max_col=column + 1):
            cell.number_format = DATE_TIME
    for index, column_cells in enumerate(sheet.iter_cols(), 1):
        widest = max(_width(cell.value) for cell in column_cells)
        sheet.column_dimensions[get_column_letter(index)].width = min(max(widest + 2, 8), 40)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
