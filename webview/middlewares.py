from __future__ import annotations

import errno
import logging
import re
import uuid
from collections.abc import Awaitable, Callable

import aiohttp_jinja2
from aiohttp import web

from domain.locales import DEFAULT_LOCALE, Locale, resolve_locale
from infra.logging import REQUEST_ID
from infra.outages import describe, is_outage
from webview import keys
from webview.auth import SESSION_COOKIE, NotAuthenticated, Viewer

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

VIEWER: web.RequestKey[Viewer | None] = web.RequestKey("viewer", Viewer | None)  # type: ignore[arg-type]
LOCALE = web.RequestKey("locale", str)


def wants_json(request: web.Request) -> bool:
    return (
        "/api/" in request.path
        or request.path.startswith("/_local/bot")
        or ("application/json" in request.headers.get("Accept", ""))
    )


# What a client is told to wait before trying again while a dependency is down.
RETRY_AFTER = 60


def _error_response(request: web.Request, status: int) -> web.StreamResponse:
    if wants_json(request):
        body: dict[str, object] = {"ok": False, "error_code": status}
        if status == 503:
            i18n = request.app[keys.I18N]
            with i18n.context(), i18n.use_locale(request.get(LOCALE, DEFAULT_LOCALE.value)):
                body["error"] = "temporarily_unavailable"
                body["message"] = i18n.gettext(
                    "The service is temporarily unavailable. Please try again in a minute."
                )
        response = web.json_response(body, status=status)
    else:
        context = {"status": status, "locale": request.get(LOCALE, DEFAULT_LOCALE.value)}
        response = aiohttp_jinja2.render_template("error.html", request, context, status=status)
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


@web.middleware
async def request_id(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every line logged for a request carries its id, echoed in `X-Request-ID` so a trainee's
    report or the reverse proxy's log leads to it; a well-formed id from the proxy is kept."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    value = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    token = REQUEST_ID.set(value)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers[REQUEST_ID_HEADER] = value
        raise
    finally:
        REQUEST_ID.reset(token)
    response.headers[REQUEST_ID_HEADER] = value
    return response


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Friendly pages for people, JSON for the API; a 500 never shows a traceback. PostgreSQL
    or Redis unreachable is a 503 ("temporarily unavailable"), logged in one line: the drivers
    reconnect by themselves, so the same request works again once the outage is over."""
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed, web.HTTPRequestEntityTooLarge) as exc:
        return _error_response(request, exc.status)
    except web.HTTPException:
        raise
    except Exception as exc:
        if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
            return _error_response(request, 404)  # a static file name longer than the disk takes
        if is_outage(exc):
            log.warning(
                "request %s %s: a dependency is unavailable (%s)",
                request.method,
                request.path,
                describe(exc),
            )
            return _error_response(request, 503)
        log.exception("request %s %s failed", request.method, request.path)
        return _error_response(request, 500)


def words_only_on_refusal(handler: Handler) -> Handler:
    """Marks a hot JSON route whose success says no words (the exam autosave): the viewer's
    chosen language is read only when it refuses (`chosen_locale`), not on every request."""
    setattr(handler, "words_only_on_refusal", True)  # noqa: B010
    return handler


def reads_its_own_locale(handler: Handler) -> Handler:
    """Marks a page whose own read brings the viewer's chosen language (the study page, which
    the Mini App opens on): the account is not read for it beforehand; the handler calls
    `speak` with that choice before it says anything."""
    setattr(handler, "reads_its_own_locale", True)  # noqa: B010
    return handler


def speak(request: web.Request, chosen: str | None) -> None:
    """The language of the rest of a `reads_its_own_locale` request, now that its handler has
    read the viewer's choice; also what its refusals (a 404) are said in."""
    locale = _resolve(request, request[VIEWER], chosen).value
    request[LOCALE] = locale
    request.app[keys.I18N].switch_locale(locale)  # within viewer_and_locale's use_locale


def _resolve(request: web.Request, viewer: Viewer | None, chosen: str | None) -> Locale:
    """`?lang=`, else the language chosen in the chat, else the client's, else Chinese."""
    chosen = request.query.get("lang") or chosen
    language_code = viewer.language_code if viewer else None
    if language_code is None:
        language_code = request.headers.get("Accept-Language", "").split(",")[0] or None
    return resolve_locale(chosen, language_code)


async def chosen_locale(request: web.Request) -> str:
    """The language a request marked `words_only_on_refusal` answers a refusal in."""
    viewer = request[VIEWER]
    account = await request.app[keys.ACCOUNTS].get(viewer.user_id) if viewer else None  # type: ignore[arg-type]
    return _resolve(request, viewer, account.chosen_locale if account else None).value


@web.middleware
async def viewer_and_locale(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Who is looking (from the session cookie) and which language to answer in."""
    if request.path.startswith("/_local/"):
        return await handler(request)
    viewer: Viewer | None = None
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            viewer = request.app[keys.SESSIONS].from_session(token, request.app[keys.CLOCK].now())
        except NotAuthenticated:
            viewer = None
    chosen = None
    outage: Exception | None = None
    handler_of = request.match_info.handler
    quiet = getattr(handler_of, "words_only_on_refusal", False) or getattr(
        handler_of, "reads_its_own_locale", False
    )
    if viewer is not None and not quiet:
        try:
            account = await request.app[keys.ACCOUNTS].get(viewer.user_id)  # type: ignore[arg-type]
        except Exception as exc:  # a bug: the page still renders, in the Telegram language
            if is_outage(exc):
                outage = exc
            else:
                log.warning("could not load the locale of user %s", viewer.user_id, exc_info=True)
            account = None
        chosen = account.chosen_locale if account else None
    locale = _resolve(request, viewer, chosen)
    request[VIEWER] = viewer
    request[LOCALE] = locale.value
    i18n = request.app[keys.I18N]
    with i18n.context(), i18n.use_locale(locale.value):
        if outage is not None:
            # The page's own queries would only wait out the same deadline again (a hung
            # database: DATABASE_TIMEOUT): say so now, in the viewer's language.
            log.warning(
                "request %s %s: a dependency is unavailable (%s)",
                request.method,
                request.path,
                describe(outage),
            )
            return _error_response(request, 503)
        return await handler(request)


# The pages are the Mini App: Telegram Web shows it in a frame, the local chat page in its phone
# frame. Scripts only from our own files (no inline ones), photos only to ourselves.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # progress bars set their width in a style attribute
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self' https://web.telegram.org https://*.telegram.org",
    ]
)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every response of the web view (the local chat sets its own)."""
    if request.path.startswith("/_local"):
        return
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")  # sign-in links carry a token
    headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
    if request.app[keys.CONFIG].base_url.startswith("https://"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
