"""Liveness against replays, three failures to staff with the evidence, staff decisions, a new
enrolment photo by staff, and face files encrypted at rest."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import numpy as np
from aiogram.methods import SendMediaGroup, SendMessage
from aiogram.types import Update

from application.study import FaceStore, ReviewStatus, Study
from bot.callbacks import FaceReviewCallback, ReviewAction
from bot.face_reviews import FaceReviewDesk
from infra.db import models
from infra.db.study_models import FaceCheck, FaceProfile, FaceReview
from tests.bot.test_support_desk import group_click, group_message
from tests.conftest import BotHarness
from tests.study.conftest import ZHANG, Trainees, photo, seed_enrolment
from tests.study.test_study_web import JPEG, beat, ready
from tests.support import updates, video
from tests.support.chance import LeftTurnsOnlyWhenOwed
from webview.study import STUDY


def study_of(trainees: Trainees) -> Study:
    return trainees.client.app[STUDY].study


async def answer(trainees: Trainees, check_id: int, name: str) -> dict:
    response = await trainees.as_user(ZHANG).post(
        f"/app/api/study/checks/{check_id}", data=photo(name), headers=JPEG
    )
    return await response.json()


async def test_a_picture_sent_again_is_refused_and_the_check_stays_open(trainees: Trainees):
    enrolment = await ready(trainees)
    opened = await study_of(trainees).open_lesson(
        ZHANG, (await study_of(trainees).enrolment(ZHANG, enrolment)), trainees.clock.now()
    )
    assert opened is not None
    # The enrolment photo itself, held up to the camera again.
    replay = await answer(trainees, opened.id, "person_b_1")
    assert replay["result"] == "pending" and replay["reason"] == "same_image"
    assert "new selfie" in replay["message"] or "自拍" in replay["message"]
    assert (await answer(trainees, opened.id, "person_b_2"))["result"] == "passed"
    # Later, the selfie that passed once is no good either.
    trainees.clock.advance(minutes=2)
    due = (await beat(trainees, enrolment, "falls"))["check"]
    assert (await answer(trainees, due["id"], "person_b_2"))["reason"] == "same_image"


async def test_three_failures_in_a_row_go_to_staff_who_clear_and_progress_resumes(
    trainees: Trainees,
):
    enrolment = await ready(trainees)
    study = study_of(trainees)
    posted: list[int] = []

    async def on_review(review_id: int) -> None:
        posted.append(review_id)

    study.on_review = on_review
    current = await study.enrolment(ZHANG, enrolment)
    assert current is not None
    for impostor in ("person_a_2", "impostor_1", "impostor_2"):
        check = await study.open_lesson(ZHANG, current, trainees.clock.now())
        assert check is not None
        assert (await answer(trainees, check.id, impostor))["result"] == "failed"
        trainees.clock.advance(seconds=5)
    [review] = await FaceReview.all()
    assert posted == [review.id] and len(review.check_ids) == 3
    evidence = await study.review_evidence(review.id)
    assert evidence is not None and evidence.enrolment_photo and evidence.selfie
    assert [reason for _, _, reason, _ in evidence.checks] == ["no_match"] * 3
    assert all(score is not None and score < 0.4 for *_, score in evidence.checks)

    paused = await beat(trainees, enrolment, "falls")
    assert paused["credited"] == 0

    decided = await study.decide_review(
        review.id, cleared=True, staff_id=900001, now=trainees.clock.now()
    )
    assert decided is not None
    assert (
        await study.decide_review(
            review.id, cleared=False, staff_id=900002, now=trainees.clock.now()
        )
        is None
    )
    assert (await FaceReview.get(id=review.id)).status == ReviewStatus.CLEARED.value
    trainees.clock.advance(seconds=5)
    await beat(trainees, enrolment, "falls")
    trainees.clock.advance(seconds=5)
    resumed = await beat(trainees, enrolment, "falls")
    assert resumed["credited"] > 0
    assert await models.AuditLog.filter(action="face_review_cleared").count() == 1


async def test_face_files_are_encrypted_at_rest(tmp_path):
    store = FaceStore(tmp_path, key=b"k" * 32)
    picture = photo("person_b_1")
    vector = np.arange(128, dtype=np.float32)
    photo_path, embedding_path = store.save(7, picture, vector)
    assert photo_path.name.endswith(".enc") and embedding_path.name.endswith(".enc")
    raw = photo_path.read_bytes()
    assert not raw.startswith(b"\xff\xd8") and picture[100:200] not in raw
    assert store.read(photo_path) == picture
    assert np.array_equal(store.embedding(str(embedding_path)), vector)
    store.delete(7)
    assert not (tmp_path / "7").exists()


async def test_the_review_reaches_the_trainees_topic_and_staff_decide_there(
    harness: BotHarness, clock, i18n
):
    trainee = updates.user(ZHANG, "张三")
    study = harness.services.study
    enrolment = await seed_enrolment(ZHANG, "C-REVIEW", clock.now() - timedelta(days=1))
    await study.consent(ZHANG, clock.now())
    assert await study.enrol_photo(ZHANG, photo("person_b_1"), clock.now()) is None
    checks = []
    for n in range(3):
        row = await FaceCheck.create(
            chat_user_id=ZHANG,
            enrolment_id=enrolment,
            kind="random",
            requested_at=clock.now() + timedelta(minutes=n + 1),
            answered_at=clock.now() + timedelta(minutes=n + 1),
            result="failed",
            reason="no_match",
            score=0.1,
        )
        checks.append(row.id)
    study.store.save_evidence(ZHANG, checks[-1], photo("impostor_1"))
    review = await FaceReview.create(chat_user_id=ZHANG, check_ids=checks, created_at=clock.now())
    desk = FaceReviewDesk(harness.bot, i18n, harness.dispatcher["desk"], study)
    await desk.post(review.id)

    [media] = harness.session.sent(SendMediaGroup)
    assert len(media.media) == 2 and media.message_thread_id is not None
    card = harness.session.sent(SendMessage)[-1]
    assert "0.100" in card.text and card.message_thread_id == media.message_thread_id
    assert await models.AuditLog.filter(action="face_photos_shown_to_staff").count() == 1

    staff = updates.user(900001, "客服小李")
    data = FaceReviewCallback(action=ReviewAction.REJECT, review=review.id).pack()
    await harness.feed(group_click(data, staff, media.message_thread_id))
    assert (await FaceReview.get(id=review.id)).status == "rejected"
    told = [m for m in harness.session.sent(SendMessage) if m.chat_id == ZHANG]
    assert told and "无法通过人脸核验确认" in told[-1].text

    # The trainee asks for a new photo; staff remove the old one, consent stays.
    await harness.feed(group_message("/newphoto C-REVIEW", staff))
    profile = await FaceProfile.get(chat_user_id=ZHANG)
    assert profile.photo_path is None and profile.consent_at is not None
    assert (await study.profile(ZHANG)).consented and not (await study.profile(ZHANG)).has_photo
    assert await study.enrol_photo(ZHANG, photo("person_b_2"), clock.now()) is None
    assert trainee  # the same person throughout


async def _challenged_check(harness: BotHarness, clock) -> tuple[Study, int]:
    """Person A enrolled (photo person_a_1), the opening check of a lesson waiting, asking for
    a turn to the left."""
    study = harness.services.study
    study.config = dataclasses.replace(study.config, head_turn=True)
    study.chance = LeftTurnsOnlyWhenOwed()
    enrolment_id = await seed_enrolment(ZHANG, "C-VIDEO", clock.now() - timedelta(days=1))
    await study.consent(ZHANG, clock.now())
    assert await study.enrol_photo(ZHANG, photo("person_a_1"), clock.now()) is None
    enrolment = await study.enrolment(ZHANG, enrolment_id)
    assert enrolment is not None
    check = await study.open_lesson(ZHANG, enrolment, clock.now())
    assert check is not None and check.challenge == "left"
    return study, check.id


def _sent(harness: BotHarness, field: str, file_id: str, data: bytes, **media: object) -> Update:
    harness.session.files[file_id] = data  # type: ignore[attr-defined]
    body = {"file_id": file_id, "file_unique_id": file_id, **media}
    return updates.message("", updates.user(ZHANG, "张三"), **{field: body})


async def test_a_round_video_turning_the_asked_way_answers_the_check_in_the_chat(
    harness: BotHarness, clock
):
    study, check_id = await _challenged_check(harness, clock)

    await harness.feed(_sent(harness, "video_note", "v1", video.still(), length=384, duration=2))
    assert "转头" in harness.last_text()  # a filmed photo does not turn
    assert (await FaceCheck.get(id=check_id)).result == "pending"
    await harness.feed(
        _sent(harness, "video_note", "v2", video.head_turn_left(), length=384, duration=2)
    )

    assert "✅" in harness.last_text()
    check = await FaceCheck.get(id=check_id)
    assert (check.result, check.reason) == ("passed", None) and check.score > 0.363
    # The same clip again is a replay.
    clock.advance(minutes=5)
    enrolment = await study.enrolment(ZHANG, check.enrolment_id)  # type: ignore[arg-type]
    assert enrolment is not None
    again = await study.open_lesson(ZHANG, enrolment, clock.now())
    assert again is not None
    await harness.feed(
        _sent(harness, "video_note", "v3", video.head_turn_left(), length=384, duration=2)
    )
    assert (await FaceCheck.get(id=again.id)).result == "pending"


async def test_without_a_camera_or_a_video_the_check_goes_to_staff_in_one_tap(
    harness: BotHarness, clock
):
    _, check_id = await _challenged_check(harness, clock)
    harness.session.files["p1"] = photo("person_a_2")  # type: ignore[attr-defined]
    size = {"file_id": "p1", "file_unique_id": "p1", "width": 722, "height": 899}
    await harness.feed(updates.message("", updates.user(ZHANG, "张三"), photo=[size]))
    asked = harness.session.sent(SendMessage)[-1]
    assert "圆形视频" in asked.text and "左" in asked.text
    [[button]] = asked.reply_markup.inline_keyboard  # type: ignore[union-attr]

    await harness.feed(updates.click(str(button.callback_data), updates.user(ZHANG, "张三")))

    assert "工作人员" in harness.last_text()
    check = await FaceCheck.get(id=check_id)
    assert (check.result, check.reason) == ("failed", "staff_review")
    [review] = await FaceReview.filter(chat_user_id=ZHANG)
    assert review.check_ids == [check_id]
    [media] = harness.session.sent(SendMediaGroup)  # the enrolment photo and the one sent
    assert len(media.media) == 2
    staff = updates.user(900001, "客服小李")
    clear = FaceReviewCallback(action=ReviewAction.CLEAR, review=review.id).pack()
    await harness.feed(group_click(clear, staff, media.message_thread_id))
    assert await FaceCheck.filter(chat_user_id=ZHANG, kind="staff", result="passed").exists()


async def test_a_new_enrolment_photo_reaches_staff_who_approve_it_and_the_trainee_hears(
    harness: BotHarness, clock
):
    from aiogram.methods import SendPhoto

    study = harness.services.study
    await seed_enrolment(ZHANG, "C-NEWFACE", clock.now() - timedelta(days=1))
    await study.consent(ZHANG, clock.now())
    assert await study.enrol_photo(ZHANG, photo("person_b_1"), clock.now()) is None
    assert not harness.session.sent(SendPhoto)  # the first photo needs nobody
    await study.delete_photo(ZHANG, clock.now())
    await study.consent(ZHANG, clock.now())

    assert await study.enrol_photo(ZHANG, photo("impostor_1"), clock.now()) is None

    [shown] = harness.session.sent(SendPhoto)
    card = harness.session.sent(SendMessage)[-1]
    assert card.message_thread_id == shown.message_thread_id is not None
    assert "新的注册照片" in card.text or "new enrolment photo" in card.text
    [review] = await FaceReview.filter(kind="photo")
    staff = updates.user(900001, "客服小李")
    approve = FaceReviewCallback(action=ReviewAction.CLEAR, review=review.id).pack()
    await harness.feed(group_click(approve, staff, shown.message_thread_id))
    assert not (await study.profile(ZHANG)).photo_pending
    told = [m for m in harness.session.sent(SendMessage) if m.chat_id == ZHANG]
    assert told and "注册照片" in told[-1].text
