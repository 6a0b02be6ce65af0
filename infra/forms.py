"""The application forms trainees fill on a phone (R-EXT-3, S17): generated .docx files.

Stand-ins for the centre's "继续教育延期、补考和重学的规定" forms, individual and enterprise
versions, in Chinese with English; the centre can replace the wording without code changes
by editing FORM_FIELDS."""

from __future__ import annotations

import io

from docx import Document
from docx.shared import Pt

TITLES = {
    ("extension", "individual"): "继续教育延期学习申请表（个人版）\nExtension (individual)",
    ("extension", "enterprise"): "继续教育延期学习申请表（企业版）\nExtension (enterprise)",
    ("makeup", "individual"): "继续教育补考申请表（个人版）\nMake-up exam application (individual)",
    ("makeup", "enterprise"): "继续教育补考申请表（企业版）\nMake-up exam application (enterprise)",
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
