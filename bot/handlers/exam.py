"""The exam in the staff group: /exam (an enrolment's attempts), /courses, /revoke. What trainees
see of the exam in the chat is the conversation core's (conversation/flows/exam.py)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    Message,
)

from application.exam import Exams
from domain.clock import Clock
from infra.db import models
from texts import exam as texts
from texts.enrolment import type_and_role
from texts.i18n import current_locale


def make_staff_router(staff_group_id: int | None) -> Router:
    router = Router(name="staff_exam")
    router.message.filter(F.chat.id == staff_group_id)

    @router.message(Command("exam"))
    async def attempts(message: Message, command: CommandObject, exams: Exams) -> None:
        """Every attempt of the enrolment of a certificate, with its timeline."""
        number = (command.args or "").strip()
        if not number:
            await message.reply(texts.staff_exam_usage())
            return
        enrolment = (
            await models.Enrolment.filter(certificate__number=number, paid_at__isnull=False)
            .order_by("-paid_at")
            .first()
        )
        if enrolment is None:
            await message.reply(texts.staff_not_found())
            return
        rows = await exams.attempt_rows(enrolment.id)
        if not rows:
            await message.reply(texts.staff_not_found())
            return
        lines = []
        for attempt_id, attempt in rows:
            lines.append(texts.staff_attempt_line(attempt_id, attempt))
            lines += [texts.staff_event_line(event) for event in await exams.timeline(attempt_id)]
        await message.reply("\n".join(lines)[:4000])

    @router.message(Command("courses"))
    async def courses(message: Message, exams: Exams) -> None:
        """Each certificate type's course: lessons, required minutes and class hours, and the
        size of its question bank (content/courses, content/exams)."""
        lang = current_locale()
        lines = [texts.courses_heading()]
        for course in exams.study.courses.all():
            lines.append(
                texts.course_line(
                    type_and_role(course.cert_type, course.role),
                    course.title[lang],
                    course.version,
                    len(course.lessons),
                    course.minutes,
                    course.class_hours,
                    len(exams.banks[course.exam_bank].questions),
                    course.illustrative,
                )
            )
        await message.reply("\n".join(lines))

    @router.message(Command("revoke"))
    async def revoke(message: Message, command: CommandObject, exams: Exams, clock: Clock) -> None:
        number, _, reason = (command.args or "").strip().partition(" ")
        if not number or not reason.strip():
            await message.reply(texts.staff_revoke_usage())
            return
        assert message.from_user is not None
        if await exams.revoke(number, message.from_user.id, reason.strip(), clock.now()):
            await message.reply(texts.staff_revoked(number))
        else:
            await message.reply(texts.staff_not_revoked(number))

    return router
