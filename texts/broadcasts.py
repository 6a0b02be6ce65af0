"""A broadcast's state in words, for the staff group's progress card and the staff console."""

from __future__ import annotations

from domain.reminders import BroadcastStatus
from texts.i18n import gettext as _


def status_name(status: BroadcastStatus) -> str:
    return {
        BroadcastStatus.DRAFT: _("draft"),
        BroadcastStatus.RUNNING: _("sending"),
        BroadcastStatus.PAUSED: _("paused"),
        BroadcastStatus.CANCELLED: _("cancelled"),
        BroadcastStatus.DONE: _("finished"),
    }[status]
