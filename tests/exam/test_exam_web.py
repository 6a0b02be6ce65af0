"""The exam through HTTP: eligibility, start and resume, autosave, the deadline, the server's
auto-submit, best score, make-up, the receipt and its verification page (S13-S16, R-EXAM-*)."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from domain.exam import AttemptStatus
from infra.db import models
from infra.db.exam_models import ExamAttempt, ExamEvent, Receipt
from infra.db.study_models import FaceCheck, FaceReview, LessonProgress
from tests.exam.conftest import JPEG, QUESTIONS, TIME_LIMIT, Examinees, H
from tests.study.conftest import LI, ZHANG, photo
from tests.support.selfies import selfie


async def test_s13_the_exam_names_the_lesson_that_is_short_of_100(examinees: Examinees):
    enrolment = await examinees.ready(ZHANG, "C-100", finished=False)
    await LessonProgress.create(
        enrolment_id=enrolment, lesson="falls", chat_user_id=ZHANG, seconds_credited=6
    )
    started = await examinees.start(ZHANG, enrolment)
    assert started["status"] == 409 and started["reason"] == "lessons"
    assert "落实高处作业防护" in started["message"] or "%" in started["message"]
    page = await (await examinees.as_user(ZHANG).get(f"/app/exam?enrolment={enrolment}")).text()
    assert 'data-reason="lessons"' in page and "50%" in page and "0%" in page
    assert await ExamAttempt.all().count() == 0


async def test_a_closed_window_points_to_an_extension(examinees: Examinees):
    enrolment = await examinees.ready(ZHANG, "C-101")
    examinees.clock.advance(days=31)
    started = await examinees.start(ZHANG, enrolment)
    assert started["status"] == 409 and started["reason"] == "window_closed"
    assert "延期" in started["message"]


async def test_start_twice_is_one_attempt_with_a_fixed_draw_after_the_opening_check(
    examinees: Examinees,
):
    enrolment = await examinees.ready(ZHANG, "C-102")
    first = await examinees.start(ZHANG, enrolment)
    again = await examinees.tap_start(ZHANG, enrolment)
    assert first["ok"] and first["id"] == again["id"]
    assert first["seconds_left"] == TIME_LIMIT.total_seconds()
    assert first["check"] is None  # the opening check passed before the questions came
    [opening] = await FaceCheck.filter(chat_user_id=ZHANG, kind="exam")
    assert opening.result == "passed"
    assert (await ExamAttempt.get(id=first["id"])).opening_check_id == opening.id
    draw = await examinees.draw(first["id"])
    assert len(draw) == QUESTIONS == len({q for q, _ in draw})
    assert draw == await examinees.draw(again["id"])
    row = await models.Enrolment.get(id=enrolment)
    assert row.state == "exam"


async def test_s15_answers_autosave_and_the_attempt_resumes_on_another_device(
    examinees: Examinees,
):
    enrolment = await examinees.ready(ZHANG, "C-103")
    attempt = (await examinees.start(ZHANG, enrolment))["id"]
    (q1, _), (q2, _) = (await examinees.draw(attempt))[:2]
    assert (await examinees.answer(ZHANG, attempt, q1, examinees.right(q1))).status == 200
    assert (await examinees.answer(ZHANG, attempt, q2, examinees.wrong(q2))).status == 200
    # Changing an answer replaces it.
    assert (await examinees.answer(ZHANG, attempt, q2, examinees.right(q2))).status == 200

    examinees.clock.advance(minutes=5)  # the phone crashed; another one opens the page
    state = await (await examinees.as_user(ZHANG).get(f"/app/api/exam/attempt/{attempt}")).json()
    assert state["status"] == "open"
    assert state["answers"] == {q1: examinees.right(q1), q2: examinees.right(q2)}
    assert state["seconds_left"] == (TIME_LIMIT - timedelta(minutes=5)).total_seconds()
    page = await (await examinees.as_user(ZHANG).get(f"/app/exam/attempt/{attempt}")).text()
    for option in examinees.right(q1):
        assert re.search(rf'name="q-{q1}" value="{option}" checked', page)
    # Resuming from the exam home: the same attempt, not a new one.
    assert (await examinees.start(ZHANG, enrolment))["id"] == attempt
    saves = await ExamEvent.filter(attempt_id=attempt, kind="saved").count()
    assert saves == 3


async def test_bad_answers_are_refused_clearly(examinees: Examinees):
    enrolment = await examinees.ready(ZHANG, "C-104")
    attempt = (await examinees.start(ZHANG, enrolment))["id"]
    question, _ = (await examinees.draw(attempt))[0]
    unknown = await examinees.answer(ZHANG, attempt, "not-in-the-draw", ["a"])
    assert unknown.status == 422 and (await unknown.json())["reason"] == "unknown_question"
    bad_option = await examinees.answer(ZHANG, attempt, question, ["zz"])
    assert bad_option.status == 422 and (await bad_option.json())["reason"] == "unknown_option"
    garbage = await examinees.as_user(ZHANG).post(
        f"/app/api/exam/attempt/{attempt}/answer", data=b"{not json", headers=H
    )
    assert garbage.status == 400
    no_csrf = await examinees.as_user(ZHANG).post(
        f"/app/api/exam/attempt/{attempt}/answer", json={"question": question, "options": []}
    )
    assert no_csrf.status == 403


async def test_another_trainees_attempt_is_not_found(examinees: Examinees):
    enrolment = await examinees.ready(ZHANG, "C-105")
    attempt = (await examinees.start(ZHANG, enrolment))["id"]
    question, _ = (await examinees.draw(attempt))[0]
    await examinees.ready(LI, "C-106")
    li = examinees.as_user(LI)
    assert (await li.get(f"/app/api/exam/attempt/{attempt}")).status == 404
    assert (await li.get(f"/app/exam/attempt/{attempt}")).status == 404
    assert (await examinees.answer(LI, attempt, question, ["a"])).status == 404
    assert (await li.post(f"/app/api/exam/attempt/{attempt}/submit", headers=H)).status == 404
    assert (
        await li.post("/app/api/exam/start", json={"enrolment": enrolment}, headers=H)
    ).status == 404
    assert (await li.get(f"/app/exam?enrolment={enrolment}")).status == 404
    assert (await examinees.client.get("/app/api/exam/attempt/1")).status in (401, 404)


async def test_s16_answers_stop_at_the_deadline_and_the_server_submits_what_was_saved(
    examinees: Examinees,
):
    enrolment = await examinees.ready(ZHANG, "C-107")
    attempt = (await examinees.start(ZHANG, enrolment))["id"]
    draw = await examinees.draw(attempt)
    for question, _ in draw[:7]:  # 7 of 10 right: 70 points
        assert (
            await examinees.answer(ZHANG, attempt, question, examinees.right(question))
        ).status == 200

    examinees.clock.advance(minutes=21)
    await examinees.exams.close_overdue(examinees.clock.now())
    assert [w[1] for w in examinees.notifier.warnings] == [attempt]  # 9 minutes left: warned once
    await examinees.exams.close_overdue(examinees.clock.now())
    assert len(examinees.notifier.warnings) == 1

    examinees.clock.advance(minutes=9)  # exactly the deadline
    late = await examinees.answer(ZHANG, attempt, draw[8][0], examinees.right(draw[8][0]))
    assert late.status == 409 and (await late.json())["reason"] == "deadline_passed"

    # Nobody has the page open: the job closes it.
    assert await examinees.exams.close_overdue(examinees.clock.now()) == 1
    assert await examinees.exams.close_overdue(examinees.clock.now()) == 0
    row = await ExamAttempt.get(id=attempt)
    assert row.status == AttemptStatus.TIMED_OUT.value and row.score == 70
    [(user, closed, passed)] = examinees.notifier.timed_out_calls
    assert user == ZHANG and closed.score == 70 and passed
    assert examinees.notifier.passed_calls == [(ZHANG, (await Receipt.get()).id)]


async def test_a_late_answer_is_refused_in_the_language_the_trainee_chose_in_the_chat(
    examinees: Examinees,
):
    """The autosave reads the chosen language only when it refuses: the refusal still comes in
    it, not in the Telegram app's language (Chinese here)."""
    enrolment = await examinees.ready(ZHANG, "C-108")
    attempt = (await examinees.start(ZHANG, enrolment))["id"]
    draw = await examinees.draw(attempt)
    await models.ChatUser.update_or_create(id=ZHANG, defaults={"locale": "en"})
    saved = await examinees.answer(ZHANG, attempt, draw[0][0], examinees.right(draw[0][0]))
    assert saved.status == 200

    examinees.clock.advance(minutes=30)
    late = await examinees.answer(ZHANG, attempt, draw[1][0], examinees.right(draw[1][0]))
    assert late.status == 409
    assert (await late.json())["message"] == "Time is up: answers are no longer accepted."


async def test_a_page_reopened_after_the_deadline_shows_the_result_not_the_questions(
    examinees: Examinees,
):
    enrolment = await examinees.ready(ZHANG, "C-108")
    attempt = (await examinees.start(ZHANG, enrolment))["id"]
    examinees.clock.advance(minutes=31)
    page = await examinees.as_user(ZHANG).get(f"/app/exam/attempt/{attempt}", allow_redirects=False)
    assert page.status == 302 and page.headers["Location"].endswith("/review")
    review = await (
        await examinees.as_user(ZHANG).get(f"/app/exam/attempt/{attempt}/review")
    ).text()
    assert 'id="timed-out"' in review and 'data-score="0"' in review
    assert len(examinees.notifier.timed_out_calls) == 1


async def test_submit_and_the_deadline_job_racing_close_the_attempt_once(examinees: Examinees):
    enrolment = await examinees.ready(ZHANG, "C-109")
    attempt = (await examinees.start(ZHANG, enrolment))["id"]
    await examinees.answer_all(ZHANG, attempt, right=10)
    examinees.clock.advance(minutes=30)
    await asyncio.gather(
        examinees.submit(ZHANG, attempt),
        examinees.exams.close_overdue(examinees.clock.now()),
        examinees.submit(ZHANG, attempt),
    )
    closes = await ExamEvent.filter(attempt_id=attempt, kind__in=["submitted", "timed_out"])
    assert len(closes) == 1
    assert await Receipt.all().count() == 1
    assert len(examinees.notifier.passed_calls) == 1


async def test_s14_every_attempt_is_listed_with_the_best_marked_and_a_review_of_wrong_answers(
    examinees: Examinees,
):
    enrolment = await examinees.ready(ZHANG, "C-110")
    scores = []
    for right in (3, 5, 4):
        attempt = (await examinees.start(ZHANG, enrolment))["id"]
        await examinees.answer_all(ZHANG, attempt, right=right)
        result = await examinees.submit(ZHANG, attempt)
        scores.append(result["score"])
        assert not result["passed"]
    assert scores == [30, 50, 40]
    review = await (await examinees.as_user(ZHANG).get(result["url"])).text()
    assert review.count('class="review-item"') == 6  # the six wrong answers, with explanations
    assert 'id="failed"' in review
    home = await (await examinees.as_user(ZHANG).get(f"/app/exam?enrolment={enrolment}")).text()
    assert '<strong id="best-score">50</strong>' in home
    assert home.count("data-attempt=") == 3
    assert re.search(r'class="best">\s*<td>2</td>', home)
    assert "剩余次数：2" in home or "2" in home
    # Chinese pages punctuate in Chinese: "最高分：", "您的答案：…；…", never "考试: " or "(多选)".
    for page in (review, home):
        assert not half_width_next_to_chinese(page), half_width_next_to_chinese(page)
    assert "最高分：" in home and "您的答案：" in review


def half_width_next_to_chinese(page: str) -> list[str]:
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>|<[^>]+>", " ", page, flags=re.S)
    return re.findall(r"[\u4e00-\u9fff] ?[:;(]|[:;)] ?[\u4e00-\u9fff]", text)


async def test_five_failures_close_the_exam_until_a_makeup_is_approved(examinees: Examinees):
    enrolment = await examinees.ready(ZHANG, "C-111")
    for _ in range(5):
        attempt = (await examinees.start(ZHANG, enrolment))["id"]
        await examinees.submit(ZHANG, attempt)
    sixth = await examinees.start(ZHANG, enrolment)
    assert sixth["status"] == 409 and sixth["reason"] == "no_attempts"
    assert "补考" in sixth["message"]
    await models.Application.create(
        kind="makeup", enrolment_id=enrolment, chat_user_id=ZHANG, status="approved"
    )
    again = await examinees.start(ZHANG, enrolment)
    assert again["ok"]
    assert (await ExamAttempt.get(id=again["id"])).number == 6


async def test_a_pass_makes_a_receipt_that_verifies_and_can_be_revoked(examinees: Examinees):
    enrolment = await examinees.ready(ZHANG, "C-112")
    attempt = (await examinees.start(ZHANG, enrolment))["id"]
    await examinees.answer_all(ZHANG, attempt, right=8)
    result = await examinees.submit(ZHANG, attempt)
    assert result == {
        "ok": True,
        "score": 80,
        "passed": True,
        "url": f"/app/exam/attempt/{attempt}/review",
    }
    receipt = await Receipt.get(enrolment_id=enrolment)
    assert receipt.score == 80 and receipt.hours > 0
    assert (await models.Enrolment.get(id=enrolment)).state == "passed"
    assert examinees.notifier.passed_calls == [(ZHANG, receipt.id)]
    # Passed: no further attempt.
    assert (await examinees.start(ZHANG, enrolment))["reason"] == "passed"

    client = examinees.as_user(ZHANG)
    png = await client.get(f"/app/receipt/{receipt.id}.png")
    assert png.status == 200 and png.content_type == "image/png"
    issued = await png.read()
    assert issued.startswith(b"\x89PNG")
    pdf = await client.get(f"/app/receipt/{receipt.id}.pdf")
    assert (await pdf.read()).startswith(b"%PDF")
    await examinees.ready(LI, "C-113")
    assert (await examinees.as_user(LI).get(f"/app/receipt/{receipt.id}.png")).status == 404

    token = examinees.exams.receipt_token(receipt)
    assert receipt.printed_tag and token == f"{receipt.number}.{receipt.printed_tag}"
    genuine = await (await examinees.client.get(f"/verify/{token}")).text()
    assert 'data-status="genuine"' in genuine and receipt.number in genuine
    assert "C-112" in genuine and "p100001" not in genuine  # the name is masked
    # The receipt as issued, photo included, to compare with the person in front of them.
    assert f'src="/verify/{token}/receipt.png"' in genuine
    image = await examinees.client.get(f"/verify/{token}/receipt.png")
    assert image.status == 200 and (await image.read()) == issued
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    # A printed tag's "number.tag" with a number longer than any receipt's (the fuzzer's find).
    too_long = "N" * 40 + ".tag"
    for bad in (
        altered,
        receipt.number,
        "x",
        token.replace(receipt.number, "JJ20261127000999"),
        too_long,
    ):
        response = await examinees.client.get(f"/verify/{bad}")
        page = await response.text()
        assert response.status == 200 and 'data-status="invalid"' in page, bad

    assert await examinees.exams.revoke(
        receipt.number, 900001, "issued in error", examinees.clock.now()
    )
    revoked = await (await examinees.client.get(f"/verify/{token}")).text()
    assert 'data-status="revoked"' in revoked
    assert "receipt.png" not in revoked
    assert (await examinees.client.get(f"/verify/{token}/receipt.png")).status == 404
    assert (await examinees.client.get(f"/verify/{altered}/receipt.png")).status == 404
    assert await models.AuditLog.filter(action="receipt_revoked").count() == 1


async def test_the_questions_come_only_after_the_opening_face_check_passed(
    examinees: Examinees,
):
    """Issue 15: an attempt whose only check failed ("check_start failed too_late") was scored,
    passed and got a receipt. Now a check that fails or comes too late draws no question and
    uses no attempt; the next tap asks again."""
    enrolment = await examinees.ready(ZHANG, "C-114")
    tapped = await examinees.tap_start(ZHANG, enrolment)
    assert (tapped["ok"], tapped["reason"]) == (False, "face_check")
    assert tapped["check"]["kind"] == "exam"
    # The page counts down the server's seconds on the phone's own clock, whatever its date.
    assert tapped["check"]["seconds_left"] == 60
    someone_else = await examinees.answer_check(ZHANG, tapped["check"]["id"], photo("person_a_2"))
    assert (someone_else["result"], someone_else["reason"]) == ("failed", "no_match")

    again = await examinees.tap_start(ZHANG, enrolment)
    assert again["check"]["id"] != tapped["check"]["id"]
    examinees.clock.advance(seconds=61)  # the minute passes
    late = await examinees.answer_check(ZHANG, again["check"]["id"], selfie())
    assert (late["result"], late["reason"]) == ("failed", "too_late")
    assert await ExamAttempt.all().count() == 0
    page = await (await examinees.as_user(ZHANG).get(f"/app/exam?enrolment={enrolment}")).text()
    assert 'class="question"' not in page and "5" in page  # five attempts left, none drawn

    started = await examinees.start(ZHANG, enrolment)
    assert started["ok"] and len(await examinees.draw(started["id"])) == QUESTIONS
    kinds = [event.kind for event in await examinees.exams.timeline(started["id"])]
    assert kinds[0] == "started"


async def passing_attempt_with_a_failed_check(examinees: Examinees, number: str) -> int:
    """Started after a passed opening check; mid-way a random check is answered by someone
    else; every answer right, submitted."""
    enrolment = await examinees.ready(ZHANG, number)
    attempt = (await examinees.start(ZHANG, enrolment))["id"]
    examinees.clock.advance(minutes=2)
    question, _ = (await examinees.draw(attempt))[0]
    saved = await examinees.answer(ZHANG, attempt, question, examinees.right(question))
    check = (await saved.json())["check"]
    assert check["kind"] == "random"
    stranger = await examinees.answer_check(ZHANG, check["id"], photo("person_a_2"))
    assert stranger["result"] == "failed"  # the exam goes on: nothing pauses it
    await examinees.answer_all(ZHANG, attempt, right=QUESTIONS)
    result = await examinees.submit(ZHANG, attempt)
    assert (result["score"], result["passed"]) == (100, False)
    return attempt


async def test_a_pass_with_a_failed_check_is_held_for_staff_and_cleared_gets_its_receipt(
    examinees: Examinees,
):
    attempt = await passing_attempt_with_a_failed_check(examinees, "C-118")
    row = await ExamAttempt.get(id=attempt)
    assert row.identity == "held" and not await Receipt.exists()
    assert [a.number for _, a in examinees.notifier.held_calls] == [1]
    assert examinees.notifier.passed_calls == []
    assert (await models.Enrolment.get(id=row.enrolment_id)).state == "exam"
    blocked = await examinees.tap_start(ZHANG, row.enrolment_id)
    assert (blocked["status"], blocked["reason"]) == (409, "held")
    review_page = await (
        await examinees.as_user(ZHANG).get(f"/app/exam/attempt/{attempt}/review")
    ).text()
    assert 'id="held"' in review_page and "receipt-png" not in review_page
    [review] = await FaceReview.filter(kind="exam", attempt_id=attempt)
    failed = await FaceCheck.get(id=review.check_ids[0])
    assert (failed.kind, failed.reason) == ("random", "no_match")
    evidence = await examinees.exams.study.review_evidence(review.id)
    assert evidence is not None and evidence.enrolment_photo and evidence.selfies

    decided = await examinees.exams.study.decide_review(
        review.id, cleared=True, staff_id=900001, now=examinees.clock.now()
    )
    assert decided is not None
    await examinees.exams.settle(decided, cleared=True, staff_id=900001, now=examinees.clock.now())

    receipt = await Receipt.get(enrolment_id=row.enrolment_id)
    assert examinees.notifier.passed_calls == [(ZHANG, receipt.id)]
    assert (await ExamAttempt.get(id=attempt)).identity == "confirmed"
    assert (await models.Enrolment.get(id=row.enrolment_id)).state == "passed"


async def test_a_held_pass_rejected_by_staff_does_not_count_and_the_trainee_hears_why(
    examinees: Examinees,
):
    attempt = await passing_attempt_with_a_failed_check(examinees, "C-119")
    [review] = await FaceReview.filter(kind="exam", attempt_id=attempt)
    decided = await examinees.exams.study.decide_review(
        review.id, cleared=False, staff_id=900001, now=examinees.clock.now()
    )
    assert decided is not None

    await examinees.exams.settle(decided, cleared=False, staff_id=900001, now=examinees.clock.now())

    row = await ExamAttempt.get(id=attempt)
    assert row.identity == "rejected" and not await Receipt.exists()
    [(user, rejected, reasons)] = examinees.notifier.rejected_calls
    assert user == ZHANG and rejected.number == 1 and [code for _, code in reasons] == ["no_match"]
    # Not a pass, and not one of the five attempts either: the next tap opens attempt 2.
    enrolment = await examinees.exams.study.enrolment(ZHANG, row.enrolment_id)
    assert enrolment is not None
    overview = await examinees.exams.overview(ZHANG, enrolment, examinees.clock.now())
    assert overview.best is None and overview.eligibility.attempts_left == 5
    second = await examinees.start(ZHANG, row.enrolment_id)
    assert second["ok"] and (await ExamAttempt.get(id=second["id"])).number == 2


async def test_a_check_left_unanswered_when_the_attempt_ends_holds_the_pass(
    examinees: Examinees,
):
    enrolment = await examinees.ready(ZHANG, "C-120")
    attempt = (await examinees.start(ZHANG, enrolment))["id"]
    await examinees.answer_all(ZHANG, attempt, right=QUESTIONS - 1)
    examinees.clock.advance(minutes=2)
    question, _ = (await examinees.draw(attempt))[-1]
    saved = await examinees.answer(ZHANG, attempt, question, examinees.right(question))
    assert (await saved.json())["check"]["kind"] == "random"  # and the submit comes before it

    await examinees.submit(ZHANG, attempt)

    assert (await ExamAttempt.get(id=attempt)).identity == "held"
    [review] = await FaceReview.filter(kind="exam", attempt_id=attempt)
    assert [c.reason for c in await FaceCheck.filter(id__in=review.check_ids)] == ["unanswered"]


async def test_a_failed_attempt_is_followed_by_an_attempts_left_reminder_unless_retried(
    examinees: Examinees, i18n
):
    from application.reminders import OutboxRefresh
    from infra.outbox import Status
    from texts.reminders import render

    enrolment = await examinees.ready(ZHANG, "C-115")
    attempt = (await examinees.start(ZHANG, enrolment))["id"]
    await examinees.answer_all(ZHANG, attempt, right=4)
    await examinees.submit(ZHANG, attempt)
    [row] = await models.Outbox.filter(kind="exam_attempts")
    assert row.chat_id == ZHANG and not row.essential
    assert row.not_before == examinees.clock.now() + timedelta(hours=24)

    refresh = OutboxRefresh(broadcasts=None)  # type: ignore[arg-type]
    fresh = await refresh(row, examinees.clock.now())
    assert fresh["params"]["left"] == 4 and fresh["params"]["best"] == 40
    with i18n.context(), i18n.use_locale("en"):
        text = render(fresh, examinees.clock.now(), essential=False)
    assert "4 attempts left" in text and "best exam score so far is 40" in text

    # A new attempt started before the reminder is due: it is dropped, not sent.
    await examinees.start(ZHANG, enrolment)
    assert await refresh(row, examinees.clock.now()) is Status.DROPPED


async def test_face_data_is_deleted_after_the_retention_period_and_the_receipt_keeps_its_photo(
    examinees: Examinees, tmp_path
):
    from application.exam import purge_face_data
    from infra.db.study_models import FaceProfile

    enrolment = await examinees.ready(ZHANG, "C-116")
    await examinees.ready(LI, "C-117")  # still studying: never purged
    attempt = (await examinees.start(ZHANG, enrolment))["id"]
    await examinees.answer_all(ZHANG, attempt, right=10)
    await examinees.submit(ZHANG, attempt)
    exams, now, month = examinees.exams, examinees.clock.now(), timedelta(days=30)
    photo_path = (await FaceProfile.get(chat_user_id=ZHANG)).photo_path
    assert photo_path and (tmp_path / "faces" / str(ZHANG)).is_dir()

    assert await purge_face_data(exams, now + timedelta(days=29), month) == 0
    assert await purge_face_data(exams, now + timedelta(days=31), month) == 1
    profile = await FaceProfile.get(chat_user_id=ZHANG)
    assert profile.photo_path is None and profile.deleted_at is not None
    assert not (tmp_path / "faces" / str(ZHANG)).exists()
    assert (await FaceProfile.get(chat_user_id=LI)).photo_path is not None
    assert await models.AuditLog.filter(action="face_data_deleted_retention").count() == 1
    receipt = await Receipt.get(enrolment_id=enrolment)
    assert (tmp_path / "receipts" / f"{receipt.number}.png").is_file()
    png, _ = await exams.receipt_files(receipt.id)  # from the kept file, photo and all
    assert png.startswith(b"\x89PNG")


async def test_face_data_of_a_trainee_who_never_finished_goes_after_the_enrolment_ended(
    examinees: Examinees,
):
    from application.exam import purge_face_data
    from infra.db.study_models import FaceProfile

    enrolment = await examinees.ready(LI, "C-118")
    await models.Enrolment.filter(id=enrolment).update(
        state="cancelled", active_key=None, ended_at=examinees.clock.now()
    )
    now, month = examinees.clock.now(), timedelta(days=30)
    assert await purge_face_data(examinees.exams, now, month) == 0
    assert await purge_face_data(examinees.exams, now + timedelta(days=31), month) == 1
    assert (await FaceProfile.get(chat_user_id=LI)).photo_path is None


async def test_the_exam_waits_while_a_new_enrolment_photo_waits_for_staff(examinees: Examinees):
    enrolment = await examinees.ready(ZHANG, "C-121")
    client = examinees.as_user(ZHANG)
    await client.post("/app/api/study/photo/delete", headers=H)
    await client.post("/app/api/study/consent", headers=H)
    await client.post("/app/api/study/photo", data=photo("impostor_1"), headers=JPEG)

    refused = await examinees.tap_start(ZHANG, enrolment)

    assert (refused["status"], refused["reason"]) == (409, "photo_pending")
    assert "审核" in refused["message"] and not await FaceCheck.filter(kind="exam").exists()
