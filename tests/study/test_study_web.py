"""The study pages and their JSON API, through HTTP, with the real face engine."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from PIL import Image

from infra.db import models
from infra.db.study_models import FaceCheck, FaceProfile, FaceReview, LessonProgress
from tests.study.conftest import LI, ZHANG, Trainees, photo, seed_enrolment
from tests.support.clock import FixedClock
from webview.study import STUDY

H = {"X-Requested-With": "jijiao"}
JPEG = {**H, "Content-Type": "image/jpeg"}
LESSONS = ["officer_duties", "falls", "electricity"]  # safety_c: 12 s, 12 s, 9 s at scale 0.01


async def ready(trainees: Trainees, user_id: int = ZHANG, number: str = "C-001") -> int:
    """A paid enrolment, consent given and the enrolment photo kept."""
    enrolment = await seed_enrolment(user_id, number, trainees.clock.now() - timedelta(days=1))
    client = trainees.as_user(user_id)
    assert (await client.post("/app/api/study/consent", headers=H)).status == 200
    response = await client.post("/app/api/study/photo", data=photo("person_b_1"), headers=JPEG)
    assert response.status == 200, await response.text()
    return enrolment


async def beat(trainees: Trainees, enrolment: int, lesson: str, user_id: int = ZHANG) -> dict:
    response = await trainees.as_user(user_id).post(
        "/app/api/study/heartbeat", json={"enrolment": enrolment, "lesson": lesson}, headers=H
    )
    assert response.status == 200, await response.text()
    return await response.json()


async def open_and_pass(trainees: Trainees, enrolment: int, selfie: str = "person_b_2") -> dict:
    client = trainees.as_user(ZHANG)
    opened = await (
        await client.post("/app/api/study/open", json={"enrolment": enrolment}, headers=H)
    ).json()
    assert opened["check"]["kind"] == "start"
    answer = await client.post(
        f"/app/api/study/checks/{opened['check']['id']}", data=photo(selfie), headers=JPEG
    )
    return await answer.json()


def jpeg_of(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


async def test_the_study_page_needs_a_session(trainees: Trainees):
    client = trainees.client
    page = await client.get("/app/study", allow_redirects=False)
    assert page.status == 302 and page.headers["Location"] == "/app?next=/app/study"
    api = await client.post("/app/api/study/heartbeat", json={}, headers=H)
    assert api.status == 401


async def test_an_address_too_long_to_carry_back_signs_in_to_the_home_page(trainees: Trainees):
    # Percent-encoded again in `next`, such an address made a Location header no client reads.
    page = await trainees.client.get("/app/study?x=" + "é" * 1200, allow_redirects=False)
    assert page.status == 302 and page.headers["Location"] == "/app"


async def test_consent_comes_first_then_the_photo_then_the_lessons(
    trainees: Trainees, clock: FixedClock
):
    await seed_enrolment(ZHANG, "C-001", clock.now() - timedelta(days=1))
    client = trainees.as_user(ZHANG)
    page = await (await client.get("/app/study?lang=en")).text()
    assert 'id="consent"' in page
    assert "How long we keep it" in page and "review your study instead" in page
    # Truthful about what is kept: a selfie that does not match stays for staff review.
    assert "discarded, not stored" not in page
    assert "kept encrypted" in page and "30 days after you pass" in page

    refused = await client.post("/app/api/study/photo", data=photo("person_b_1"), headers=JPEG)
    assert refused.status == 409 and (await refused.json())["reason"] == "no_consent"

    await client.post("/app/api/study/consent", headers=H)
    page = await (await client.get("/app/study?lang=en")).text()
    assert 'id="enrol-photo"' in page and "getUserMedia" not in page

    await client.post("/app/api/study/photo", data=photo("person_b_1"), headers=JPEG)
    page = await (await client.get("/app/study?lang=en")).text()
    assert "Safety Officers" in page or "safety officers" in page
    assert "29 days 0 hours left" in page
    assert page.count('class="progress"') == 4  # the total and one per lesson
    assert "/app/study/lesson/officer_duties?enrolment=" in page


async def test_a_bad_enrolment_photo_is_refused_with_its_reason(trainees: Trainees, clock):
    await seed_enrolment(ZHANG, "C-001", clock.now() - timedelta(days=1))
    client = trainees.as_user(ZHANG)
    await client.post("/app/api/study/consent", headers=H)

    garbage = await client.post("/app/api/study/photo?lang=en", data=b"not a jpeg", headers=JPEG)
    assert garbage.status == 422
    assert (await garbage.json())["reason"] == "not_an_image"

    blank = jpeg_of(Image.new("RGB", (640, 480), (200, 200, 200)))
    no_face = await (
        await client.post("/app/api/study/photo?lang=en", data=blank, headers=JPEG)
    ).json()
    assert no_face["reason"] == "no_face"
    assert no_face["message"] == "We could not find a face. Look straight into the camera."

    dark = Image.open(io.BytesIO(photo("person_b_1"))).point(lambda v: v // 5)
    too_dark = await (
        await client.post("/app/api/study/photo", data=jpeg_of(dark), headers=JPEG)
    ).json()
    assert too_dark["reason"] == "too_dark"
    assert "太暗" in too_dark["message"] or too_dark["message"]
    assert not await FaceProfile.filter(chat_user_id=ZHANG, photo_path__isnull=False).exists()


async def test_a_lesson_fills_up_from_heartbeats_after_a_passed_check_and_stops_at_100(
    trainees: Trainees, clock: FixedClock
):
    enrolment = await ready(trainees)
    page = await trainees.as_user(ZHANG).get(f"/app/study/lesson/falls?enrolment={enrolment}")
    assert page.status == 200 and 'data-lesson="falls"' in await page.text()

    first = await beat(trainees, enrolment, "falls")
    assert first["check"] is not None or first["reason"] in ("face_check", "gap")

    answer = await open_and_pass(trainees, enrolment)
    assert answer["result"] == "passed" and answer["score"] > 0.5

    clock.advance(seconds=10)
    assert (await beat(trainees, enrolment, "falls"))["lesson"]["seconds"] == 10
    clock.advance(seconds=10)
    done = await beat(trainees, enrolment, "falls")
    assert done["lesson"] == {"key": "falls", "seconds": 12, "required": 12, "percent": 100}
    assert done["total_percent"] == 36  # 12 of 33 seconds
    row = await LessonProgress.get(enrolment_id=enrolment, lesson="falls")
    assert row.completed_at == clock.now()

    clock.advance(seconds=10)
    again = await beat(trainees, enrolment, "falls")
    assert again["credited"] == 0 and again["reason"] == "complete"

    listing = await (await trainees.as_user(ZHANG).get("/app/study")).text()
    assert "/app/study/lesson/officer_duties?enrolment=" in listing  # resume: first unfinished


async def test_progress_stops_while_a_check_is_pending_and_when_it_fails(
    trainees: Trainees, clock: FixedClock
):
    enrolment = await ready(trainees)
    answer = await open_and_pass(trainees, enrolment, selfie="impostor_1")
    assert answer["result"] == "failed" and answer["reason"] == "no_match"
    clock.advance(seconds=5)
    await beat(trainees, enrolment, "falls")
    clock.advance(seconds=5)
    paused = await beat(trainees, enrolment, "falls")
    assert paused["lesson"]["seconds"] == 0 and paused["reason"] == "face_check"
    assert paused["check"] is not None  # a new chance, and nothing counts until it is passed
    # What is left of its minute (opened 5 s ago) by the server: the page counts that down on
    # the phone's own clock.
    assert paused["check"]["seconds_left"] == 55


async def test_a_check_answered_after_the_minute_fails(trainees: Trainees, clock: FixedClock):
    enrolment = await ready(trainees)
    client = trainees.as_user(ZHANG)
    opened = await (
        await client.post("/app/api/study/open", json={"enrolment": enrolment}, headers=H)
    ).json()
    clock.advance(seconds=61)
    late = await client.post(
        f"/app/api/study/checks/{opened['check']['id']}", data=photo("person_b_2"), headers=JPEG
    )
    assert (await late.json())["reason"] == "too_late"


async def test_a_random_check_comes_due_and_pauses_progress(trainees: Trainees, clock: FixedClock):
    enrolment = await ready(trainees)
    await open_and_pass(trainees, enrolment)  # the next check is due 30 s later (rng 0.0)
    for _ in range(2):
        clock.advance(seconds=10)
        assert (await beat(trainees, enrolment, "officer_duties"))["check"] is None
    clock.advance(seconds=10)
    due = await beat(trainees, enrolment, "officer_duties")
    assert due["check"]["kind"] == "random" and due["credited"] == 0
    assert await FaceCheck.filter(chat_user_id=ZHANG, result="pending").count() == 1


async def test_two_tabs_on_two_lessons_share_one_clock(trainees: Trainees, clock: FixedClock):
    enrolment = await ready(trainees)
    await open_and_pass(trainees, enrolment)
    await beat(trainees, enrolment, "officer_duties")  # starts the clock
    for _ in range(2):
        clock.advance(seconds=5)
        await beat(trainees, enrolment, "officer_duties")
        await beat(trainees, enrolment, "falls")
    rows = await LessonProgress.filter(enrolment_id=enrolment)
    assert sum(row.seconds_credited for row in rows) == 10  # 10 s of wall time, not 20


async def test_nothing_is_credited_after_the_study_window(trainees: Trainees, clock: FixedClock):
    enrolment = await ready(trainees)
    await open_and_pass(trainees, enrolment)
    clock.advance(days=29, hours=23, minutes=59, seconds=55)
    late = await beat(trainees, enrolment, "falls")
    assert late["credited"] == 0
    clock.advance(seconds=10)
    closed = await beat(trainees, enrolment, "falls")
    assert closed["credited"] == 0 and closed["reason"] == "window_closed"
    page = await (await trainees.as_user(ZHANG).get("/app/study?lang=en")).text()
    assert "The 30-day study period has ended" in page


async def test_another_trainees_enrolment_lessons_and_checks_are_refused(
    trainees: Trainees, clock: FixedClock
):
    zhang = await ready(trainees)
    check = (
        await (
            await trainees.as_user(ZHANG).post(
                "/app/api/study/open", json={"enrolment": zhang}, headers=H
            )
        ).json()
    )["check"]
    await ready(trainees, LI, "C-002")
    li = trainees.as_user(LI, "李四")

    assert (await li.get(f"/app/study?enrolment={zhang}")).status == 404
    assert (await li.get(f"/app/study/lesson/falls?enrolment={zhang}")).status == 404
    assert (await li.get(f"/app/api/study/progress?enrolment={zhang}")).status == 404
    stolen = await li.post(
        "/app/api/study/heartbeat", json={"enrolment": zhang, "lesson": "falls"}, headers=H
    )
    assert stolen.status == 404
    assert (
        await li.post("/app/api/study/open", json={"enrolment": zhang}, headers=H)
    ).status == 404
    answer = await li.post(
        f"/app/api/study/checks/{check['id']}", data=photo("person_b_2"), headers=JPEG
    )
    assert answer.status == 404
    assert (await FaceCheck.get(id=check["id"])).result == "pending"
    assert not await LessonProgress.filter(enrolment_id=zhang).exists()


async def test_state_changes_need_the_csrf_header(trainees: Trainees, clock: FixedClock):
    enrolment = await ready(trainees)
    client = trainees.as_user(ZHANG)
    for url, kwargs in [
        ("/app/api/study/consent", {}),
        ("/app/api/study/photo", {"data": photo("person_b_1")}),
        ("/app/api/study/photo/delete", {}),
        ("/app/api/study/open", {"json": {"enrolment": enrolment}}),
        ("/app/api/study/heartbeat", {"json": {"enrolment": enrolment, "lesson": "falls"}}),
        ("/app/api/study/checks/1", {"data": photo("person_b_2")}),
    ]:
        response = await client.post(url, **kwargs)
        assert response.status == 403, url
    assert await FaceProfile.filter(chat_user_id=ZHANG, photo_path__isnull=False).exists()


async def test_the_trainee_deletes_their_photo_and_the_files_go(
    trainees: Trainees, clock: FixedClock, tmp_path: Path
):
    await ready(trainees)
    folder = tmp_path / "faces" / str(ZHANG)
    assert (folder / "enrolment.jpg").exists() and (folder / "enrolment.npy").exists()
    await FaceCheck.create(
        chat_user_id=ZHANG,
        kind="random",
        requested_at=clock.now(),
        result="passed",
        score=0.8,
        fingerprint="f" * 32,
    )
    client = trainees.as_user(ZHANG)
    assert (await client.post("/app/api/study/photo/delete", headers=H)).status == 200
    assert not folder.exists()
    checks = await FaceCheck.filter(chat_user_id=ZHANG)
    assert checks and all(c.score is None and c.fingerprint is None for c in checks)
    page = await (await client.get("/app/study")).text()
    assert 'id="consent"' in page


async def test_the_mini_app_links_to_the_lessons_once_paid(trainees: Trainees, clock: FixedClock):
    client = trainees.as_user(ZHANG)
    assert 'id="study-link"' not in await (await client.get("/app")).text()
    await seed_enrolment(ZHANG, "C-001", clock.now() - timedelta(days=1))
    assert 'id="study-link"' in await (await client.get("/app")).text()


async def test_an_unpaid_enrolment_has_no_lessons(trainees: Trainees, clock: FixedClock):
    enrolment = await seed_enrolment(ZHANG, "C-001", clock.now())
    await models.Enrolment.filter(id=enrolment).update(paid_at=None, state="enrolled")
    page = await (await trainees.as_user(ZHANG).get("/app/study?lang=en")).text()
    assert 'id="no-enrolment"' in page


async def replaced_by_someone_else(trainees: Trainees, posted: list[int]) -> int:
    """Issue 15: delete the face data (their right), agree again, upload another face."""
    enrolment = await ready(trainees)
    study = trainees.client.app[STUDY].study

    async def on_review(review_id: int) -> None:
        posted.append(review_id)

    study.on_review = on_review
    assert (await open_and_pass(trainees, enrolment))["result"] == "passed"
    client = trainees.as_user(ZHANG)
    assert (await client.post("/app/api/study/photo/delete", headers=H)).status == 200
    assert (await client.post("/app/api/study/consent", headers=H)).status == 200
    uploaded = await client.post("/app/api/study/photo", data=photo("impostor_1"), headers=JPEG)
    body = await uploaded.json()
    assert uploaded.status == 200 and body["pending"] is True and body["message"]
    return enrolment


async def test_a_new_enrolment_photo_after_deleting_waits_for_staff_and_nothing_counts_meanwhile(
    trainees: Trainees, clock: FixedClock
):
    posted: list[int] = []
    enrolment = await replaced_by_someone_else(trainees, posted)
    client = trainees.as_user(ZHANG)

    [review_id] = posted
    review = await FaceReview.get(id=review_id)
    assert (review.kind, review.status) == ("photo", "pending")
    page = await (await client.get(f"/app/study?enrolment={enrolment}&lang=en")).text()
    assert 'id="photo-pending"' in page and "waiting for staff approval" in page
    opened = await client.post("/app/api/study/open", json={"enrolment": enrolment}, headers=H)
    assert (await opened.json())["check"] is None  # no check compares with the new face
    for _ in range(3):
        clock.advance(seconds=10)
        beaten = await beat(trainees, enrolment, "falls")
        assert (beaten["credited"], beaten["reason"], beaten["check"]) == (0, "photo_pending", None)
    assert beaten["message"]
    assert not await LessonProgress.filter(enrolment_id=enrolment, seconds_credited__gt=0)

    study = trainees.client.app[STUDY].study
    await study.decide_review(review_id, cleared=True, staff_id=900001, now=clock.now())
    opened = await client.post("/app/api/study/open", json={"enrolment": enrolment}, headers=H)
    assert (await opened.json())["check"]["kind"] == "start"  # checked against the new photo


async def test_a_new_enrolment_photo_staff_refuse_is_removed_and_the_next_goes_to_staff_too(
    trainees: Trainees, clock: FixedClock
):
    posted: list[int] = []
    await replaced_by_someone_else(trainees, posted)
    study = trainees.client.app[STUDY].study

    await study.decide_review(posted[0], cleared=False, staff_id=900001, now=clock.now())

    profile = await study.profile(ZHANG)
    assert profile.consented and not profile.has_photo
    client = trainees.as_user(ZHANG)
    again = await client.post("/app/api/study/photo", data=photo("impostor_2"), headers=JPEG)
    assert (await again.json())["pending"] is True and len(posted) == 2


async def test_a_photo_whose_files_were_lost_is_asked_for_again_not_an_error(
    trainees: Trainees, tmp_path: Path
):
    """A disk lost or a backup restored without the faces folder: the check fails as 'no
    photo' and the study page asks for a new one, instead of every check answering 500."""
    import shutil

    enrolment = await ready(trainees)
    shutil.rmtree(tmp_path / "faces" / str(ZHANG))

    answer = await open_and_pass(trainees, enrolment)

    assert answer["result"] == "failed"
    assert (await FaceProfile.get(chat_user_id=ZHANG)).photo_path is None
    assert await models.AuditLog.filter(action="face_files_missing").count() == 1
    page = await (await trainees.as_user(ZHANG).get("/app/study")).text()
    assert 'id="enrol-photo"' in page


async def test_a_data_dir_restored_elsewhere_still_opens_the_photo(
    trainees: Trainees, tmp_path: Path
):
    """Rows keep the path a file was written to; a data dir moved or restored under another
    path still holds it as <root>/<trainee>/<name>."""
    enrolment = await ready(trainees)
    profile = await FaceProfile.get(chat_user_id=ZHANG)
    moved = f"/srv/old-place/faces/{ZHANG}/" + Path(profile.embedding_path or "").name
    await FaceProfile.filter(id=profile.id).update(
        embedding_path=moved, photo_path=moved.replace(".npy", ".jpg")
    )

    assert (await open_and_pass(trainees, enrolment))["result"] == "passed"


async def test_a_local_trial_without_the_head_turn_says_so_on_the_face_check(
    trainees: Trainees, clock: FixedClock
):
    """README "Face checks in local mode": STUDY_HEAD_TURN=false, documented for a browser's
    fake camera that cannot turn its head, is visible on the check, never silent."""
    enrolment = await ready(trainees)
    lesson = f"/app/study/lesson/falls?enrolment={enrolment}"
    page = await (await trainees.as_user(ZHANG).get(lesson)).text()
    assert 'id="head-turn-off"' in page and "本地试用" in page

    study = trainees.client.app[STUDY].study
    study.config = replace(study.config, head_turn=True)
    page = await (await trainees.as_user(ZHANG).get(lesson)).text()
    assert 'id="head-turn-off"' not in page


async def test_the_study_page_speaks_the_language_chosen_in_the_chat_from_its_own_read(
    trainees: Trainees, clock: FixedClock
):
    """The Mini App opens on the study page; its one read brings the language the trainee
    chose in the chat (issue 20: the account was read for it beforehand), for the page and for
    its refusals. `?lang=` still wins, and without a choice the client's language holds."""
    enrolment = await seed_enrolment(ZHANG, "C-001", clock.now() - timedelta(days=1))
    client = trainees.as_user(ZHANG)  # a Chinese Telegram client
    assert "保存多久" in await (await client.get("/app/study")).text()

    await models.ChatUser.update_or_create(
        id=ZHANG, defaults={"first_name": "张三", "locale": "en"}
    )
    page = await client.get("/app/study")
    assert page.status == 200 and "How long we keep it" in await page.text()
    assert "保存多久" not in await page.text()
    missing = await client.get(f"/app/study?enrolment={enrolment + 999}")
    assert missing.status == 404 and "Page not found" in await missing.text()
    assert "保存多久" in await (await client.get("/app/study?lang=zh_CN")).text()
