"""Two tabs whose heartbeats land on two instances at the same moment (PostgreSQL, each
instance with its own in-process locks): one interval of wall time is credited once."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from pathlib import Path

from application.study import FaceStore, ReadyFaces, Study
from infra.content import load_courses
from infra.db import open_database
from infra.db.study_models import FaceCheck, LessonProgress
from tests.study.conftest import CONFIG, ZHANG, seed_enrolment
from tests.support.clock import EPOCH


async def test_simultaneous_beats_on_two_instances_credit_the_time_once(
    postgres_url: str, face_engine, tmp_path: Path
):
    context = await open_database(postgres_url)
    try:
        start = EPOCH + timedelta(hours=7)
        enrolment_id = await seed_enrolment(ZHANG, "C-PG-1", start - timedelta(days=1))
        await FaceCheck.create(
            chat_user_id=ZHANG,
            enrolment_id=enrolment_id,
            kind="start",
            requested_at=start - timedelta(seconds=5),
            answered_at=start - timedelta(seconds=5),
            result="passed",
            next_due_at=start + timedelta(hours=1),
        )
        one, two = (
            Study(load_courses(), ReadyFaces(face_engine), FaceStore(tmp_path / "faces"),
                  dataclasses.replace(CONFIG, minutes_scale=1.0), lambda: 0.0)
            for _ in range(2)
        )  # fmt: skip
        enrolment = await one.enrolment(ZHANG, enrolment_id)
        assert enrolment is not None
        await one.heartbeat(ZHANG, enrolment, "officer_duties", start)  # starts the clock

        for second in range(1, 6):
            now = start + timedelta(seconds=10 * second)
            await asyncio.gather(
                one.heartbeat(ZHANG, enrolment, "officer_duties", now),
                two.heartbeat(ZHANG, enrolment, "falls", now),
            )

        rows = await LessonProgress.filter(enrolment_id=enrolment_id)
        assert sum(row.seconds_credited for row in rows) == 50  # 50 s of wall time, not 100
    finally:
        await context.close_connections()
