"""Who is looking at a Mini App page: Telegram initData, a signed link, or the session cookie."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aiogram.utils.web_app import safe_parse_webapp_init_data

from infra.signing import BadToken, Signer

SESSION_COOKIE = "jj_session"
SESSION_PURPOSE = "webview-session"
LINK_PURPOSE = "webview-link"


class NotAuthenticated(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Viewer:
    user_id: int
    first_name: str
    language_code: str | None


def viewer_from_init_data(bot_token: str, init_data: str, *, now: datetime, max_age: int) -> Viewer:
    """aiogram checks the HMAC; the age of auth_date is ours to check (replayed initData)."""
    try:
        data = safe_parse_webapp_init_data(bot_token, init_data)
    except (ValueError, TypeError):  # TypeError: a non-ASCII hash reaches compare_digest
        raise NotAuthenticated("bad_init_data") from None
    if data.user is None:
        raise NotAuthenticated("bad_init_data")
    age = (now - data.auth_date).total_seconds()
    if age > max_age or age < -60:
        raise NotAuthenticated("expired_init_data")
    return Viewer(data.user.id, data.user.first_name, data.user.language_code)


class Sessions:
    def __init__(self, signer: Signer, *, session_ttl: int, link_ttl: int) -> None:
        self._signer = signer
        self._session_ttl = session_ttl
        self._link_ttl = link_ttl

    def _token(self, purpose: str, viewer: Viewer, now: datetime, ttl: int) -> str:
        payload = {"u": viewer.user_id, "n": viewer.first_name, "l": viewer.language_code}
        return self._signer.sign(purpose, payload, now=now, ttl=ttl)

    def _viewer(self, purpose: str, token: str, now: datetime) -> Viewer:
        try:
            payload = self._signer.unsign(purpose, token, now=now)
            return Viewer(int(payload["u"]), str(payload["n"]), payload.get("l"))
        except (BadToken, KeyError, TypeError, ValueError):
            raise NotAuthenticated("bad_token") from None

    @property
    def link_ttl(self) -> int:
        return self._link_ttl

    def session_token(self, viewer: Viewer, now: datetime) -> str:
        return self._token(SESSION_PURPOSE, viewer, now, self._session_ttl)

    def link_token(self, viewer: Viewer, now: datetime) -> str:
        """For a plain browser outside Telegram: a link the bot hands out, valid briefly."""
        return self._token(LINK_PURPOSE, viewer, now, self._link_ttl)

    def from_session(self, token: str, now: datetime) -> Viewer:
        return self._viewer(SESSION_PURPOSE, token, now)

    def from_link(self, token: str, now: datetime) -> Viewer:
        return self._viewer(LINK_PURPOSE, token, now)


STAFF_COOKIE = "jj_staff"
STAFF_LINK_PURPOSE = "staff-link"
STAFF_SESSION_PURPOSE = "staff-session"
STAFF_FORM_PURPOSE = "staff-form"
STAFF_LINK_TTL = 10 * 60
STAFF_SESSION_TTL = 8 * 3600


class StaffRole(StrEnum):
    """What a staff member may do in the console (docs/security.md): desk staff answer and
    decide; a supervisor (an administrator of the staff group) also moves identities and reads
    the audit log."""

    DESK = "desk"
    SUPERVISOR = "supervisor"


@dataclass(frozen=True, slots=True)
class StaffViewer:
    user_id: int
    name: str
    role: StaffRole
    locale: str
    nonce: str  # the sign-in link's, once: the session and its forms carry it

    @property
    def supervisor(self) -> bool:
        return self.role is StaffRole.SUPERVISOR


class StaffSessions:
    """The staff console's sign-in: a one-time link the bot gives a member of the staff group
    (`/console`), then a session cookie of its own, scoped to /staff."""

    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    def _token(self, purpose: str, staff: StaffViewer, now: datetime, ttl: int) -> str:
        payload = {
            "u": staff.user_id,
            "n": staff.name,
            "r": staff.role.value,
            "l": staff.locale,
            "j": staff.nonce,
        }
        return self._signer.sign(purpose, payload, now=now, ttl=ttl)

    def _staff(self, purpose: str, token: str, now: datetime) -> StaffViewer:
        try:
            payload = self._signer.unsign(purpose, token, now=now)
            return StaffViewer(
                int(payload["u"]),
                str(payload["n"]),
                StaffRole(payload["r"]),
                str(payload["l"]),
                str(payload["j"]),
            )
        except (BadToken, KeyError, TypeError, ValueError):
            raise NotAuthenticated("bad_token") from None

    def link_token(self, staff: StaffViewer, now: datetime) -> str:
        return self._token(STAFF_LINK_PURPOSE, staff, now, STAFF_LINK_TTL)

    def from_link(self, token: str, now: datetime) -> StaffViewer:
        return self._staff(STAFF_LINK_PURPOSE, token, now)

    def session_token(self, staff: StaffViewer, now: datetime) -> str:
        return self._token(STAFF_SESSION_PURPOSE, staff, now, STAFF_SESSION_TTL)

    def from_session(self, token: str, now: datetime) -> StaffViewer:
        return self._staff(STAFF_SESSION_PURPOSE, token, now)

    def form_token(self, staff: StaffViewer, now: datetime) -> str:
        """Every console form carries it: a post without it (another site's form riding the
        cookie) changes nothing."""
        return self._token(STAFF_FORM_PURPOSE, staff, now, STAFF_SESSION_TTL)

    def check_form(self, staff: StaffViewer, token: str, now: datetime) -> bool:
        try:
            signed = self._staff(STAFF_FORM_PURPOSE, token, now)
        except NotAuthenticated:
            return False
        return (signed.user_id, signed.nonce) == (staff.user_id, staff.nonce)
