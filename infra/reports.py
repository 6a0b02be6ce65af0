"""Staff overview: counts, a weekly chart, and the office's spreadsheet of trainees."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from openpyxl import Workbook
from PIL import Image, ImageDraw, ImageFont

from domain.masking import mask_id_number, mask_phone
from domain.timezone import CHINA, local_date
from infra.db import models
from infra.pii import Pii

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
            r.state == "passed" and r.ended_at and first <= local_date(r.ended_at) < last
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


def weekly_chart(weekly: list[tuple[str, int, int]], title: str, legend: tuple[str, str]) -> bytes:
    """Bars of enrolments and passes per week; Latin labels only, so no CJK font is needed."""
    width, height, margin = 800, 420, 50
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=16)
    draw.text((margin, 14), title, font=ImageFont.load_default(size=22), fill="#1c2733")
    top = max([max(e, p) for _, e, p in weekly] + [1])
    slot = (width - 2 * margin) / len(weekly)
    base = height - margin
    for index, (label, enrolled, passed) in enumerate(weekly):
        x = margin + index * slot
        for offset, value, colour in ((0.15, enrolled, "#1f6fb2"), (0.5, passed, "#1f7a5a")):
            bar = (base - 70) * value / top
            draw.rectangle(
                (x + slot * offset, base - bar, x + slot * (offset + 0.3), base), fill=colour
            )
        draw.text((x + slot / 2, base + 8), label, font=font, fill="#6b7785", anchor="mt")
    draw.rectangle((width - 230, 20, width - 216, 34), fill="#1f6fb2")
    draw.text((width - 210, 18), legend[0], font=font, fill="#1c2733")
    draw.rectangle((width - 120, 20, width - 106, 34), fill="#1f7a5a")
    draw.text((width - 100, 18), legend[1], font=font, fill="#1c2733")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def trainees_workbook(headers: list[str], pii: Pii) -> bytes:
    """One row per enrolment, personal data masked as everywhere else."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "trainees"
    sheet.append(headers)
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
                row.certificate.cert_type,
                row.certificate.number,
                row.state,
                row.study_deadline.astimezone(CHINA).strftime("%Y-%m-%d")
                if row.study_deadline
                else "",
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
