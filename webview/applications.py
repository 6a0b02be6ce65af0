"""The extension / make-up application form of the Mini App (R-EXT-3, S17): what the product
knows is shown filled in, the trainee writes the reason and signs with a finger; staff get the
same card as for an uploaded .docx, with the form as a PDF.

Same rules as the study pages: the session viewer only, somebody else's enrolment is a 404,
the post carries `X-Requested-With: jijiao`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp_jinja2
from aiohttp import BodyPartReader, web
from PIL import Image, ImageChops, UnidentifiedImageError

from domain.registry import CertType
from domain.support import ApplicationKind, Eligibility
from infra.forms import Closed, FormFacts
from texts import support as texts
from texts.enrolment import cert_type_name
from webview import keys
from webview.study import _context, _guard, _id, _viewer

REASON_MIN = 4
REASON_MAX = 500
MAX_SIGNATURE = 256 * 1024
# Bytes of one text field: REASON_MAX characters of any script, and room for spaces.
TEXT_LIMIT = 8 * REASON_MAX
# The canvas is at most a phone's width times its pixel ratio; bigger is not a signature.
SIGNATURE_MAX_SIDE = 2400
# Fewer drawn pixels than a short stroke: an empty box, or a tap.
SIGNATURE_MIN_INK = 150
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class ApplicationForms(Protocol):
    async def form(
        self, user_id: int, kind: ApplicationKind, enrolment_id: int
    ) -> FormFacts | Closed | None: ...

    async def submit(
        self,
        user_id: int,
        kind: ApplicationKind,
        enrolment_id: int,
        reason: str,
        signature_png: bytes,
    ) -> int | None: ...


@dataclass(frozen=True, slots=True)
class ApplicationWeb:
    forms: ApplicationForms


APPLICATIONS = web.AppKey("applications", ApplicationWeb)


class Invalid(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def _kind(value: str | None) -> ApplicationKind:
    try:
        return ApplicationKind(value or "")
    except ValueError:
        raise web.HTTPNotFound() from None


def _gettext(request: web.Request) -> Any:
    return request.app[keys.I18N].gettext


def kind_title(request: web.Request, kind: ApplicationKind) -> str:
    _ = _gettext(request)
    if kind is ApplicationKind.EXTENSION:
        return str(_("Extension application"))
    if kind is ApplicationKind.RESTUDY:
        return str(_("Re-study application"))
    return str(_("Make-up exam application"))


async def apply_page(request: web.Request) -> web.Response:
    viewer = _viewer(request)
    # In the path, not the query: the page's language links (`?lang=en`) keep the path only.
    kind = _kind(request.match_info["kind"])
    enrolment_id = _id(request.match_info["enrolment"])
    found = await request.app[APPLICATIONS].forms.form(viewer.user_id, kind, enrolment_id)
    if found is None:
        raise web.HTTPNotFound()
    context = _context(request, kind=kind.value, title=kind_title(request, kind))
    if isinstance(found, Closed):
        context.update(closed=texts.eligibility_line(found.label, kind.value, found.eligibility))
    else:
        context.update(
            facts=found,
            certificate=f"{cert_type_name(CertType(found.cert_type))} {found.cert_number}",
            reason_max=REASON_MAX,
        )
    response = aiohttp_jinja2.render_template("apply_form.html", request, context)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _read(part: BodyPartReader, limit: int) -> bytes | None:
    """The part's bytes, or None as soon as it is longer than `limit` (the rest is not kept)."""
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data.extend(chunk)
        if len(data) > limit:
            return None
    return bytes(data)


def _too_long(request: web.Request) -> Invalid:
    _ = _gettext(request)
    return Invalid(
        {
            "reason": _("The reason is too long: at most %(limit)s characters.")
            % {"limit": REASON_MAX}
        }
    )


async def _fields(request: web.Request) -> tuple[dict[str, str], bytes | None]:
    """The form's text fields and the signature's bytes, each read only up to its limit."""
    _ = _gettext(request)
    values: dict[str, str] = {}
    signature: bytes | None = None
    if request.content_type == "application/x-www-form-urlencoded":  # no file: no signature
        posted = await request.post()
        for name in ("kind", "enrolment", "reason"):
            value = posted.get(name)
            if isinstance(value, str):
                values[name] = value
        return values, None
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.name == "signature":
                signature = await _read(part, MAX_SIGNATURE)
                if signature is None:
                    raise Invalid(
                        {"signature": _("The signature is too large. Clear it and sign again.")}
                    )
            elif part.name in ("kind", "enrolment", "reason") and part.name not in values:
                text = await _read(part, TEXT_LIMIT)
                if text is None:
                    raise _too_long(request)
                values[part.name] = text.decode("utf-8", errors="replace")
    except (ValueError, AssertionError, LookupError):  # not multipart, no boundary, broken
        raise web.HTTPBadRequest(
            text='{"ok": false, "error": "bad_request"}', content_type="application/json"
        ) from None
    return values, signature


def _reason(request: web.Request, value: str | None) -> str:
    _ = _gettext(request)
    reason = " ".join((value or "").split())
    if not reason:
        raise Invalid({"reason": _("Please write why you are applying.")})
    if len(reason) < REASON_MIN:
        raise Invalid({"reason": _("Please write the reason in a few more words.")})
    if len(reason) > REASON_MAX:
        raise _too_long(request)
    return reason


def _signature(request: web.Request, data: bytes | None) -> bytes:
    """A PNG the page drew, with a signature in it: not an empty box, not something else."""
    _ = _gettext(request)
    empty = _("Please sign in the box with your finger before sending.")
    if not data:
        raise Invalid({"signature": empty})
    unreadable = _("The signature could not be read. Clear it and sign again.")
    if not data.startswith(PNG_MAGIC):
        raise Invalid({"signature": unreadable})
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size  # read from the header, before any pixel is decoded
            if not (0 < width <= SIGNATURE_MAX_SIDE and 0 < height <= SIGNATURE_MAX_SIDE):
                raise Invalid({"signature": unreadable})
            alpha = image.convert("RGBA").getchannel("A")
            grey = image.convert("L")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise Invalid({"signature": unreadable}) from None
    # Ink: a pixel drawn (not transparent) and not white (a page that paints its background).
    ink = ImageChops.multiply(
        alpha.point(lambda a: 255 if a > 64 else 0), grey.point(lambda v: 255 if v < 200 else 0)
    )
    inked = ink.histogram()[255]
    if inked < SIGNATURE_MIN_INK:
        raise Invalid({"signature": empty})
    return data


async def api_apply(request: web.Request) -> web.Response:
    viewer = _guard(request)
    forms = request.app[APPLICATIONS].forms
    try:
        values, signature = await _fields(request)
        kind = _kind(values.get("kind"))
        enrolment_id = _id(values.get("enrolment"))
        found = await forms.form(viewer.user_id, kind, enrolment_id)
        if found is None:
            raise web.HTTPNotFound(
                text='{"ok": false, "error": "not_found"}', content_type="application/json"
            )
        if isinstance(found, Closed):
            return _closed(kind, found)
        errors: dict[str, str] = {}
        reason = ""
        try:
            reason = _reason(request, values.get("reason"))
        except Invalid as invalid:
            errors.update(invalid.errors)
        try:
            png = _signature(request, signature)
        except Invalid as invalid:
            errors.update(invalid.errors)
        if errors:
            raise Invalid(errors)
    except Invalid as invalid:
        return web.json_response({"ok": False, "errors": invalid.errors}, status=422)
    application_id = await forms.submit(viewer.user_id, kind, enrolment_id, reason, png)
    if application_id is None:  # another form got there first
        return _closed(kind, Closed(found.label, Eligibility(False, "already_pending")))
    return web.json_response(
        {
            "ok": True,
            "application": application_id,
            "message": texts.application_received_in_app(application_id),
        }
    )


def _closed(kind: ApplicationKind, closed: Closed) -> web.Response:
    message = texts.eligibility_line(closed.label, kind.value, closed.eligibility)
    return web.json_response({"ok": False, "error": "closed", "message": message}, status=409)


def add_application_routes(app: web.Application, applications: ApplicationWeb) -> None:
    app[APPLICATIONS] = applications
    app.router.add_get("/app/apply/{kind}/{enrolment}", apply_page, name="apply")
    app.router.add_post("/app/api/apply", api_apply, name="apply_submit")
