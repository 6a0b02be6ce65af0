"""Words for the records pages and their export (issue 19)."""

from __future__ import annotations

from domain.payment import OrderStatus
from domain.records import EmployeeFilter
from texts.i18n import gettext as _


def order_status(status: OrderStatus) -> str:
    return {
        OrderStatus.PENDING: _("awaiting payment"),
        OrderStatus.PAID: _("paid"),
        OrderStatus.EXPIRED: _("expired unpaid"),
        OrderStatus.CLOSED: _("closed"),
    }[status]


def filter_name(only: EmployeeFilter) -> str:
    return {
        EmployeeFilter.ALL: _("All"),
        EmployeeFilter.ENROLLED: _("Not paid yet"),
        EmployeeFilter.PAID: _("Paid"),
        EmployeeFilter.STUDYING: _("Studying"),
        EmployeeFilter.PASSED: _("Passed"),
        EmployeeFilter.OVERDUE: _("Overdue"),
        EmployeeFilter.CANCELLED: _("Cancelled"),
    }[only]


def export_title() -> str:
    return _("Employee training records")


def receipts_archive() -> str:
    return _("Employee completion receipts")


def export_headers() -> list[str]:
    return [
        _("Name"),
        _("ID number"),
        _("Phone"),
        _("Certificate type"),
        _("Certificate number"),
        _("State"),
        _("Enrolled on"),
        _("Paid on"),
        _("Study deadline"),
        _("Days left"),
        _("Hours studied"),
        _("Hours required"),
        _("Progress (%)"),
        _("Exam attempts"),
        _("Best score"),
        _("Passed on"),
    ]
