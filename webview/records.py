"""Records pages of the Mini App (issue 19): a trainee's learning record (学习记录) across years,
an enterprise contact's employees (table, detail, xlsx export, every receipt as one zip), a
payer's orders and invoices (发票列表) with each issued invoice to download again.

Same rules as the study pages: the session viewer only; somebody else's enrolment, order or
invoice is a 404, the same answer as one that does not exist. ID numbers and phones are masked
on every page and in the export (infra/repositories/records.py masks them)."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web
from openpyxl import Workbook

from domain.enrolment import EnrolmentState
from domain.payment import OrderStatus, format_yuan
from domain.records import EmployeeFilter, EnrolmentRecord, days_left, employee_filter
from domain.registry import CertType
from domain.timezone import CHINA
from infra.repositories.records import Records
from texts import records as texts
from texts.enrolment import cert_type_name, state_name
from webview import keys
from webview.middlewares import LOCALE
from webview.study import _context, _id, _viewer

log = logging.getLogger(__name__)

# Employees per page of the table; the export has them all.
PAGE_SIZE = 100
# Bytes handed to the response at a time by the export and the zip.
CHUNK = 64 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class InvoiceFiles(Protocol):
    """Where issued invoices are kept: staff attach them in the chat, so Telegram holds them."""

    async def read(self, file_id: str) -> tuple[bytes, str]:
        """The file's bytes and its suffix (".pdf")."""
        ...


@dataclass(frozen=True, slots=True)
class RecordsWeb:
    records: Records
    # A receipt's (PNG, PDF), rendered on first need (application.exam.Exams.receipt_files).
    receipt_files: Callable[[int], Awaitable[tuple[bytes, bytes]]]
    invoices: InvoiceFiles


RECORDS = web.AppKey("records", RecordsWeb)


def _day(moment: datetime | date | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        return moment.astimezone(CHINA).strftime("%Y-%m-%d")
    return moment.isoformat()


def _now(request: web.Request) -> datetime:
    return request.app[keys.CLOCK].now()


def _words(request: web.Request, **values: Any) -> dict[str, Any]:
    """What every records page formats with."""
    return _context(
        request,
        day=_day,
        yuan=format_yuan,
        cert_name=lambda cert_type: cert_type_name(CertType(cert_type)),
        state_label=lambda state: state_name(EnrolmentState(state)),
        order_status=lambda status: texts.order_status(OrderStatus(status)),
        **values,
    )


async def records_home(request: web.Request) -> web.Response:
    """学习记录: the trainee's own enrolments, and the way to the contact's and payer's pages."""
    viewer = _viewer(request)
    records = request.app[RECORDS].records
    trainee = await records.is_trainee(viewer.user_id)
    context = _words(
        request,
        trainee=trainee,
        rows=await records.trainee_records(viewer.user_id) if trainee else [],
        contact=await records.enterprise_of(viewer.user_id) is not None,
        payer=await records.is_payer(viewer.user_id),
    )
    return aiohttp_jinja2.render_template("records.html", request, context)


async def employees(request: web.Request) -> web.Response:
    viewer = _viewer(request)
    records = request.app[RECORDS].records
    only = employee_filter(request.query.get("state"))
    page = _page(request.query.get("page"))
    rows = await records.employees(
        viewer.user_id, only, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    if rows is None:
        return _not_a_contact(request)
    counts = await records.employee_counts(viewer.user_id)
    now = _now(request)
    context = _words(
        request,
        rows=rows,
        only=only,
        page=page,
        pages=max(1, -(-counts.get(only, 0) // PAGE_SIZE)),
        filters=[(f, texts.filter_name(f)) for f in EmployeeFilter],
        counts=counts,
        left={row.enrolment_id: days_left(row.deadline, row.state, now) for row in rows},
    )
    return aiohttp_jinja2.render_template("employees.html", request, context)


def _page(value: str | None) -> int:
    """Page 1 for anything that is not a small page number."""
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 6:
        return 1
    return max(1, int(value))


def _not_a_contact(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template(
        "employees.html", request, _words(request, rows=None), status=403
    )


async def employee(request: web.Request) -> web.Response:
    viewer = _viewer(request)
    records = request.app[RECORDS].records
    detail = await records.employee_detail(
        viewer.user_id, _id(request.match_info["enrolment_id"]), _now(request)
    )
    if detail is None:
        raise web.HTTPNotFound()
    course = records.course(detail.record.cert_type)
    locale = request[LOCALE]
    titles = {lesson.key: lesson.title[locale] for lesson in (course.lessons if course else ())}
    context = _words(request, detail=detail, record=detail.record, lesson_titles=titles)
    return aiohttp_jinja2.render_template("employee.html", request, context)


async def employee_receipt(request: web.Request) -> web.Response:
    """A contact's copy of an employee's receipt: the renewal (到期换证) needs it."""
    viewer = _viewer(request)
    web_ = request.app[RECORDS]
    found = await web_.records.employee_receipt(
        viewer.user_id, _id(request.match_info["enrolment_id"])
    )
    if found is None:
        raise web.HTTPNotFound()
    receipt_id, number = found
    _, pdf = await web_.receipt_files(receipt_id)
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="receipt-{number}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


def _attachment(name: str, fallback: str) -> str:
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


async def _download(
    request: web.Request, content_type: str, name: str, fallback: str, length: int | None = None
) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": content_type,
            "Content-Disposition": _attachment(name, fallback),
            "Cache-Control": "private, no-store",
        }
    )
    if length is not None:  # the browser can show how far the download is
        response.content_length = length
    await response.prepare(request)
    return response


def _export_row(
    record: EnrolmentRecord, now: datetime, states: dict[str, str], certs: dict[str, str]
) -> list[Any]:
    left = days_left(record.deadline, record.state, now)
    return [
        record.name,
        record.id_number_masked,
        record.phone_masked,
        certs[record.cert_type.value],
        record.certificate_number,
        states[record.state.value],
        _day(record.enrolled_at),
        _day(record.paid_at),
        _day(record.deadline),
        "" if left is None else left,
        record.hours,
        record.required_hours,
        record.percent,
        record.attempts,
        "" if record.best_score is None else record.best_score,
        _day(record.passed_at),
    ]


async def employees_export(request: web.Request) -> web.StreamResponse:
    """The employee table as .xlsx, memory flat whatever the number of rows: rows come from
    the database BATCH at a time into openpyxl's write-only sheet (which keeps them in a
    temporary file), the workbook is saved to a temporary file, and goes out a chunk at a
    time with its length, so the browser shows the download's progress. (openpyxl writes the
    archive only once every row is in: sending while writing gained no first byte earlier.)"""
    viewer = _viewer(request)
    records = request.app[RECORDS].records
    if await records.enterprise_of(viewer.user_id) is None:
        return _not_a_contact(request)
    only = employee_filter(request.query.get("state"))
    now = _now(request)
    # Words in the viewer's language, looked up here: the sheet is written in another thread.
    headers = texts.export_headers()
    title = texts.export_title()
    states = {state.value: state_name(state) for state in EnrolmentState}
    certs = {cert.value: cert_type_name(cert) for cert in CertType}
    batches = records.employee_batches(viewer.user_id, only)
    loop = asyncio.get_running_loop()

    async def next_batch(rows: AsyncIterator[list[EnrolmentRecord]]) -> list[EnrolmentRecord]:
        return await anext(rows, [])

    def write(path: Path) -> None:
        book = Workbook(write_only=True)
        sheet = book.create_sheet(title=title)
        sheet.append(headers)
        while batch := asyncio.run_coroutine_threadsafe(next_batch(batches), loop).result():
            for record in batch:
                sheet.append(_export_row(record, now, states, certs))
        book.save(path)

    with tempfile.TemporaryDirectory(prefix="jijiao-export-") as folder:
        path = Path(folder) / "employees.xlsx"
        await asyncio.to_thread(write, path)
        response = await _download(
            request, XLSX, f"{title}.xlsx", "employees.xlsx", length=path.stat().st_size
        )
        with path.open("rb") as workbook:
            while chunk := await asyncio.to_thread(workbook.read, CHUNK):
                await response.write(chunk)
    await response.write_eof()
    return response


class _Collected:
    """A file zipfile writes into on the event loop, emptied into the response after each
    member: one receipt in memory at a time."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._position = 0

    def write(self, data: bytes) -> int:
        self._buffer += data
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


async def employees_receipts(request: web.Request) -> web.StreamResponse:
    """Every valid receipt of the enterprise's employees as PDFs in one zip."""
    viewer = _viewer(request)
    web_ = request.app[RECORDS]
    if await web_.records.enterprise_of(viewer.user_id) is None:
        return _not_a_contact(request)
    receipts = await web_.records.employee_receipts(viewer.user_id)
    name = texts.receipts_archive()
    response = await _download(request, "application/zip", f"{name}.zip", "receipts.zip")
    sink = _Collected()
    # PDFs are compressed already: stored as they are.
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as archive:  # type: ignore[call-overload]
        for receipt_id, number, holder in receipts:
            _, pdf = await web_.receipt_files(receipt_id)
            archive.writestr(f"{holder}-{number}.pdf", pdf)
            await response.write(sink.take())
    await response.write(sink.take())
    await response.write_eof()
    return response


async def orders(request: web.Request) -> web.Response:
    viewer = _viewer(request)
    rows = await request.app[RECORDS].records.orders(viewer.user_id)
    return aiohttp_jinja2.render_template("orders.html", request, _words(request, orders=rows))


async def invoice(request: web.Request) -> web.Response:
    """An issued invoice, again (发票管理 → 发票列表): only the payer's own."""
    viewer = _viewer(request)
    web_ = request.app[RECORDS]
    found = await web_.records.invoice(viewer.user_id, _id(request.match_info["order_id"]))
    if found is None:
        raise web.HTTPNotFound()
    number, file_id = found
    body, suffix = await web_.invoices.read(file_id)
    content_type = "application/pdf" if suffix.lower() == ".pdf" else "application/octet-stream"
    return web.Response(
        body=body,
        content_type=content_type,
        headers={
            "Content-Disposition": f'attachment; filename="invoice-{number}{suffix}"',
            "Cache-Control": "private, no-store",
        },
    )


def add_records_routes(app: web.Application, records: RecordsWeb) -> None:
    app[RECORDS] = records
    app.router.add_get("/app/records", records_home, name="records")
    app.router.add_get("/app/employees", employees, name="employees")
    app.router.add_get("/app/employees/export.xlsx", employees_export, name="employees_export")
    app.router.add_get("/app/employees/receipts.zip", employees_receipts, name="employees_receipts")
    app.router.add_get("/app/employees/{enrolment_id}", employee, name="employee")
    app.router.add_get(
        "/app/employees/{enrolment_id}/receipt.pdf", employee_receipt, name="employee_receipt"
    )
    app.router.add_get("/app/orders", orders, name="orders")
    app.router.add_get("/app/orders/{order_id}/invoice", invoice, name="invoice")
