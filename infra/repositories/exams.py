"""Exam attempts in storage: the rows as the domain's attempts, the autosave's one statement,
and what the make-up rule reads."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from tortoise.transactions import in_transaction

from domain.exam import (
    Attempt,
    AttemptStatus,
    Drawn,
    Identity,
    attempts_used,
    best_score,
    failed_in_current_set,
    passes,
)
from domain.support import NEW_ATTEMPTS, ApplicationStatus
from infra.db import models
from infra.db.exam_models import ExamAttempt
from infra.db.study_models import FaceCheck


def attempt_of(row: ExamAttempt) -> Attempt:
    return Attempt(
        row.number,
        AttemptStatus(row.status),
        row.started_at,
        row.deadline,
        row.score,
        Identity(row.identity),
    )


def draw_of(row: ExamAttempt) -> tuple[Drawn, ...]:
    return tuple(Drawn(str(item["q"]), tuple(item["o"])) for item in row.draw)


def answers_of(row: ExamAttempt) -> dict[str, frozenset[str]]:
    return {key: frozenset(value) for key, value in (row.answers or {}).items()}


@dataclass(frozen=True, slots=True)
class SeenCheck:
    """The trainee's latest face check as the autosave's statement saw it (no lock held)."""

    kind: str
    result: str
    requested_at: datetime
    answer_by: datetime | None
    answered_at: datetime | None
    next_due_at: datetime | None


@dataclass(frozen=True, slots=True)
class SavedAnswer:
    enrolment_id: int
    started_at: datetime
    latest_check: SeenCheck | None


# The autosave, the exam's hot path: ownership, state, deadline and draw checked, the answer and
# its timeline event written, and the trainee's latest face check read (is one due?) by one
# statement: one round trip on PostgreSQL. SQLite cannot write two tables in one statement:
# there the event follows in the same transaction.
_SAVE_POSTGRES = """
WITH saved AS (
    UPDATE exam_attempt
    SET answers = jsonb_set(COALESCE(answers, '{}'::jsonb), ARRAY[$3::text], $4::jsonb)
    WHERE id = $1 AND chat_user_id = $2 AND status = 'open' AND deadline > $5
        AND draw @> jsonb_build_array(jsonb_build_object('q', $3::text))
    RETURNING id, enrolment_id, started_at
), event AS (
    INSERT INTO exam_event (attempt_id, at, kind, detail)
    SELECT id, $5, 'saved', $3::text FROM saved
)
SELECT saved.enrolment_id, saved.started_at, c.kind, c.result, c.requested_at, c.answer_by,
    c.answered_at, c.next_due_at
FROM saved LEFT JOIN LATERAL (
    SELECT kind, result, requested_at, answer_by, answered_at, next_due_at FROM face_check
    WHERE chat_user_id = $2 ORDER BY requested_at DESC, id DESC LIMIT 1
) c ON true
"""
# SQLite has one writer and aiosqlite one thread: each statement waits its turn, so 500 takers
# saving at once queue behind each other's BEGIN, UPDATE, INSERT and COMMIT. Saves that arrive
# together are therefore written together (group commit): one UPDATE for the batch, one INSERT
# of their events, in one transaction. The batch is one JSON parameter, so the statement's text
# never changes (SQLite's statement cache keeps it). A batch holds one save per attempt: with
# two rows for one target, UPDATE ... FROM would apply only one of them.
_SAVE_SQLITE = """
UPDATE exam_attempt
SET answers = json_set(COALESCE(answers, '{}'), '$."' || v.q || '"', json(v.a))
FROM (
    SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS u,
        json_extract(value, '$[2]') AS q, json_extract(value, '$[3]') AS a,
        json_extract(value, '$[4]') AS at
    FROM json_each(?)
) AS v
WHERE exam_attempt.id = v.id AND exam_attempt.chat_user_id = v.u
    AND exam_attempt.status = 'open' AND exam_attempt.deadline > v.at
    AND EXISTS (
        SELECT 1 FROM json_each(exam_attempt.draw) WHERE json_extract(value, '$.q') = v.q
    )
RETURNING id, enrolment_id, started_at, (
    SELECT json_array(kind, result, requested_at, answer_by, answered_at, next_due_at)
    FROM face_check WHERE chat_user_id = exam_attempt.chat_user_id
    ORDER BY requested_at DESC, id DESC LIMIT 1
) AS latest_check
"""
_SAVED_EVENTS_SQLITE = """
INSERT INTO exam_event (attempt_id, at, kind, detail)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), 'saved',
    json_extract(value, '$[2]')
FROM json_each(?)
"""
_BATCH = 256
_CHECK_FIELDS = ("kind", "result", "requested_at", "answer_by", "answered_at", "next_due_at")


def _seen(values: list[Any]) -> SeenCheck | None:
    if values[0] is None:  # the trainee has no check (LEFT JOIN found none)
        return None
    fields_map = FaceCheck._meta.fields_map
    kind, result, *times = (
        fields_map[name].to_python_value(value)
        for name, value in zip(_CHECK_FIELDS, values, strict=True)
    )
    return SeenCheck(kind, result, *times)


async def save_answer(
    user_id: int, attempt_id: int, question: str, answer: list[str], now: datetime
) -> SavedAnswer | None:
    """The attempt the answer was saved in, with the trainee's latest face check; None when it
    was not saved (not the trainee's, closed, past its deadline, or the question is not in its
    draw)."""
    db = ExamAttempt._meta.db
    value = json.dumps(answer)
    if db.capabilities.dialect == "postgres":
        _, rows = await db.execute_query(
            _SAVE_POSTGRES, [attempt_id, user_id, question, value, now]
        )
        if not rows:
            return None
        row = rows[0]
        return SavedAnswer(
            row["enrolment_id"], row["started_at"], _seen([row[name] for name in _CHECK_FIELDS])
        )
    # As the driver binds a time (Tortoise's adapter): in JSON it must already be that text.
    stored = ExamAttempt._meta.fields_map["deadline"].to_db_value(now, ExamAttempt)
    at = sqlite3.adapt(stored, sqlite3.PrepareProtocol)
    batches = _sqlite_batches.get(db)
    if batches is None:
        batches = _sqlite_batches[db] = _SqliteSaves()
    return await batches.save(_Pending(attempt_id, user_id, question, value, at))


@dataclass(slots=True)
class _Pending:
    attempt_id: int
    user_id: int
    question: str
    answer: str  # JSON
    at: Any  # `now` as the database stores times
    done: asyncio.Future[SavedAnswer | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class _SqliteSaves:
    """Group commit of autosaves on one SQLite database. Whoever holds the lock writes what is
    waiting (its own save among them) and settles every save it wrote; the others find theirs
    done when their turn comes. The write is shielded: a request cancelled mid-batch does not
    leave the batch's other saves unanswered."""

    def __init__(self) -> None:
        self._waiting: list[_Pending] = []
        self._turn = asyncio.Lock()

    async def save(self, pending: _Pending) -> SavedAnswer | None:
        self._waiting.append(pending)
        while not pending.done.done():
            async with self._turn:
                if pending.done.done():
                    break
                await asyncio.sleep(0)  # saves sent in the same moment join this batch
                await asyncio.shield(self._write(self._take()))
        return pending.done.result()

    def _take(self) -> list[_Pending]:
        """The oldest save of each attempt, in arrival order; later saves of an attempt wait for
        the next batch, so the last answer sent is the one kept."""
        batch: list[_Pending] = []
        attempts: set[int] = set()
        rest: list[_Pending] = []
        for pending in self._waiting:
            if pending.attempt_id in attempts or len(batch) >= _BATCH:
                rest.append(pending)
            else:
                attempts.add(pending.attempt_id)
                batch.append(pending)
        self._waiting = rest
        return batch

    @staticmethod
    async def _write(batch: list[_Pending]) -> None:
        rows = [[p.attempt_id, p.user_id, p.question, p.answer, p.at] for p in batch]
        try:
            async with in_transaction(ExamAttempt._meta.default_connection) as tx:
                _, saved = await tx.execute_query(_SAVE_SQLITE, [json.dumps(rows)])
                by_attempt = {row["id"]: row for row in saved}
                events = [
                    [p.attempt_id, p.at, p.question] for p in batch if p.attempt_id in by_attempt
                ]
                if events:
                    await tx.execute_query(_SAVED_EVENTS_SQLITE, [json.dumps(events)])
        except BaseException as exc:
            for pending in batch:
                if not pending.done.done():
                    pending.done.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        started_at = ExamAttempt._meta.fields_map["started_at"]
        for pending in batch:
            row = by_attempt.get(pending.attempt_id)
            if pending.done.done():  # its request was cancelled
                continue
            if row is None:
                pending.done.set_result(None)
                continue
            latest = json.loads(row["latest_check"]) if row["latest_check"] is not None else [None]
            pending.done.set_result(
                SavedAnswer(
                    row["enrolment_id"],
                    started_at.to_python_value(row["started_at"]),
                    _seen(latest),
                )
            )


_sqlite_batches: WeakKeyDictionary[Any, _SqliteSaves] = WeakKeyDictionary()


async def exam_standing(enrolment_id: int) -> tuple[int, int, bool]:
    """(attempts used of the current set of five, make-ups granted, passed): what the make-up
    application rule (R-EXT-2) reads."""
    attempts = [attempt_of(row) for row in await ExamAttempt.filter(enrolment_id=enrolment_id)]
    granted = await makeups_granted(enrolment_id)
    best = best_score(attempts)
    used = attempts_used(attempts)
    return failed_in_current_set(used, granted), granted, best is not None and passes(best)


async def makeups_granted(enrolment_id: int) -> int:
    return await models.Application.filter(
        enrolment_id=enrolment_id,
        kind__in=[kind.value for kind in NEW_ATTEMPTS],
        status=ApplicationStatus.APPROVED.value,
    ).count()
