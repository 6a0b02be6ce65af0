"""Words for support staff in the staff group."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from domain.enrolment import EnrolmentState
from domain.payment import format_yuan
from domain.registry import CertType
from domain.timezone import CHINA
from infra.reports import ChartWords, Overview, WorkbookWords
from texts.common import item
from texts.enrolment import cert_type_name, state_name
from texts.i18n import gettext as _


def import_started(file_name: str) -> str:
    return _("Importing the roster {file}…").format(file=escape(file_name))


def import_progress(done: int, total: int) -> str:
    filled = round(20 * done / total) if total else 20
    return _("Importing the roster: {bar} {done} of {total} rows").format(
        bar="▓" * filled + "░" * (20 - filled), done=done, total=total
    )


def import_report(report: Any) -> str:
    return _(
        "✅ Roster imported: {total} rows.\n"
        "New: {new} · updated: {updated} · unchanged: {unchanged} · rejected: {rejected}"
    ).format(
        total=report.total,
        new=report.new,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=report.rejected,
    )


def rejections_caption() -> str:
    return _("Rejected rows, each with its reason. Fix them and send the file again.")


def import_failed(code: str) -> str:
    texts = {
        "unsupported_file": _("Only .xlsx and .csv roster files can be imported."),
        "unreadable_file": _("The file cannot be read: is it a valid .xlsx or .csv file?"),
        "no_header": _(
            "No header row was found. The roster needs at least the columns ID number, name, "
            "certificate type, certificate number and expiry date (see the import guide)."
        ),
    }
    return "❌ " + texts.get(code, _("The roster could not be imported."))


# /stats


def overview(numbers: Overview) -> str:
    lines = [_("<b>Overview</b>")]
    lines += [
        item(state_name(EnrolmentState(state)), count)
        for state, count in sorted(numbers.by_state.items())
    ]
    lines.append(_("By certificate type:"))
    lines += [
        item(cert_type_name(CertType(kind)), count)
        for kind, count in sorted(numbers.by_type.items())
    ]
    lines.append(
        _("Paid today: {count} orders, ¥{amount}").format(
            count=numbers.paid_today, amount=format_yuan(numbers.paid_today_fen)
        )
    )
    lines.append(
        _("Open tickets: {tickets} · pending applications: {applications}").format(
            tickets=numbers.open_tickets, applications=numbers.pending_applications
        )
    )
    return "\n".join(lines)


def chart_words() -> ChartWords:
    return ChartWords(
        title=_("Enrolments and passes per week"),
        x_label=_("Week starting (Beijing time)"),
        y_label=_("People"),
        legend=(_("Enrolled"), _("Passed")),
    )


def chart_caption(weekly: list[tuple[str, int, int]]) -> str:
    return _(
        "Enrolments and passes per week, the last {weeks} weeks: {enrolled} enrolled, "
        "{passed} passed."
    ).format(
        weeks=len(weekly),
        enrolled=sum(enrolled for _week, enrolled, _passed in weekly),
        passed=sum(passed for _week, _enrolled, passed in weekly),
    )


def workbook_words() -> WorkbookWords:
    return WorkbookWords(
        sheet=_("Trainees"),
        headers=[
            _("Name"),
            _("ID number"),
            _("Phone"),
            _("Enterprise"),
            _("Certificate type"),
            _("Certificate number"),
            _("State"),
            _("Enrolled at"),
            _("Paid at"),
            _("Study deadline"),
        ],
        cert_type=lambda code: cert_type_name(CertType(code)),
        state=lambda code: state_name(EnrolmentState(code)),
    )


def workbook_file_name(now: datetime) -> str:
    return _("trainees-{date}.xlsx").format(date=now.astimezone(CHINA).strftime("%Y%m%d"))


def workbook_caption() -> str:
    return _("Trainees and their states (ID numbers and phones masked; times in Beijing time)")
