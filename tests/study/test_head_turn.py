"""The liveness challenge in the page flow: the check that opens a lesson asks for a head turn,
answered with two frames; replays and still pictures are refused and the check stays open."""

from __future__ import annotations

import dataclasses

import aiohttp
import pytest

from infra.faces.liveness import LivenessChecker, LivenessResult
from infra.study import Study
from tests.study.conftest import ZHANG, Trainees, photo
from tests.study.test_study_web import JPEG, H, beat, ready
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


async def test_random_checks_and_selfies_sent_in_the_chat_need_no_turn(trainees: Trainees):
    enrolment = await ready(trainees)
    study = with_head_turn(trainees)
    check = await open_lesson(trainees, enrolment)
    outcome = await study.answer_check(
        ZHANG, check["id"], photo("person_b_2"), trainees.clock.now(), from_chat=True
    )
    assert outcome is not None and outcome.result.value == "passed"
    trainees.clock.advance(minutes=2)
    due = (await beat(trainees, enrolment, "falls"))["check"]
    assert due["kind"] == "random" and due["challenge"] is None
