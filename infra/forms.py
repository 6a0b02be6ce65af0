"""The application forms trainees fill on a phone (R-EXT-3, S17): generated .docx files, and
the PDF staff receive of a form filled and signed in the Mini App.

Stand-ins for the centre's "继续教育延期、补考和重学的规定" forms, individual and enterprise
versions, in Chinese with English; the centre can replace the wording without code changes
by editing FORM_FIELDS."""

from __future__ import annotations

import io
from dataclasses import dataclass

from docx import Document
from docx.shared import Pt
from fpdf import FPDF
from pylopdf_fonts_zh_cn import sans_path

from domain.registry import CertType
from domain.support import Eligibility

TITLES = {
    ("extension", "individual"): "继续教育延期学习申请表（个人版）\nExtension (individual)",
    ("extension", "enterprise"): "继续教育延期学习申请表（企业版）\nExtension (enterprise)",
    ("makeup", "individual"): "继续教育补考申请表（个人版）\nMake-up exam application (individual)",
    ("makeup", "enterprise"): "继续教育补考申请表（企业版）\nMake-up exam application (enterprise)",
    ("restudy", "individual"): "继续教育重学申请表（个人版）\nRe-study application (individual)",
    ("restudy", "enterprise"): "继续教育重学申请表（企业版）\nRe-study application (enterprise)",
}
FORM_FIELDS = {
    "individual": [
        "姓名 Name",
        "身份证号 ID number",
        "证书类型及编号 Certificate type and number",
        "缴费日期 Payment date",
        "申请原因 Reason",
        "本人签名及日期 Signature and date",
    ],
    "enterprise": [
        "单位名称 Company",
        "统一社会信用代码 Credit code",
        "申请人员名单（姓名、身份证号、证书编号） Employees (name, ID number, certificate)",
        "申请原因 Reason",
        "经办人及联系电话 Contact person and phone",
        "单位盖章及日期 Company seal and date",
    ],
}
RULES = (
    "规定摘要 Rules: 延期须在 30 天学习期结束后申请；补考须在 5 次考试机会用完后申请；"
    "均不收取费用。Extensions open after the 30-day window ends; make-up exams after the fifth "
    "attempt; both are free of charge."
)


def application_form(kind: str, version: str) -> bytes:
    document = Document()
    document.add_heading(TITLES[(kind, version)], level=1)
    document.add_paragraph(RULES).runs[0].font.size = Pt(9)
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label in FORM_FIELDS[version]:
        row = table.add_row().cells
        row[0].text = label
        row[1].text = ""
    document.add_paragraph(
        "填写后直接把本文件（或拍照）发回机器人。Fill in and send this file (or a photo) back "
        "to the bot."
    )
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class FormFacts:
    """What the product already knows for an application form, shown prefilled in the Mini App;
    masked where it must be."""

    enrolment_id: int
    kind: str
    name: str
    id_number: str
    cert_type: CertType
    cert_number: str
    paid_on: str
    situation: str
    label: str


@dataclass(frozen=True, slots=True)
class Closed:
    """An enrolment of this account that may not be applied for now, and why."""

    label: str
    eligibility: Eligibility


@dataclass(frozen=True, slots=True)
class SignedForm:
    """The individual form as the trainee signed it in the Mini App: what the product knew,
    what the trainee wrote, and when. ID and certificate numbers arrive masked."""

    application_id: int
    kind: str
    name: str
    id_number: str
    certificate: str
    paid_on: str
    situation: str  # the study deadline that passed, or the exam attempts used
    reason: str
    signed_on: str


# The document's own words (bilingual like the .docx), not the reader's language: it is the
# centre's form, filed as it is.
SITUATION_LABELS = {
    "extension": "学习期限截止 Study deadline",
    "makeup": "已用考试次数 Exam attempts used",
    "restudy": "学习期限截止 Study deadline",
}
APPLICATION_NO = "申请编号 Application no."
SIGNED_ONLINE = (
    "本表由申请人在线填写并手写签名。Filled in and signed by hand online by the applicant."
)
SIGNATURE_WIDTH_MM = 120
SIGNATURE_HEIGHT_MM = 30


def application_pdf(form: SignedForm, signature_png: bytes) -> bytes:
    """The individual form with the trainee's answers and signature, one A4 page, for staff."""
    fields = FORM_FIELDS["individual"]
    rows = [
        (APPLICATION_NO, f"#{form.application_id}"),
        (fields[0], form.name),
        (fields[1], form.id_number),
        (fields[2], form.certificate),
        (fields[3], form.paid_on),
        (SITUATION_LABELS[form.kind], form.situation),
        (fields[4], form.reason),
    ]
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.add_font("noto", fname=str(sans_path()))
    pdf.set_font("noto", size=15)
    pdf.multi_cell(0, 8, TITLES[(form.kind, "individual")], align="C", new_x="LMARGIN")
    pdf.ln(2)
    pdf.set_font("noto", size=8)
    pdf.multi_cell(0, 4.5, RULES, new_x="LMARGIN")
    pdf.ln(3)
    pdf.set_font("noto", size=10)
    with pdf.table(
        col_widths=(55, 125), text_align="LEFT", line_height=6, first_row_as_headings=False
    ) as table:
        for label, value in rows:
            row = table.row()
            row.cell(label)
            row.cell(value)
        row = table.row()
        row.cell(fields[5])
        row.cell(form.signed_on)
    pdf.ln(2)
    # Within the answers' column whatever the drawing's shape (a phone held sideways).
    pdf.image(
        io.BytesIO(signature_png),
        x=pdf.l_margin + 55,
        w=SIGNATURE_WIDTH_MM,
        h=SIGNATURE_HEIGHT_MM,
        keep_aspect_ratio=True,
    )
    pdf.ln(2)
    pdf.set_font("noto", size=8)
    pdf.multi_cell(0, 4.5, SIGNED_ONLINE, new_x="LMARGIN")
    return bytes(pdf.output())
