"""The staff console at /staff/: the work behind the conversations, on a desktop browser.

Server-rendered pages and plain HTML forms, no script at all: a list is a GET with its search,
filter, sort and page in the address (bookmarkable, the back button works), an action is a POST
carrying the session's form token, answered by a redirect back to the list with what happened.
Nothing to build, nothing to keep in step with a front-end framework, and the page works in the
oldest browser a training centre's desktop runs.

Who: a member of the staff group signs in with a one-time link the bot gives them (`/console`);
their role comes from the group (an administrator is a supervisor). Decisions made here are the
chat's decisions: the trainee is told in their language and the card in the staff group shows
who decided and when.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from aiohttp.web_request import FileField
from yarl import URL

from domain.enrolment import EnrolmentState
from domain.identifiers import normalise_phone
from domain.masking import mask_phone
from domain.payment import OrderStatus, format_yuan
from domain.registry import CertType
from domain.support import ApplicationKind, ApplicationStatus
from domain.timezone import CHINA, local_date
from infra.repositories.console import ConsoleRecords, InvoiceState, Page, Rebound
from infra.repositories.desk_log import TortoiseDeskLog
from texts import console as texts
from texts.broadcasts import status_name as broadcast_status_name
from texts.enrolment import cert_type_name, masked_number, role_name, state_name
from texts.exam import attempt_status_name
from texts.support import application_status_name, kind_name, order_status_name
from webview import keys
from webview.auth import (
    STAFF_COOKIE,
    STAFF_SESSION_TTL,
    NotAuthenticated,
    StaffSessions,
    StaffViewer,
)

Handler = Callable[[web.Request, StaffViewer], Awaitable[web.StreamResponse]]
REASON_MAX = 500
MAX_BATCH = 100
MAX_INVOICE = 8 * 1024 * 1024 - 64 * 1024  # the app's body limit, less the form around it


class ConsoleActions(Protocol):
    """What the console does through the bot: the same use cases the staff group uses."""

    async def decide(
        self,
        application_id: int,
        *,
        approved: bool,
        staff_id: int,
        staff_name: str,
        reason: str | None,
    ) -> bool: ...

    async def tell_rebound(self, new_account: int, old_account: int | None) -> None: ...

    async def tell_attempt_back(self, account: int, number: int, left: int) -> None: ...

    async def attach_invoice(self, number: str, filename: str, pdf: bytes) -> str | None: ...

    async def correct_category(self, staff_id: int, number: str, category: str) -> str | None: ...


class DeskAnswers(Protocol):
    """A staff member's answer to a person in a support conversation, on the person's own
    channel (the composition root's: Telegram through the bot, WeChat as a customer-service
    message). Kept in the desk's record with who and when, whatever happens; False when the
    channel did not take it (WeChat's 48 hours are over, the person blocked the bot)."""

    async def answer(self, account: int, text: str, *, staff_id: int, staff_name: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class ConsoleWeb:
    records: ConsoleRecords
    sessions: StaffSessions
    actions: ConsoleActions
    staff_group: int | None = None  # for links to the trainees' topics
    answers: DeskAnswers | None = None
    desk_log: TortoiseDeskLog | None = None


CONSOLE = web.AppKey("console", ConsoleWeb)
STAFF = web.RequestKey("staff", StaffViewer)


def _now(request: web.Request) -> datetime:
    return request.app[keys.CLOCK].now()


def _local(moment: datetime | None) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _page_number(request: web.Request) -> int:
    value = request.query.get("page", "1")
    return int(value) if value.isascii() and value.isdigit() and 0 < len(value) < 6 else 1


def _id(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise web.HTTPNotFound()
    return int(value)


def _render(
    request: web.Request, template: str, http_status: int = 200, **values: Any
) -> web.Response:
    staff: StaffViewer | None = request.get(STAFF)
    console = request.app[CONSOLE]
    context = {
        "locale": request.app[keys.I18N].current_locale,
        "staff": staff,
        "form_token": console.sessions.form_token(staff, _now(request)) if staff else "",
        "local": _local,
        "kind_name": lambda kind: kind_name(str(kind)),
        "status_name": lambda status: application_status_name(str(status)),
        "order_status_name": lambda status: order_status_name(str(status)),
        "cert_type_name": cert_type_name,
        "role_name": role_name,
        "masked_number": masked_number,
        "attempt_status_name": attempt_status_name,
        "state_name": lambda state: state_name(EnrolmentState(state)),
        "action_name": texts.action_name,
        "subject_name": texts.subject_name,
        "path": request.path,
        "person_filter": _person_filter(request),
        "back": request.path_qs,
        "query_for": lambda **changes: urlencode(
            {**{k: v for k, v in request.query.items() if k not in _OUTCOMES}, **changes}
        ),
        **values,
    }
    response = aiohttp_jinja2.render_template(
        f"console/{template}", request, context, status=http_status
    )
    _private(response)
    return response


def _private(response: web.StreamResponse) -> None:
    # Not framed by anyone (the Mini App's policy lets Telegram frame it), not cached.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
    response.headers["Cache-Control"] = "no-store"


View = Callable[[web.Request], Awaitable[web.StreamResponse]]


def staff_page(*, supervisor: bool = False) -> Callable[[Handler], View]:
    """The staff member from the console's own cookie, pages in their language; a post must
    carry the form token of this session."""

    def wrap(handler: Handler) -> View:
        async def page(request: web.Request) -> web.StreamResponse:
            console = request.app[CONSOLE]
            i18n = request.app[keys.I18N]
            staff: StaffViewer | None = None
            token = request.cookies.get(STAFF_COOKIE)
            if token:
                try:
                    staff = console.sessions.from_session(token, _now(request))
                except NotAuthenticated:
                    staff = None
            chosen = request.query.get("lang")
            locale = chosen if chosen in ("zh_CN", "en") else (staff.locale if staff else None)
            with i18n.use_locale(locale or i18n.current_locale):
                if staff is None:
                    return _render(request, "signed_out.html", http_status=401, why="signed_out")
                request[STAFF] = staff
                if supervisor and not staff.supervisor:
                    return _render(request, "signed_out.html", http_status=403, why="forbidden")
                if request.method == "POST":
                    form = await request.post()
                    if not console.sessions.check_form(
                        staff, str(form.get("form_token", "")), _now(request)
                    ):
                        return _render(request, "signed_out.html", http_status=403, why="form")
                response = await handler(request, staff)
                if chosen in ("zh_CN", "en") and chosen != staff.locale:
                    # The language picked stays for the rest of the session.
                    _set_session(request, response, _relocale(staff, chosen))
                return response

        return page

    return wrap


def _relocale(staff: StaffViewer, locale: str) -> StaffViewer:
    return StaffViewer(staff.user_id, staff.name, staff.role, locale, staff.nonce)


def _set_session(request: web.Request, response: web.StreamResponse, staff: StaffViewer) -> None:
    token = request.app[CONSOLE].sessions.session_token(staff, _now(request))
    response.set_cookie(
        STAFF_COOKIE,
        token,
        max_age=STAFF_SESSION_TTL,
        path="/staff",
        httponly=True,
        samesite="Strict",
        secure=request.app[keys.CONFIG].base_url.startswith("https://"),
    )


async def sign_in(request: web.Request) -> web.StreamResponse:
    """The bot's one-time link: a session of 8 hours, the token gone from the address."""
    console = request.app[CONSOLE]
    i18n = request.app[keys.I18N]
    try:
        staff = console.sessions.from_link(request.query.get("t", ""), _now(request))
    except NotAuthenticated:
        return _render(request, "signed_out.html", http_status=401, why="expired")
    with i18n.use_locale(staff.locale):
        if not await console.records.sign_in_once(staff.nonce, staff.user_id, _now(request)):
            return _render(request, "signed_out.html", http_status=401, why="used")
        landing = str(request.app.router["console_applications"].url_for())
        response = web.Response(status=303, headers={"Location": landing})
        _set_session(request, response, staff)
        _private(response)
        return response


@staff_page()
async def sign_out(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    response = _render(request, "signed_out.html", why="signed_out_now")
    response.del_cookie(STAFF_COOKIE, path="/staff")
    return response


async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(request.app.router["console_applications"].url_for())


E = TypeVar(
    "E", ApplicationStatus, ApplicationKind, OrderStatus, InvoiceState, EnrolmentState, CertType
)


def _pick(kind: type[E], value: str | None) -> E | None:
    try:
        return kind(value) if value else None
    except ValueError:
        return None


@staff_page()
async def applications(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    query = request.query
    status = (
        _pick(ApplicationStatus, query.get("status", ApplicationStatus.PENDING.value))
        if query.get("status") != "all"
        else None
    )
    kind = _pick(ApplicationKind, query.get("kind"))
    search = query.get("q", "").strip()[:64]
    newest = query.get("sort") == "newest"
    page = await request.app[CONSOLE].records.applications(
        status=status,
        kind=kind,
        name=search,
        person=_person_filter(request),
        page=_page_number(request),
        newest_first=newest,
    )
    return _render(
        request,
        "applications.html",
        page=page,
        status=status.value if status else "all",
        kind=kind.value if kind else "",
        q=search,
        sort="newest" if newest else "oldest",
        statuses=list(ApplicationStatus),
        kinds=list(ApplicationKind),
        flash=_flash(request),
    )


def _flash(request: web.Request) -> list[str]:
    query = request.query
    lines = []
    for key, approved in (("approved", True), ("rejected", False)):
        if query.get(key, "").isdigit():
            lines.append(texts.decided(int(query[key]), approved))
    if query.get("missed", "0").isdigit() and int(query.get("missed", "0")):
        lines.append(texts.missed(int(query["missed"])))
    messages = {
        "reason": texts.reason_needed,
        "none": texts.nothing_chosen,
        "gone": texts.rebind_gone,
        "taken": texts.rebind_account_taken,
        "phone_invalid": texts.phone_invalid,
        "reason_give_back": texts.give_back_reason_needed,
        "not_given_back": texts.not_given_back,
    }
    if query.get("problem") in messages:
        lines.append(messages[query["problem"]]())
    if query.get("moved_to", "").isdigit():
        old = query.get("moved_from", "")
        lines.append(texts.rebound(int(old) if old.isdigit() else None, int(query["moved_to"])))
    if query.get("given_back", "").isdigit():
        lines.append(texts.given_back(int(query["given_back"])))
    if query.get("invoice_sent"):
        lines.append(texts.invoice_sent(query["invoice_sent"][:32]))
    if query.get("invoice_problem"):
        lines.append(texts.invoice_problem(query["invoice_problem"][:32]))
    if query.get("refused"):
        lines.append(query["refused"][:300])
    if query.get("category_set"):
        lines.append(texts.category_set(query["category_set"][:16]))
    if query.get("phone_new"):
        lines.append(texts.phone_changed(query.get("phone_old", ""), query["phone_new"]))
    return lines


def _back(request: web.Request, form: Any, **outcome: object) -> web.HTTPSeeOther:
    """To the list the action came from, its filters kept, with what happened."""
    back = str(form.get("back", ""))
    if not back.startswith("/staff/") or "//" in back:
        back = str(request.app.router["console_applications"].url_for())
    url = URL(back)
    query = {k: v for k, v in url.query.items() if k not in _OUTCOMES}
    query.update({k: str(v) for k, v in outcome.items()})
    return web.HTTPSeeOther(url.with_query(query))


_OUTCOMES = {
    "approved",
    "rejected",
    "missed",
    "problem",
    "moved_to",
    "moved_from",
    "phone_old",
    "phone_new",
    "given_back",
    "invoice_sent",
    "invoice_problem",
    "refused",
    "category_set",
}


@staff_page()
async def decide(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    form = await request.post()
    approved = form.get("decision") == "approve"
    reason = " ".join(str(form.get("reason", "")).split())[:REASON_MAX] or None
    chosen = [_id(str(value)) for value in form.getall("application", [])][:MAX_BATCH]
    if not chosen:
        raise _back(request, form, problem="none")
    if not approved and reason is None:
        raise _back(request, form, problem="reason")
    actions = request.app[CONSOLE].actions
    done = 0
    for application_id in dict.fromkeys(chosen):
        if await actions.decide(
            application_id,
            approved=approved,
            staff_id=staff.user_id,
            staff_name=staff.name,
            reason=None if approved else reason,
        ):
            done += 1
    outcome = {"approved" if approved else "rejected": done, "missed": len(set(chosen)) - done}
    raise _back(request, form, **outcome)


def _person_filter(request: web.Request) -> int | None:
    value = request.query.get("person", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


@staff_page()
async def search(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    """A search is posted, so an ID number or phone typed never lands in an address (history,
    a proxy's log, a shared screen): the list it leads to names the person by row, or the
    part of a name that was typed."""
    form = await request.post()
    text = str(form.get("q", "")).strip()[:64]
    found = await request.app[CONSOLE].records.find_people(text)
    target = {
        "applications": "console_applications",
        "enrolments": "console_enrolments",
    }.get(str(form.get("list")), "console_people")
    url = request.app.router[target].url_for()
    kept = {k: str(form[k]) for k in ("status", "kind", "sort", "state", "type") if form.get(k)}
    if found is None:
        raise web.HTTPSeeOther(url.with_query({**kept, "q": text} if text else kept))
    if target == "console_people" and len(found) == 1:
        raise web.HTTPSeeOther(request.app.router["console_person"].url_for(person=str(found[0])))
    raise web.HTTPSeeOther(url.with_query({**kept, "person": str(found[0] if found else 0)}))


@staff_page()
async def people(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    search = request.query.get("q", "").strip()[:64]
    page = await request.app[CONSOLE].records.people(
        name=search, person=_person_filter(request), page=_page_number(request)
    )
    return _render(request, "people.html", page=page, q=search, flash=_flash(request))


@staff_page()
async def person(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    detail = await request.app[CONSOLE].records.person(_id(request.match_info["person"]))
    if detail is None:
        raise web.HTTPNotFound()
    return _render(request, "person.html", detail=detail, flash=_flash(request))


@staff_page(supervisor=True)
async def rebind(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    form = await request.post()
    person_id = _id(request.match_info["person"])
    moved = await request.app[CONSOLE].records.rebind(
        person_id, _id(str(form.get("request", ""))), staff.user_id
    )
    if moved.outcome is Rebound.GONE:
        raise _back(request, form, problem="gone")
    if moved.outcome is Rebound.ACCOUNT_TAKEN:
        raise _back(request, form, problem="taken")
    assert moved.new_account is not None
    await request.app[CONSOLE].actions.tell_rebound(moved.new_account, moved.old_account)
    raise _back(request, form, moved_to=moved.new_account, moved_from=moved.old_account or "")


@staff_page(supervisor=True)
async def change_phone(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    form = await request.post()
    phone = normalise_phone(str(form.get("phone", ""))[:32])
    if len(phone) != 11 or not phone.startswith("1"):
        raise _back(request, form, problem="phone_invalid")
    old = await request.app[CONSOLE].records.change_phone(
        _id(request.match_info["person"]), phone, staff.user_id
    )
    if old is None:
        raise web.HTTPNotFound()
    raise _back(request, form, phone_old=old, phone_new=mask_phone(phone))


@staff_page(supervisor=True)
async def give_back(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    form = await request.post()
    reason = " ".join(str(form.get("reason", "")).split())[:REASON_MAX]
    if not reason:
        raise _back(request, form, problem="reason_give_back")
    given = await request.app[CONSOLE].records.give_back(
        _id(request.match_info["person"]),
        _id(str(form.get("attempt", ""))),
        staff.user_id,
        reason,
    )
    if given is None:
        raise _back(request, form, problem="not_given_back")
    await request.app[CONSOLE].actions.tell_attempt_back(given.account, given.number, given.left)
    raise _back(request, form, given_back=given.number)


@staff_page()
async def enrolments(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    query = request.query
    state = _pick(EnrolmentState, query.get("state"))
    cert_type = _pick(CertType, query.get("type"))
    search = query.get("q", "").strip()[:64]
    page = await request.app[CONSOLE].records.enrolments(
        state=state,
        cert_type=cert_type,
        name=search,
        person=_person_filter(request),
        page=_page_number(request),
    )
    return _render(
        request,
        "enrolments.html",
        page=page,
        state=state.value if state else "",
        cert_type=cert_type.value if cert_type else "",
        q=search,
        states=list(EnrolmentState),
        types=list(CertType),
    )


@staff_page()
async def orders(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    query = request.query
    status = _pick(OrderStatus, query.get("status"))
    invoice = _pick(InvoiceState, query.get("invoice"))
    number = query.get("number", "").strip()[:32]
    page = await request.app[CONSOLE].records.orders(
        status=status,
        invoice=invoice,
        number=number,
        page=_page_number(request),
        today=local_date(_now(request)),
    )
    return _render(
        request,
        "orders.html",
        page=page,
        status=status.value if status else "",
        invoice=invoice.value if invoice else "",
        number=number,
        statuses=list(OrderStatus),
        invoices=[s for s in InvoiceState if s is not InvoiceState.NOT_DUE],
        yuan=format_yuan,
        provider_name=texts.provider_name,
        invoice_state_name=texts.invoice_state_name,
        flash=_flash(request),
    )


@staff_page()
async def upload_invoice(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    form = await request.post()
    number = str(form.get("number", "")).strip()[:32]
    upload = form.get("invoice")
    if not isinstance(upload, FileField):
        raise _back(request, form, invoice_problem="not_pdf")
    pdf = upload.file.read(MAX_INVOICE + 1)
    if len(pdf) > MAX_INVOICE or not pdf.startswith(b"%PDF-"):
        raise _back(request, form, invoice_problem="not_pdf")
    problem = await request.app[CONSOLE].actions.attach_invoice(
        number, f"invoice-{number}.pdf", pdf
    )
    if problem is not None:
        raise _back(request, form, invoice_problem=problem)
    await request.app[CONSOLE].records.note(staff.user_id, "invoice_attached", f"order:{number}")
    raise _back(request, form, invoice_sent=number)


@staff_page()
async def topics(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    open_only = request.query.get("show") != "all"
    page = await request.app[CONSOLE].records.topics(
        open_only=open_only,
        page=_page_number(request),
        staff_group=request.app[CONSOLE].staff_group,
    )
    return _render(request, "topics.html", page=page, open_only=open_only)


ANSWER_MAX = 2000  # WeChat takes a text of up to 2048 bytes' worth; Telegram's, 4096


def _desk_log(request: web.Request) -> TortoiseDeskLog:
    desk_log = request.app[CONSOLE].desk_log
    if desk_log is None:
        raise web.HTTPNotFound()
    return desk_log


def _waiting(since: datetime | None, now: datetime) -> str:
    if since is None:
        return texts.answered()
    minutes = max(0, int((now - since).total_seconds() // 60))
    return texts.waiting_for(minutes)


@staff_page()
async def conversations(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    """Every support conversation, whichever channel it came from: the longest waiting first."""
    page_number = _page_number(request)
    total, rows = await _desk_log(request).conversations(page=page_number)
    now = _now(request)
    return _render(
        request,
        "conversations.html",
        page=Page(rows, page_number, total),
        waiting=lambda since: _waiting(since, now),
        channel_name=texts.channel_name,
    )


@staff_page()
async def conversation(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    account = _account_id(request.match_info["account"])
    found = await _desk_log(request).conversation(account)
    if found is None:
        raise web.HTTPNotFound()
    query = request.query
    flash, warn = [], []
    if query.get("sent") == "1":
        flash.append(texts.answer_sent())
    if query.get("sent") == "0":
        warn.append(texts.answer_not_delivered(found.head.channel == "wechat"))
    if query.get("problem") == "empty":
        warn.append(texts.answer_empty())
    return _render(
        request,
        "conversation.html",
        conversation=found,
        flash=flash,
        warn=warn,
        waiting=_waiting(found.head.waiting_since, _now(request)),
        channel_name=texts.channel_name,
    )


@staff_page()
async def answer(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    account = _account_id(request.match_info["account"])
    console = request.app[CONSOLE]
    if console.answers is None or not await _desk_log(request).exists(account):
        raise web.HTTPNotFound()
    form = await request.post()
    text = str(form.get("text", "")).strip()[:ANSWER_MAX]
    here = request.app.router["console_conversation"].url_for(account=str(account))
    if not text:
        raise web.HTTPSeeOther(here.with_query(problem="empty"))
    delivered = await console.answers.answer(
        account, text, staff_id=staff.user_id, staff_name=staff.name
    )
    raise web.HTTPSeeOther(here.with_query(sent="1" if delivered else "0"))


def _account_id(value: str) -> int:
    """A chat account's id: a Telegram user's (positive) or another channel's (negative)."""
    negative = value.startswith("-")
    return -_id(value[1:]) if negative else _id(value)


@staff_page()
async def reviews(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    pending_only = request.query.get("show") != "all"
    page = await request.app[CONSOLE].records.reviews(
        pending_only=pending_only, page=_page_number(request)
    )
    return _render(
        request,
        "reviews.html",
        page=page,
        pending_only=pending_only,
        review_kind_name=texts.review_kind_name,
        review_status_name=texts.review_status_name,
    )


@staff_page()
async def broadcasts(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    page = await request.app[CONSOLE].records.broadcasts(
        page=_page_number(request), now=_now(request)
    )
    return _render(
        request, "broadcasts.html", page=page, broadcast_status_name=broadcast_status_name
    )


@staff_page()
async def correct_category(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    """R-ENROL-4, S3: the same correction as /category in the staff group."""
    form = await request.post()
    person_id = _id(request.match_info["person"])
    number = await request.app[CONSOLE].records.certificate_number(
        person_id, _id(str(form.get("enrolment", "")))
    )
    if number is None:
        raise web.HTTPNotFound()
    refused = await request.app[CONSOLE].actions.correct_category(
        staff.user_id, number, str(form.get("category", ""))[:16]
    )
    if refused is not None:
        raise _back(request, form, refused=refused[:300])
    raise _back(request, form, category_set=str(form.get("category", ""))[:16])


@staff_page(supervisor=True)
async def audit_log(request: web.Request, staff: StaffViewer) -> web.StreamResponse:
    page = await request.app[CONSOLE].records.audit_log(page=_page_number(request))
    return _render(request, "audit.html", page=page)


def add_console_routes(app: web.Application, console: ConsoleWeb) -> None:
    app[CONSOLE] = console
    app.router.add_get("/staff/login", sign_in, name="console_sign_in")
    app.router.add_post("/staff/logout", sign_out, name="console_sign_out")
    app.router.add_get("/staff/", home, name="console_home")
    app.router.add_get("/staff/applications", applications, name="console_applications")
    app.router.add_post("/staff/applications/decide", decide, name="console_decide")
    app.router.add_get("/staff/people", people, name="console_people")
    app.router.add_post("/staff/search", search, name="console_search")
    app.router.add_get("/staff/people/{person}", person, name="console_person")
    app.router.add_post("/staff/people/{person}/rebind", rebind, name="console_rebind")
    app.router.add_post("/staff/people/{person}/phone", change_phone, name="console_phone")
    app.router.add_post("/staff/people/{person}/give-back", give_back, name="console_give_back")
    app.router.add_post(
        "/staff/people/{person}/category", correct_category, name="console_category"
    )
    app.router.add_get("/staff/enrolments", enrolments, name="console_enrolments")
    app.router.add_get("/staff/orders", orders, name="console_orders")
    app.router.add_post("/staff/orders/invoice", upload_invoice, name="console_invoice")
    app.router.add_get("/staff/topics", topics, name="console_topics")
    app.router.add_get("/staff/conversations", conversations, name="console_conversations")
    app.router.add_get("/staff/conversations/{account}", conversation, name="console_conversation")
    app.router.add_post("/staff/conversations/{account}/answer", answer, name="console_answer")
    app.router.add_get("/staff/reviews", reviews, name="console_reviews")
    app.router.add_get("/staff/broadcasts", broadcasts, name="console_broadcasts")
    app.router.add_get("/staff/audit", audit_log, name="console_audit")
