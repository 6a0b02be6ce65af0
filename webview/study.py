"""Study pages of the Mini App: lessons with progress, consent, the enrolment photo, face checks.

Every route needs the session viewer; an enrolment or check of somebody else is a 404, the same
answer as one that does not exist. State-changing requests carry `X-Requested-With: jijiao`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import BodyPartReader, web

from application.study import Beat, Study, StudyEnrolment
from domain.study import LessonState
from domain.timezone import CHINA
from texts.faces import face_reason
from webview import keys
from webview.auth import Viewer
from webview.bodies import json_or_none
from webview.middlewares import LOCALE, VIEWER, reads_its_own_locale, speak

MAX_PHOTO = 6 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class StudyWeb:
    study: Study


STUDY = web.AppKey("study", StudyWeb)
# The longest address the sign-in carries back (ours are far shorter).
MAX_NEXT = 1024


def _viewer(request: web.Request) -> Viewer:
    viewer: Viewer | None = request[VIEWER]
    if viewer is None:
        if "/api/" in request.path:
            raise web.HTTPUnauthorized(
                text='{"ok": false, "error": "not_authenticated"}', content_type="application/json"
            )
        # Signed in, the Mini App comes back here (the bot's exam button opens /app/exam). An
        # address longer than any page of ours is not carried: its redirect would be too long
        # for a browser to follow (found by the web fuzzer).
        home = request.app.router["miniapp"].url_for()
        if len(request.path_qs) > MAX_NEXT:
            raise web.HTTPFound(home)
        raise web.HTTPFound(home.with_query(next=request.path_qs))
    return viewer


def _guard(request: web.Request) -> Viewer:
    """A cross-site form cannot set this header; our own fetch() always does."""
    viewer = _viewer(request)
    if request.headers.get("X-Requested-With") != "jijiao":
        raise web.HTTPForbidden(
            text='{"ok": false, "error": "csrf"}', content_type="application/json"
        )
    return viewer


def _now(request: web.Request) -> datetime:
    return request.app[keys.CLOCK].now()


def _id(value: str | None) -> int:
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 12:
        raise web.HTTPNotFound()
    return int(value)


async def _enrolment(request: web.Request, viewer: Viewer, value: Any) -> StudyEnrolment:
    enrolment_id = _id(str(value) if value is not None else None)
    enrolment = await request.app[STUDY].study.enrolment(viewer.user_id, enrolment_id)
    if enrolment is None:
        raise web.HTTPNotFound()
    return enrolment


def _gettext(request: web.Request) -> Any:
    return request.app[keys.I18N].gettext


def reason_text(request: web.Request, reason: str | None) -> str:
    """A sentence for each refusal code; the code itself stays in the JSON for the page."""
    return face_reason(_gettext(request), reason)


def _lesson_json(state: LessonState) -> dict[str, Any]:
    return {
        "key": state.key,
        "seconds": state.credited,
        "required": state.required,
        "percent": state.percent,
    }


def _beat_json(request: web.Request, beat: Beat) -> dict[str, Any]:
    return {
        "ok": True,
        "lesson": _lesson_json(beat.lesson),
        "total_percent": beat.total_percent,
        "credited": beat.credited_now,
        "reason": beat.reason.value if beat.reason else None,
        "message": reason_text(request, beat.reason.value if beat.reason else None),
        "check": beat.check.as_json(_now(request)) if beat.check else None,
    }


def _context(request: web.Request, **values: Any) -> dict[str, Any]:
    # A local trial with STUDY_HEAD_TURN=false says so on the face check, so nobody takes a
    # one-selfie check for what trainees get (README: face checks in local mode). Pages of
    # an app without the study routes (the application form alone) have no face check.
    study = request.app.get(STUDY)
    head_turn_off = (
        request.app[keys.CONFIG].local_mode
        and study is not None
        and not study.study.config.head_turn
    )
    return {
        "locale": request[LOCALE],
        "viewer": request[VIEWER],
        "head_turn_off": head_turn_off,
        **values,
    }


def _countdown(enrolment: StudyEnrolment, now: datetime) -> dict[str, Any]:
    deadline = enrolment.deadline
    seconds = max(0, int((deadline - now).total_seconds())) if deadline else 0
    return {
        "deadline": deadline.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if deadline else "",
        "deadline_iso": deadline.isoformat() if deadline else "",
        "days": seconds // 86400,
        "hours": seconds % 86400 // 3600,
        "open": enrolment.window_end() > now,
    }


@reads_its_own_locale
async def study_home(request: web.Request) -> web.Response:
    viewer = _viewer(request)
    study = request.app[STUDY].study
    home = await study.home(viewer.user_id)  # one read, the language too: the Mini App opens here
    speak(request, home.chosen_locale)
    enrolments = home.enrolments
    context = _context(
        request,
        profile=home.profile,
        enrolments=enrolments,
        retention_days=study.config.retention.days,
    )
    if not enrolments:
        return aiohttp_jinja2.render_template("study_home.html", request, context)
    if "enrolment" in request.query:
        chosen = _id(request.query["enrolment"])
        current = next((e for e in enrolments if e.id == chosen), None)
        if current is None:
            raise web.HTTPNotFound()
    else:
        current = enrolments[0]
    states = study.lesson_states(current, home.credited[current.id])
    course = study.course(current)
    lessons = [(lesson, state) for lesson, state in zip(course.lessons, states, strict=True)]
    resume = next((lesson for lesson, state in lessons if state.percent < 100), None)
    context.update(
        current=current,
        course=course,
        lessons=lessons,
        resume=resume,
        total=sum(s.credited for s in states) * 100 // max(1, sum(s.required for s in states)),
        countdown=_countdown(current, _now(request)),
    )
    return aiohttp_jinja2.render_template("study_home.html", request, context)


async def study_lesson(request: web.Request) -> web.Response:
    viewer = _viewer(request)
    study = request.app[STUDY].study
    enrolment = await _enrolment(request, viewer, request.query.get("enrolment"))
    lesson = study.course(enrolment).lesson(request.match_info["key"])
    if lesson is None:
        raise web.HTTPNotFound()
    profile = await study.profile(viewer.user_id)
    if not profile.has_photo:
        raise web.HTTPFound(
            request.app.router["study"].url_for().with_query(enrolment=str(enrolment.id))
        )
    states = await study.progress(enrolment)
    state = next(s for s in states if s.key == lesson.key)
    course = study.course(enrolment)
    # The next step once this lesson is done: the next unfinished lesson after this one (then
    # any before it), or the exam when none is left.
    order = [s.key for s in states]
    after = order[order.index(lesson.key) + 1 :] + order[: order.index(lesson.key)]
    unfinished = {s.key for s in states if s.percent < 100}
    following = next((course.lesson(k) for k in after if k in unfinished), None)
    context = _context(
        request,
        enrolment=enrolment,
        course=course,
        lesson=lesson,
        following=following,
        state=state,
        total=sum(s.credited for s in states) * 100 // max(1, sum(s.required for s in states)),
        heartbeat_ms=int(study.config.heartbeat.total_seconds() * 1000),
        countdown=_countdown(enrolment, _now(request)),
    )
    return aiohttp_jinja2.render_template("study_lesson.html", request, context)


async def api_consent(request: web.Request) -> web.Response:
    viewer = _guard(request)
    await request.app[STUDY].study.consent(viewer.user_id, _now(request))
    return web.json_response({"ok": True})


async def _photo_bytes(request: web.Request) -> bytes:
    data = await request.read()
    if not data or len(data) > MAX_PHOTO:
        raise web.HTTPBadRequest(
            text='{"ok": false, "error": "bad_request"}', content_type="application/json"
        )
    return data


async def api_enrolment_photo(request: web.Request) -> web.Response:
    viewer = _guard(request)
    photo = await _photo_bytes(request)
    study = request.app[STUDY].study
    refusal = await study.enrol_photo(viewer.user_id, photo, _now(request))
    if refusal is not None:
        status = {"no_consent": 409, "photo_exists": 409, "busy": 429}.get(refusal, 422)
        return web.json_response(
            {"ok": False, "reason": refusal, "message": reason_text(request, refusal)},
            status=status,
        )
    pending = await study.photo_pending(viewer.user_id)
    return web.json_response(
        {
            "ok": True,
            "pending": pending,
            "message": reason_text(request, "photo_pending") if pending else "",
        }
    )


async def api_delete_photo(request: web.Request) -> web.Response:
    viewer = _guard(request)
    await request.app[STUDY].study.delete_photo(viewer.user_id, _now(request))
    return web.json_response({"ok": True})


async def api_open_lesson(request: web.Request) -> web.Response:
    viewer = _guard(request)
    study = request.app[STUDY].study
    body = await _json(request)
    enrolment = await _enrolment(request, viewer, body.get("enrolment"))
    now = _now(request)
    check = await study.open_lesson(viewer.user_id, enrolment, now)
    return web.json_response({"ok": True, "check": check.as_json(now) if check else None})


async def _json(request: web.Request) -> dict[str, Any]:
    body = await json_or_none(request)
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text='{"ok": false, "error": "bad_request"}', content_type="application/json"
        )
    return body


async def api_heartbeat(request: web.Request) -> web.Response:
    viewer = _guard(request)
    study = request.app[STUDY].study
    body = await _json(request)
    enrolment = await _enrolment(request, viewer, body.get("enrolment"))
    lesson = body.get("lesson")
    if not isinstance(lesson, str) or study.course(enrolment).lesson(lesson) is None:
        raise web.HTTPNotFound()
    beat = await study.heartbeat(viewer.user_id, enrolment, lesson, _now(request))
    return web.json_response(_beat_json(request, beat))


async def api_progress(request: web.Request) -> web.Response:
    viewer = _viewer(request)
    study = request.app[STUDY].study
    enrolment = await _enrolment(request, viewer, request.query.get("enrolment"))
    states = await study.progress(enrolment)
    return web.json_response(
        {
            "ok": True,
            "enrolment": enrolment.id,
            "lessons": [_lesson_json(s) for s in states],
            "total_percent": sum(s.credited for s in states)
            * 100
            // max(1, sum(s.required for s in states)),
        }
    )


async def _frames(request: web.Request) -> tuple[bytes | None, bytes]:
    """One JPEG as the body, or a head-turn answer: multipart `before` and `after`."""
    if not request.content_type.startswith("multipart/"):
        return None, await _photo_bytes(request)
    frames: dict[str, bytes] = {}
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None and len(frames) < 2:
            if isinstance(part, BodyPartReader) and part.name in ("before", "after"):
                data = await part.read(decode=False)
                if not data or len(data) > MAX_PHOTO:
                    break
                frames[part.name] = bytes(data)
    except (ValueError, AssertionError, LookupError):  # no boundary, a broken body
        frames = {}
    if set(frames) != {"before", "after"}:
        raise web.HTTPBadRequest(
            text='{"ok": false, "error": "bad_request"}', content_type="application/json"
        )
    return frames["before"], frames["after"]


async def api_answer_check(request: web.Request) -> web.Response:
    viewer = _guard(request)
    check_id = _id(request.match_info["check_id"])
    before, photo = await _frames(request)
    outcome = await request.app[STUDY].study.answer_check(
        viewer.user_id, check_id, photo, _now(request), before=before
    )
    if outcome is None:
        raise web.HTTPNotFound()
    return web.json_response(
        {
            "ok": True,
            "result": outcome.result.value,
            "reason": outcome.reason,
            "message": reason_text(request, outcome.reason),
            "score": outcome.score,
        }
    )


def add_study_routes(app: web.Application, study: StudyWeb) -> None:
    app[STUDY] = study
    app.router.add_get("/app/study", study_home, name="study")
    app.router.add_get("/app/study/lesson/{key}", study_lesson, name="study_lesson")
    app.router.add_post("/app/api/study/consent", api_consent, name="study_consent")
    app.router.add_post("/app/api/study/photo", api_enrolment_photo, name="study_photo")
    app.router.add_post("/app/api/study/photo/delete", api_delete_photo, name="study_photo_delete")
    app.router.add_post("/app/api/study/open", api_open_lesson, name="study_open")
    app.router.add_post("/app/api/study/heartbeat", api_heartbeat, name="study_heartbeat")
    app.router.add_get("/app/api/study/progress", api_progress, name="study_progress")
    app.router.add_post(
        "/app/api/study/checks/{check_id}", api_answer_check, name="study_check_answer"
    )
