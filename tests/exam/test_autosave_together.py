"""Autosaves that arrive at the same moment (500 takers in one exam session, or two tabs of one
trainee). On SQLite, the embedded default with one writer, they are written together: one
statement for the batch and one for its timeline events, in one transaction (group commit).
Each save must still be decided on its own: the last answer sent wins, a refused save does not
stop the others, and every saved answer has its event."""

from __future__ import annotations

import asyncio

from infra.db.exam_models import ExamAttempt, ExamEvent
from infra.repositories.exams import save_answer
from tests.exam.conftest import TIME_LIMIT, Examinees
from tests.study.conftest import LI, ZHANG


async def two_attempts(examinees: Examinees) -> tuple[int, int]:
    zhang = await examinees.start(ZHANG, await examinees.ready(ZHANG, "C-301"))
    li = await examinees.start(LI, await examinees.ready(LI, "C-302"))
    return zhang["id"], li["id"]


async def saved_events(attempt: int) -> list[str]:
    return [
        event.detail
        for event in await ExamEvent.filter(attempt_id=attempt, kind="saved").order_by("id")
    ]


async def test_saves_arriving_together_are_written_together_and_each_is_kept(
    examinees: Examinees,
):
    zhang, li = await two_attempts(examinees)
    (z1, _), (z2, _) = (await examinees.draw(zhang))[:2]
    (l1, _), (l2, _) = (await examinees.draw(li))[:2]
    statements: list[str] = []
    connection = ExamAttempt._meta.db._connection  # aiosqlite's
    await connection.set_trace_callback(statements.append)
    now = examinees.clock.now()
    try:
        saved = await asyncio.gather(
            save_answer(ZHANG, zhang, z1, examinees.right(z1), now),
            save_answer(LI, li, l1, examinees.right(l1), now),
            save_answer(ZHANG, zhang, z2, examinees.wrong(z2), now),
            save_answer(LI, li, l2, examinees.wrong(l2), now),
        )
    finally:
        await connection.set_trace_callback(None)

    assert all(answer is not None for answer in saved)
    updates = [s for s in statements if s.lstrip().startswith("UPDATE exam_attempt")]
    # Two per attempt: a batch holds one save per attempt, so two batches, not four writes.
    assert len(updates) == 2, updates
    assert (await ExamAttempt.get(id=zhang)).answers == {
        z1: examinees.right(z1),
        z2: examinees.wrong(z2),
    }
    assert (await ExamAttempt.get(id=li)).answers == {
        l1: examinees.right(l1),
        l2: examinees.wrong(l2),
    }
    assert await saved_events(zhang) == [z1, z2] and await saved_events(li) == [l1, l2]


async def test_two_tabs_saving_one_question_at_once_keep_the_answer_sent_last(
    examinees: Examinees,
):
    zhang, _ = await two_attempts(examinees)
    (question, _), *_ = await examinees.draw(zhang)
    now = examinees.clock.now()

    await asyncio.gather(
        save_answer(ZHANG, zhang, question, examinees.wrong(question), now),
        save_answer(ZHANG, zhang, question, examinees.right(question), now),
    )

    assert (await ExamAttempt.get(id=zhang)).answers == {question: examinees.right(question)}
    assert await saved_events(zhang) == [question, question]


async def test_a_refused_save_among_others_does_not_stop_them(examinees: Examinees):
    zhang, li = await two_attempts(examinees)
    (question, _), *_ = await examinees.draw(zhang)
    (other, _), *_ = await examinees.draw(li)
    now = examinees.clock.now()

    own, someone_elses, not_drawn, after_deadline = await asyncio.gather(
        save_answer(ZHANG, zhang, question, examinees.right(question), now),
        save_answer(ZHANG, li, other, examinees.right(other), now),  # Li's attempt
        save_answer(LI, li, "not-in-the-draw", ["a"], now),
        save_answer(LI, li, other, examinees.right(other), now + TIME_LIMIT),
    )

    assert own is not None and own.enrolment_id
    assert (someone_elses, not_drawn, after_deadline) == (None, None, None)
    assert (await ExamAttempt.get(id=li)).answers in ({}, None)
    assert await saved_events(zhang) == [question] and await saved_events(li) == []
