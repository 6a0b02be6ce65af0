"""Exam pages of the Mini App, the trainee's receipt files, and the public verification page.

Same rules as the study pages: every route needs the session viewer, another trainee's
enrolment or attempt is a 404, state changes carry `X-Requested-With: jijiao`. The page's
countdown is drawn from the server's deadline and the server's clock, sent with every answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from application.exam import AttemptView, Exams
from application.study import PendingCheck, StudyEnrolment
from domain.exam import WARNING_BEFORE, ExamBlock, ExamEligibility, Identity
from domain.masking import mask_name
from domain.registry import CertType, SiteRole
from domain.timezone import CHINA
from texts.enrolment import type_and_role
from webview import keys
from webview.middlewares import LOCALE, chosen_locale, words_only_on_refusal
from webview.study import STUDY, _context, _enrolment, _guard, _id, _json, _now, _viewer

EXAMS = web.AppKey("exams", Exams)


def _local(moment: datetime | None) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment else ""


def _check_json(check: PendingCheck | None, now: datetime) -> dict[str, Any] | None:
    return check.as_json(now) if check is not None else None


def blocked_text(
    request: web.Request, enrolment: StudyEnrolment, eligibility: ExamEligibility
) -> list[str]:
    """S13: exactly what is missing, lesson by lesson, or which date closed the window."""
    _ = request.app[keys.I18N].gettext
    locale = request[LOCALE]
    course = request.app[STUDY].study.course(enrolment)
    if eligibility.block is ExamBlock.LESSONS:
        titles = {lesson.key: lesson.title[locale] for lesson in course.lessons}
        return [_("The exam opens when every lesson is at 100%.")] + [
            _("{lesson} is at {percent}%.").format(lesson=titles.get(key, key), percent=percent)
            for key, percent in eligibility.short_lessons
        ]
    if eligibility.block is ExamBlock.WINDOW_CLOSED:
        return [
            _(
                "Your study window closed on {date}. You can apply for an extension in the "
                "chat (📨 Applications)."
            ).format(date=_local(eligibility.window_end or enrolment.deadline))
        ]
    if eligibility.block is ExamBlock.NO_ATTEMPTS:
        return [
            _(
                "All attempts are used. You can apply for a make-up exam in the chat "
                "(📨 Applications); once staff approve it you get 5 new attempts."
            )
        ]
    if eligibility.block is ExamBlock.PASSED:
        return [_("You passed. Your completion receipt is below and in the chat.")]
    if eligibility.block is ExamBlock.PHOTO_PENDING:
        return [
            _(
                "Your new enrolment photo is waiting for staff approval. The exam opens once "
                "they approve it; you hear it in the chat."
            )
        ]
    if eligibility.block is ExamBlock.HELD:
        return [
            _(
                "Your attempt reached the pass mark, but a face check during it did not pass. "
                "Staff confirm that it was you before the receipt is issued; you hear it in the "
                "chat."
            )
        ]
    return []


async def exam_home(request: web.Request) -> web.Response:
    viewer = _viewer(request)
    study = request.app[STUDY].study
    exams = request.app[EXAMS]
    enrolments = await study.enrolments(viewer.user_id)
    context = _context(request, enrolments=enrolments)
    if not enrolments:
        return aiohttp_jinja2.render_template("exam_home.html", request, context)
    if "enrolment" in request.query:
        current = await _enrolment(request, viewer, request.query["enrolment"])
    else:
        current = enrolments[0]
    overview = await exams.overview(viewer.user_id, current, _now(request))
    context.update(
        current=current,
        course=study.course(current),
        overview=overview,
        blocked=blocked_text(request, current, overview.eligibility),
        questions=exams.config.questions,
        minutes=int(exams.config.time_limit.total_seconds() // 60),
        local=_local,
    )
    return aiohttp_jinja2.render_template("exam_home.html", request, context)


def _attempt_json(request: web.Request, view: AttemptView) -> dict[str, Any]:
    now = _now(request)
    return {
        "ok": True,
        "id": view.id,
        "status": view.attempt.status.value,
        "deadline": view.attempt.deadline.isoformat(),
        "now": now.isoformat(),
        "seconds_left": max(0, int((view.attempt.deadline - now).total_seconds())),
        "answers": {key: sorted(value) for key, value in view.answers.items()},
        "check": _check_json(view.check, now),
    }


async def api_start(request: web.Request) -> web.Response:
    viewer = _guard(request)
    body = await _json(request)
    enrolment = await _enrolment(request, viewer, body.get("enrolment"))
    now = _now(request)
    result = await request.app[EXAMS].start(viewer.user_id, enrolment, now)
    if isinstance(result, PendingCheck):
        # The questions come once this check passes: nothing is drawn, no attempt is used.
        check = result.as_json(now)
        return web.json_response({"ok": False, "reason": "face_check", "check": check})
    if isinstance(result, ExamEligibility):
        return web.json_response(
            {
                "ok": False,
                "reason": result.block.value if result.block else None,
                "message": " ".join(blocked_text(request, enrolment, result)),
            },
            status=409,
        )
    return web.json_response(
        {**_attempt_json(request, result), "url": f"/app/exam/attempt/{result.id}"}
    )


async def _own_attempt(request: web.Request) -> AttemptView:
    viewer = _viewer(request)
    attempt_id = _id(request.match_info["attempt_id"])
    view = await request.app[EXAMS].attempt(viewer.user_id, attempt_id, _now(request))
    if view is None:
        raise web.HTTPNotFound()
    return view


async def exam_attempt(request: web.Request) -> web.Response:
    view = await _own_attempt(request)
    if view.attempt.closed:
        raise web.HTTPFound(f"/app/exam/attempt/{view.id}/review")
    exams = request.app[EXAMS]
    questions = [(exams.questions[d.question], d.options) for d in view.draw]
    context = _context(
        request,
        view=view,
        questions=questions,
        answers=view.answers,
        state=_attempt_json(request, view),
        warning_seconds=int(WARNING_BEFORE.total_seconds()),
        deadline=_local(view.attempt.deadline),
    )
    return aiohttp_jinja2.render_template("exam_attempt.html", request, context)


async def api_attempt(request: web.Request) -> web.Response:
    """What a reopened or reconnected page needs: status, answers, time left, a pending check."""
    return web.json_response(_attempt_json(request, await _own_attempt(request)))


@words_only_on_refusal
async def api_answer(request: web.Request) -> web.Response:
    viewer = _guard(request)
    attempt_id = _id(request.match_info["attempt_id"])
    body = await _json(request)
    question, picked = body.get("question"), body.get("options")
    if (
        not isinstance(question, str)
        or not isinstance(picked, list)
        or len(picked) > 10
        or not all(isinstance(option, str) for option in picked)
    ):
        raise web.HTTPBadRequest(
            text='{"ok": false, "error": "bad_request"}', content_type="application/json"
        )
    now = _now(request)
    saved = await request.app[EXAMS].save(viewer.user_id, attempt_id, question, picked, now)
    if saved is None:
        raise web.HTTPNotFound()
    if not saved.ok:
        i18n = request.app[keys.I18N]
        with i18n.use_locale(await chosen_locale(request)):
            _ = i18n.gettext
            messages = {
                "deadline_passed": _("Time is up: answers are no longer accepted."),
                "closed": _("This attempt is already submitted."),
            }
            message = messages.get(saved.code or "", _("This answer was not accepted."))
        return web.json_response(
            {"ok": False, "reason": saved.code, "message": message},
            status=409 if saved.code in messages else 422,
        )
    return web.json_response(
        {"ok": True, "now": now.isoformat(), "check": _check_json(saved.check, now)}
    )


async def api_submit(request: web.Request) -> web.Response:
    viewer = _guard(request)
    attempt_id = _id(request.match_info["attempt_id"])
    closed = await request.app[EXAMS].submit(viewer.user_id, attempt_id, _now(request))
    if closed is None:
        raise web.HTTPNotFound()
    return web.json_response(
        {
            "ok": True,
            "score": closed.attempt.score,
            "passed": closed.passed,
            "url": f"/app/exam/attempt/{attempt_id}/review",
        }
    )


async def exam_review(request: web.Request) -> web.Response:
    viewer = _viewer(request)
    attempt_id = _id(request.match_info["attempt_id"])
    exams = request.app[EXAMS]
    view = await exams.attempt(viewer.user_id, attempt_id, _now(request))
    if view is None:
        raise web.HTTPNotFound()
    if not view.attempt.closed:
        raise web.HTTPFound(f"/app/exam/attempt/{attempt_id}")
    items = await exams.review(viewer.user_id, attempt_id) or []
    wrong = [(exams.questions[item.question], item.picked) for item in items if not item.right]
    context = _context(
        request,
        view=view,
        wrong=wrong,
        right=len(items) - len(wrong),
        total=len(items),
        passed=view.attempt.score is not None
        and view.attempt.score >= 60
        and view.attempt.identity is Identity.CONFIRMED,
        identity=view.attempt.identity.value,
        receipt=await exams.receipt_of_enrolment(view.enrolment_id),
    )
    return aiohttp_jinja2.render_template("exam_review.html", request, context)


async def receipt_file(request: web.Request) -> web.Response:
    """The trainee's own receipt as PNG or PDF."""
    viewer = _viewer(request)
    receipt_id = _id(request.match_info["receipt_id"])
    exams = request.app[EXAMS]
    mine = {r.id: r for r in await exams.receipts_of(viewer.user_id)}
    receipt = mine.get(receipt_id)
    if receipt is None:
        raise web.HTTPNotFound()
    png, pdf = await exams.receipt_files(receipt_id)
    kind = request.match_info["kind"]
    body, content_type = (png, "image/png") if kind == "png" else (pdf, "application/pdf")
    return web.Response(
        body=body,
        content_type=content_type,
        headers={
            "Content-Disposition": f'inline; filename="receipt-{receipt.number}.{kind}"',
            "Cache-Control": "private, no-store",
        },
    )


async def verify(request: web.Request) -> web.Response:
    """Public: a certificate office scans the QR code. Shows only what it needs, masked."""
    result = await request.app[EXAMS].verify(request.match_info["token"])
    details = None
    if result.receipt is not None:
        receipt = result.receipt
        certificate = receipt.enrolment.certificate
        cert_type = CertType(certificate.cert_type)
        role = SiteRole(certificate.role) if certificate.role else None
        course = request.app[STUDY].study.courses.for_certificate(cert_type, role)
        details = {
            "number": receipt.number,
            "name": mask_name(certificate.person.name),
            "id_number": result.id_number_masked,
            "cert_type": type_and_role(cert_type, role),
            "category": certificate.category,
            "course": course.title[request[LOCALE]],
            "certificate": certificate.number,
            "hours": f"{receipt.hours:g}",
            "illustrative": course.illustrative,
            "score": receipt.score,
            "passed_on": _local(receipt.passed_at)[:10],
            "revoked_on": _local(receipt.revoked_at)[:10],
        }
    response = aiohttp_jinja2.render_template(
        "verify.html",
        request,
        {
            "locale": request[LOCALE],
            "status": result.status,
            "details": details,
            "token": request.match_info["token"],
        },
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


async def verify_image(request: web.Request) -> web.Response:
    """The genuine receipt as issued, photo included, for whoever holds its QR code (as they
    hold the printed receipt): the inspector compares it with the person in front of them."""
    exams = request.app[EXAMS]
    result = await exams.verify(request.match_info["token"])
    if result.status != "genuine" or result.receipt is None:
        raise web.HTTPNotFound()
    png, _pdf = await exams.receipt_files(result.receipt.id)
    response = web.Response(body=png, content_type="image/png")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def add_exam_routes(app: web.Application, exams: Exams) -> None:
    app[EXAMS] = exams
    app.router.add_get("/app/exam", exam_home, name="exam")
    app.router.add_get("/app/exam/attempt/{attempt_id}", exam_attempt, name="exam_attempt")
    app.router.add_get("/app/exam/attempt/{attempt_id}/review", exam_review, name="exam_review")
    app.router.add_post("/app/api/exam/start", api_start, name="exam_start")
    app.router.add_get("/app/api/exam/attempt/{attempt_id}", api_attempt, name="exam_state")
    app.router.add_post("/app/api/exam/attempt/{attempt_id}/answer", api_answer, name="exam_answer")
    app.router.add_post("/app/api/exam/attempt/{attempt_id}/submit", api_submit, name="exam_submit")
    app.router.add_get(
        "/app/receipt/{receipt_id}.{kind:png|pdf}", receipt_file, name="receipt_file"
    )
    app.router.add_get("/verify/{token}", verify, name="verify")
    app.router.add_get("/verify/{token}/receipt.png", verify_image, name="verify_image")
