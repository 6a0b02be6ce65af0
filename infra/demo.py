"""The demo registry: a roster that shows every situation, imported through the real importer.

Deterministic and relative to `today`, so the same people are due for CE whenever the demo runs.
The people here are invented; their ID numbers and credit code only have valid check characters.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from domain.calendar import add_months
from domain.clock import Clock
from domain.identifiers import credit_check_char, id_check_char
from domain.registry import CertType
from domain.timezone import local_date
from infra.pii import Pii
from infra.registry_import import ImportReport, import_registry

HEADERS = (
    "身份证号",
    "姓名",
    "手机号",
    "统一社会信用代码",
    "企业名称",
    "企业联系人手机",
    "证书类型",
    "证书编号",
    "类别",
    "发证日期",
    "有效期至",
    "状态",
)
ROSTER_FILE = "demo-roster.csv"
VALIDITY_MONTHS = 36


def _id(first17: str) -> str:
    return first17 + id_check_char(first17)


def _credit(first17: str) -> str:
    return first17 + credit_check_char(first17)


DEMO_ENTERPRISE: dict[str, str] = {
    "credit_code": _credit("91530102MA6JJ0001"),
    "name": "云南示范建设工程有限公司",
    "contact_phone": "13987100000",
}

DEMO_PEOPLE: list[dict[str, str]] = [
    {
        "key": "t1_due",
        "label_zh": "个人 · B证 · 需继续教育",
        "label_en": "individual, safety certificate B, CE due",
        "id_number": _id("53010219850101001"),
        "name": "李明",
        "phone": "13900000001",
        "demonstrates": "T1 individual enrols and pays for a due B certificate",
    },
    {
        "key": "t2_tower_crane",
        "label_zh": "个人 · 塔式起重机司机",
        "label_en": "individual, tower-crane driver",
        "id_number": _id("53010219860202001"),
        "name": "王强",
        "phone": "13900000002",
        "demonstrates": "T2 track: routed to the Quality & Safety Division desks",
    },
    {
        "key": "site_pro_category",
        "label_zh": "个人 · 施工员（土建）",
        "label_en": "individual, 施工员 with category 土建",
        "id_number": _id("53010219870303001"),
        "name": "张伟",
        "phone": "13900000003",
        "demonstrates": "the 施工员 category is shown for confirmation (S3)",
    },
    {
        "key": "busy",
        "label_zh": "个人 · 证书业务办理中",
        "label_en": "individual, certificate busy with another business",
        "id_number": _id("53010219880404002"),
        "name": "赵敏",
        "phone": "13900000004",
        "demonstrates": "a busy certificate cannot be enrolled; clear reason and escalation (S1)",
    },
    {
        "key": "void",
        "label_zh": "个人 · 证书已作废",
        "label_en": "individual, certificate void",
        "id_number": _id("53010219890505001"),
        "name": "陈刚",
        "phone": "13900000005",
        "demonstrates": "a void certificate cannot be enrolled",
    },
    {
        "key": "two_certificates",
        "label_zh": "个人 · 两本证书",
        "label_en": "individual with two certificates",
        "id_number": _id("53010219900606002"),
        "name": "刘芳",
        "phone": "13900000006",
        "demonstrates": "choosing one of several certificates; one due (T1), one not yet (T2)",
    },
]

# Valid check character, never in the roster: the "not found" path (S2).
DEMO_NOT_FOUND_ID_NUMBER = _id("53010219910707001")

_TYPE_NAMES = {
    CertType.SPECIAL_OPS: "特种作业人员",
    CertType.SAFETY_A: "A证",
    CertType.SAFETY_B: "B证",
    CertType.SITE_PRO: "施工员",
    CertType.SAFETY_C: "C证",
    CertType.TOWER_CRANE: "塔式起重机司机",
    CertType.RIGGER: "建筑起重司索信号工",
}
_NUMBER_PREFIX = {
    CertType.SPECIAL_OPS: "云特",
    CertType.SAFETY_A: "云建安A",
    CertType.SAFETY_B: "云建安B",
    CertType.SITE_PRO: "云建现",
    CertType.SAFETY_C: "云建安C",
    CertType.TOWER_CRANE: "云建塔",
    CertType.RIGGER: "云建索",
}


@dataclass(frozen=True, slots=True)
class _Cert:
    cert_type: CertType
    serial: int
    expires_in_months: int
    status: str = "有效"
    category: str = ""
    type_name: str | None = None


def _number(cert: _Cert) -> str:
    # Never derived from the dates: a certificate must keep its number when the demo reseeds.
    return f"{_NUMBER_PREFIX[cert.cert_type]}{cert.serial:07d}"


_INDIVIDUAL_CERTS: dict[str, tuple[_Cert, ...]] = {
    "t1_due": (_Cert(CertType.SAFETY_B, 1, 2),),
    "t2_tower_crane": (_Cert(CertType.TOWER_CRANE, 2, 3),),
    "site_pro_category": (_Cert(CertType.SITE_PRO, 3, 4, category="土建"),),
    "busy": (_Cert(CertType.SAFETY_B, 4, 5, status="办理中"),),
    "void": (_Cert(CertType.SPECIAL_OPS, 5, -8, status="作废"),),
    "two_certificates": (
        _Cert(CertType.SPECIAL_OPS, 6, 6),
        _Cert(CertType.RIGGER, 7, 20),
    ),
}

_EMPLOYEE_NAMES = (
    "杨建国",
    "周志强",
    "吴海燕",
    "孙立军",
    "马云飞",
    "朱文斌",
    "胡晓东",
    "郭丽华",
    "何俊杰",
    "高红梅",
    "林国平",
    "罗春花",
    "郑永明",
    "梁秀英",
    "谢家豪",
    "宋晓峰",
    "唐志刚",
    "许文静",
    "韩德勇",
    "冯玉兰",
    "邓少华",
    "曹建平",
    "彭学文",
    "曾小燕",
    "肖永红",
    "田光辉",
    "董雪梅",
    "袁振宇",
    "潘丽娟",
    "蒋宏伟",
)
_EMPLOYEE_TYPES = (
    CertType.SAFETY_A,
    CertType.SAFETY_B,
    CertType.SAFETY_C,
    CertType.SITE_PRO,
    CertType.SPECIAL_OPS,
    CertType.TOWER_CRANE,
    CertType.RIGGER,
)
# Mostly due (expiry within the coming year or just past it, before the void date), some not
# due yet; one void and one busy.
_NOT_DUE = {5, 11, 17, 23, 29}
_VOID, _BUSY = 8, 13


def _employee_cert(index: int) -> _Cert:
    cert_type = _EMPLOYEE_TYPES[index % len(_EMPLOYEE_TYPES)]
    months = 14 + index % 12 if index in _NOT_DUE else index % 12 - 1  # -1 … 10 months
    status = "作废" if index == _VOID else "办理中" if index == _BUSY else "有效"
    category, type_name = "", None
    if cert_type is CertType.SITE_PRO:
        # Alternate 施工员 (with a category) and 质量员 (the same family, no category).
        if index % 2:
            category = ("土建", "装饰装修", "设备安装", "市政")[index // 7 % 4]
        else:
            type_name = "质量员"
    return _Cert(cert_type, 101 + index, months, status, category, type_name)


def _row(
    person: tuple[str, str, str], cert: _Cert, today: date, enterprise: dict[str, str] | None
) -> dict[str, str]:
    id_number, name, phone = person
    expires = add_months(today, cert.expires_in_months)
    issued = add_months(expires, -VALIDITY_MONTHS)
    return {
        "身份证号": id_number,
        "姓名": name,
        "手机号": phone,
        "统一社会信用代码": enterprise["credit_code"] if enterprise else "",
        "企业名称": enterprise["name"] if enterprise else "",
        "企业联系人手机": enterprise["contact_phone"] if enterprise else "",
        "证书类型": cert.type_name or _TYPE_NAMES[cert.cert_type],
        "证书编号": _number(cert),
        "类别": cert.category,
        "发证日期": issued.isoformat(),
        "有效期至": expires.isoformat(),
        "状态": cert.status,
    }


def demo_roster(today: date) -> list[dict[str, str]]:
    rows = []
    for person in DEMO_PEOPLE:
        for cert in _INDIVIDUAL_CERTS[person["key"]]:
            identity = (person["id_number"], person["name"], person["phone"])
            rows.append(_row(identity, cert, today, None))
    for index, name in enumerate(_EMPLOYEE_NAMES):
        born = date(1970 + index % 25, index % 12 + 1, index % 28 + 1)
        identity = (_id(f"530111{born:%Y%m%d}{100 + index:03d}"), name, f"139871{index + 1:05d}")
        rows.append(_row(identity, _employee_cert(index), today, DEMO_ENTERPRISE))
    return rows


def write_demo_roster(today: date, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=HEADERS)
        writer.writeheader()
        writer.writerows(demo_roster(today))
    return path


async def seed_demo(clock: Clock, data_dir: Path, pii: Pii) -> ImportReport:
    """Idempotent for a given day; on a later day the relative dates move and rows update."""
    path = write_demo_roster(local_date(clock.now()), data_dir / ROSTER_FILE)
    return await import_registry(path, pii=pii, clock=clock, source="demo")
