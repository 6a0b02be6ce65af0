"""The autosave's one statement on PostgreSQL (the other exam tests run on SQLite): answers
saved, another trainee's attempt not found, the deadline kept, and a random face check asked
by a save once it is due (the statement reads the latest check)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from infra.db import open_database
from tests.exam.test_exam_web import (
    test_a_check_left_unanswered_when_the_attempt_ends_holds_the_pass,
    test_a_pass_with_a_failed_check_is_held_for_staff_and_cleared_gets_its_receipt,
    test_another_trainees_attempt_is_not_found,
    test_bad_answers_are_refused_clearly,
    test_s15_answers_autosave_and_the_attempt_resumes_on_another_device,
    test_s16_answers_stop_at_the_deadline_and_the_server_submits_what_was_saved,
)

__all__ = [
    "test_a_check_left_unanswered_when_the_attempt_ends_holds_the_pass",
    "test_a_pass_with_a_failed_check_is_held_for_staff_and_cleared_gets_its_receipt",
    "test_another_trainees_attempt_is_not_found",
    "test_bad_answers_are_refused_clearly",
    "test_s15_answers_autosave_and_the_attempt_resumes_on_another_device",
    "test_s16_answers_stop_at_the_deadline_and_the_server_submits_what_was_saved",
]


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[str]:
    """The exam tests' database fixture, on a fresh PostgreSQL database."""
    context = await open_database(postgres_url)
    yield postgres_url
    await context.close_connections()
