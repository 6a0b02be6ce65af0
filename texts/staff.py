"""Words for support staff in the staff group."""

from __future__ import annotations

from html import escape
from typing import Any

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
