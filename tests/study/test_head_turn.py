"""The liveness challenge in the page flow: the check that opens a lesson asks for a head turn,
answered with two frames; replays and still pictures are refused and the check stays open; a
failed challenge comes back until one passes; a photo in the chat never answers one."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import aiohttp
import cv2
import numpy as np
import pytest

from application.study import Study
from infra.db.study_models import FaceCheck
from infra.faces.liveness import LivenessChecker, LivenessResult
from tests.study.conftest import ZHANG, Trainees, photo, seed_enrolment
from tests.study.test_study_web import JPEG, H, beat, ready
from tests.support.chance import LeftTurnsOnlyWhenOwed
from tests.support.clock import FixedClock
from webview.study import STUDY


def with_head_turn(trainees: Trainees) -> Study:
    study: Study = trainees.client.app[STUDY].study
    study.config = dataclasses.replace(study.config, head_turn=True)
    return study


async def open_lesson(trainees: Trainees, enrolment: int) -> dict:
    response = await trainees.as_user(ZHANG).post(
        "/app/api/study/open", json={"enrolment": enrolment}, headers=H
    )
    return (await response.json())["check"]


async def two_frames(trainees: Trainees, check_id: int, before: str, after: str) -> dict:
    form = aiohttp.FormData()
    form.add_field("before", photo(before), filename="before.jpg", content_type="image/jpeg")
    form.add_field("after", photo(after), filename="after.jpg", content_type="image/jpeg")
    response = await trainees.as_user(ZHANG).post(
        f"/app/api/study/checks/{check_id}", data=form, headers=H
    )
    assert response.status == 200, await response.text()
    return await response.json()


async def test_the_opening_check_asks_for_a_head_turn_and_refuses_still_pictures(
    trainees: Trainees,
):
    enrolment = await ready(trainees)
    with_head_turn(trainees)
    check = await open_lesson(trainees, enrolment)
    assert check["kind"] == "start" and check["challenge"] in ("left", "right")

    one = await trainees.as_user(ZHANG).post(
        f"/app/api/study/checks/{check['id']}", data=photo("person_b_2"), headers=JPEG
    )
    assert (await one.json())["reason"] == "challenge_needed"
    same = await two_frames(trainees, check["id"], "person_b_2", "person_b_2")
    assert same["result"] == "pending" and same["reason"] == "same_image"
    # Two frontal photos: the head did not turn (or did not face the camera first).
    still = await two_frames(trainees, check["id"], "person_b_2", "person_a_2")
    assert still["result"] == "pending"
    assert still["reason"] in {"no_head_turn", "not_facing_camera", "different_person"}
    assert still["message"]
    # Nothing was credited meanwhile: the check is still open.
    assert (await beat(trainees, enrolment, "falls"))["credited"] == 0


async def test_a_turn_that_passes_is_matched_on_the_frame_facing_the_camera(
    trainees: Trainees, monkeypatch: pytest.MonkeyPatch
):
    enrolment = await ready(trainees)
    with_head_turn(trainees)
    seen: list[str] = []

    def turned(self, challenge, before, after, *, mirrored=False, earlier=None):
        seen.append(challenge.direction.value)
        return LivenessResult(True, None, 0.0, 0.3)

    monkeypatch.setattr(LivenessChecker, "check", turned)
    check = await open_lesson(trainees, enrolment)
    # The turned frame is someone else: only the frontal one is compared with the enrolment.
    passed = await two_frames(trainees, check["id"], "person_b_2", "impostor_1")
    assert passed["result"] == "passed" and seen == [check["challenge"]]
    impostor = await open_lesson_again(trainees, enrolment)
    failed = await two_frames(trainees, impostor["id"], "impostor_2", "person_a_1")
    assert failed["result"] == "failed" and failed["reason"] == "no_match"


async def open_lesson_again(trainees: Trainees, enrolment: int) -> dict:
    trainees.clock.advance(minutes=5)
    return await open_lesson(trainees, enrolment)


async def enrol_person_a(trainees: Trainees, clock: FixedClock) -> int:
    """Person A, whose photos give a real head turn to the left (tests/support/video.py)."""
    enrolment = await seed_enrolment(ZHANG, "C-A", clock.now() - timedelta(days=1))
    client = trainees.as_user(ZHANG)
    await client.post("/app/api/study/consent", headers=H)
    kept = await client.post("/app/api/study/photo", data=photo("person_a_1"), headers=JPEG)
    assert kept.status == 200, await kept.text()
    return enrolment


async def answer_left_turn(trainees: Trainees, check_id: int) -> dict:
    before = photo("person_a_2")
    image = cv2.imdecode(np.frombuffer(before, np.uint8), cv2.IMREAD_COLOR)
    after = cv2.imencode(".jpg", np.ascontiguousarray(image[:, ::-1]))[1].tobytes()
    form = aiohttp.FormData()
    form.add_field("before", before, filename="before.jpg", content_type="image/jpeg")
    form.add_field("after", after, filename="after.jpg", content_type="image/jpeg")
    response = await trainees.as_user(ZHANG).post(
        f"/app/api/study/checks/{check_id}", data=form, headers=H
    )
    return await response.json()


async def test_a_photo_sent_in_the_chat_never_answers_a_head_turn(
    trainees: Trainees, clock: FixedClock
):
    enrolment = await enrol_person_a(trainees, clock)
    study = with_head_turn(trainees)
    check = await open_lesson(trainees, enrolment)

    outcome = await study.answer_check(
        ZHANG, check["id"], photo("person_a_2"), clock.now(), from_chat=True
    )

    assert outcome is not None and (outcome.result.value, outcome.reason) == (
        "pending",
        "video_needed",
    )
    assert study.store.evidence(ZHANG, check["id"]) == photo("person_a_2")  # for staff


async def test_after_a_failed_head_turn_every_check_asks_for_one_until_one_passes(
    trainees: Trainees, clock: FixedClock
):
    enrolment = await enrol_person_a(trainees, clock)
    study = with_head_turn(trainees)
    study.chance = LeftTurnsOnlyWhenOwed()  # no head turn by luck: only owed ones
    opening = await open_lesson(trainees, enrolment)
    assert opening["challenge"] == "left"

    clock.advance(seconds=61)  # the minute passes
    owed = (await beat(trainees, enrolment, "falls"))["check"]
    assert owed["kind"] == "random" and owed["challenge"] == "left"
    clock.advance(seconds=61)  # missed again
    still_owed = (await beat(trainees, enrolment, "falls"))["check"]
    assert still_owed["id"] != owed["id"] and still_owed["challenge"] == "left"

    passed = await answer_left_turn(trainees, still_owed["id"])
    assert passed["result"] == "passed", passed
    clock.advance(seconds=70)  # the next random check is due: nothing owed any more
    settled = (await beat(trainees, enrolment, "falls"))["check"]
    assert settled["kind"] == "random" and settled["challenge"] is None


async def test_whether_a_random_check_asks_for_a_turn_and_which_way_cannot_be_foreseen(
    trainees: Trainees, clock: FixedClock
):
    """Production's chance is the system's: seeding Python's generator, as someone replaying
    the app's start would, does not repeat it."""
    enrolment = await enrol_person_a(trainees, clock)
    with_head_turn(trainees)

    async def random_checks() -> list[str | None]:
        seen = []
        for _ in range(40):
            await FaceCheck.filter(chat_user_id=ZHANG, result="pending").update(
                result="passed", answered_at=clock.now(), next_due_at=clock.now()
            )
            check = (await beat(trainees, enrolment, "falls"))["check"]
            assert check["kind"] == "random"
            seen.append(check["challenge"])
        return seen

    await FaceCheck.create(
        chat_user_id=ZHANG,
        kind="staff",
        requested_at=clock.now(),
        answered_at=clock.now(),
        result="passed",
        next_due_at=clock.now(),
    )
    random.seed(15)
    first = await random_checks()
    random.seed(15)
    second = await random_checks()

    assert set(first + second) == {None, "left", "right"}
    assert first != second
