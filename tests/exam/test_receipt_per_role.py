"""A receipt meant for renewal names the role and the category of an on-site professional and
prints the catalogue's class hours, not minutes divided by 45 (issue 18, item 5)."""

from __future__ import annotations

from domain.registry import SiteRole
from infra.db.exam_models import Receipt
from tests.exam.conftest import QUESTIONS, Examinees
from tests.study.conftest import ZHANG


async def pass_exam(examinees: Examinees, user_id: int, enrolment: int) -> Receipt:
    attempt = (await examinees.start(user_id, enrolment))["id"]
    await examinees.answer_all(user_id, attempt, right=QUESTIONS)
    assert (await examinees.submit(user_id, attempt))["passed"]
    return await Receipt.get(enrolment_id=enrolment)


async def test_a_construction_workers_receipt_names_role_category_course_and_catalogue_hours(
    examinees: Examinees,
):
    builder = examinees.exams.study.courses.roles[SiteRole.CONSTRUCTION]
    enrolment = await examinees.ready(
        ZHANG, "云建现0000003", cert_type="site_pro", role="construction", category="土建"
    )
    # The role's own course is the one studied: its lessons opened the exam.
    view = await examinees.exams.study.enrolment(ZHANG, enrolment)
    assert view is not None
    assert examinees.exams.study.course(view) is builder

    receipt = await pass_exam(examinees, ZHANG, enrolment)
    assert receipt.hours == builder.class_hours == 24  # not 60 min / 45 = 1.3
    page = await (
        await examinees.client.get(f"/verify/{examinees.exams.receipt_token(receipt)}")
    ).text()
    assert "现场专业人员：施工员" in page
    assert '<dd id="category">土建</dd>' in page
    assert "现场专业人员（施工员）继续教育" in page
    assert '<dd id="hours">24 ' in page and "示例学时" in page  # the demo catalogue says so


async def test_a_type_without_roles_keeps_its_course_and_prints_no_role(examinees: Examinees):
    enrolment = await examinees.ready(ZHANG, "C-901")  # safety_c
    receipt = await pass_exam(examinees, ZHANG, enrolment)
    catalogue = examinees.exams.study.courses
    assert receipt.hours == catalogue.for_certificate("safety_c", None).class_hours
    page = await (
        await examinees.client.get(f"/verify/{examinees.exams.receipt_token(receipt)}")
    ).text()
    assert 'id="category"' not in page and "：施工员" not in page
