from __future__ import annotations

import csv
import functools
import json
import logging
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from domain.calendar import add_months
from domain.identifiers import credit_check_char, id_check_char
from domain.registry import CertType
from infra import registry_import
from infra.db import open_database
from infra.db.models import Certificate, Enterprise, ImportRun, Person
from infra.demo import (
    DEMO_ENTERPRISE,
    DEMO_NOT_FOUND_ID_NUMBER,
    DEMO_PEOPLE,
    demo_roster,
    seed_demo,
)
from infra.registry_import import RosterError
from jijiao.cli import main
from tests.support.clock import TODAY, FixedClock
from tests.support.registry import PII, opened, person_by_id_number

# The product's importer, with the key the tests seal with.
import_registry = functools.partial(registry_import.import_registry, pii=PII, clock=FixedClock())

A_YEAR_ON = add_months(TODAY, 12)
HEADERS = [
    "身份证号",
    "姓名",
    "手机号",
    "统一社会信用代码",
    "企业名称",
    "证书类型",
    "证书编号",
    "类别",
    "发证日期",
    "有效期至",
    "状态",
]


def id_number(n: int, born: str = "19850101") -> str:
    first17 = f"530102{born}{n:03d}"
    return first17 + id_check_char(first17)


def credit_code(n: int) -> str:
    first17 = f"91530102MA6K{n:05d}"
    return first17 + credit_check_char(first17)


def row(n: int, **values: str) -> list[str]:
    """A valid roster row for person n (certificate 云建安B000000n), with some values replaced."""
    base = {
        "身份证号": id_number(n),
        "姓名": f"学员{n}",
        "手机号": f"139{n:08d}",
        "统一社会信用代码": credit_code(1),
        "企业名称": "云南测试建设有限公司",
        "证书类型": "B证",
        "证书编号": f"云建安B{n:07d}",
        "类别": "",
        "发证日期": "2024-01-15",
        "有效期至": "2027-01-15",
        "状态": "有效",
    }
    base.update(values)
    return [base[name] for name in HEADERS]


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as out:
        csv.writer(out).writerows(rows)
    return path


def read_rejections(path: Path) -> dict[int, dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as source:
        return {int(r["行号 row"]): r for r in csv.DictReader(source)}


async def certificate(number: str) -> Certificate:
    return await Certificate.get(number=number).prefetch_related("person", "enterprise")


async def test_an_xlsx_roster_with_title_rows_imports_every_certificate(database, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["云南省建筑施工企业安全生产管理人员名册"])
    sheet.append(["导出时间：2026-11-20"])
    sheet.append([])
    sheet.append(HEADERS)
    sheet.append(
        [
            id_number(1),
            "张三",
            13900000001,
            credit_code(1),
            "云南测试建设有限公司",
            "施工员",
            "云建现0000001",
            "土建",
            datetime(2024, 3, 1),
            datetime(2027, 3, 1),
            "有效",
        ]
    )
    sheet.append(
        [
            id_number(2),
            "李四",
            None,
            None,
            None,
            "塔式起重机司机",
            "云建塔0000002",
            None,
            None,
            "2027/3/5",
            "办理中",
        ]
    )
    book.save(tmp_path / "roster.xlsx")

    report = await import_registry(tmp_path / "roster.xlsx")

    assert (report.new, report.rejected, report.total, report.rejection_path) == (2, 0, 2, None)
    site_pro = await certificate("云建现0000001")
    assert (site_pro.cert_type, site_pro.category) == (CertType.SITE_PRO, "土建")
    assert (site_pro.issued_on, site_pro.expires_on) == (date(2024, 3, 1), date(2027, 3, 1))
    assert (site_pro.person.name, opened(site_pro.person)[1]) == ("张三", "13900000001")
    assert site_pro.enterprise.credit_code == credit_code(1)
    crane = await certificate("云建塔0000002")
    assert (crane.cert_type, crane.status, crane.enterprise) == ("tower_crane", "busy", None)
    assert crane.expires_on == date(2027, 3, 5)


async def test_a_utf8_csv_with_english_headers_and_codes_imports(database, tmp_path):
    path = write_csv(
        tmp_path / "roster.csv",
        [
            [
                "ID_Number",
                "Name",
                "Mobile",
                "Credit Code",
                "Company",
                "Enterprise contact phone",
                "Certificate Type",
                "Certificate Number",
                "Category",
                "Issue Date",
                "Expires",
                "STATUS",
            ],
            [
                id_number(1),
                "Li Lei",
                "+86 139 0000 0001",
                credit_code(2),
                "Yunnan Test Co.",
                "13900000099",
                "special_ops",
                "YN-SO-1",
                "",
                "20240301",
                "20270301",
                "valid",
            ],
            [
                id_number(2),
                "Han Meimei",
                "",
                "",
                "",
                "",
                "safety_a",
                "YN-A-2",
                "",
                "",
                "2027年3月5日",
                "busy",
            ],
        ],
        encoding="utf-8",
    )

    report = await import_registry(path)

    assert (report.new, report.rejected) == (2, 0)
    special = await certificate("YN-SO-1")
    assert (special.cert_type, special.expires_on) == ("special_ops", date(2027, 3, 1))
    assert opened(special.person)[1] == "13900000001"
    enterprise = await Enterprise.get(credit_code=credit_code(2))
    assert (enterprise.name, PII.open(enterprise.contact_phone_sealed)) == (
        "Yunnan Test Co.",
        "13900000099",
    )
    assert (await certificate("YN-A-2")).status == "busy"


async def test_a_gb18030_csv_saved_by_chinese_excel_imports_with_synonym_headers(
    database, tmp_path
):
    path = write_csv(
        tmp_path / "名册.csv",
        [
            [
                "证件号码",
                "人员姓名",
                "手机号码",
                "纳税人识别号",
                "单位名称",
                "证书类别",
                "证书号",
                "专业类别",
                "发证日期",
                "有效期截止",
                "证书状态",
            ],
            [
                id_number(1),
                "张三",
                "13900000001",
                credit_code(3),
                "昆明某某建筑有限公司",
                "安全生产考核合格证书（C）",
                "云建安C0000001",
                "",
                "2024年1月2日",
                "2027年1月2日",
                "正常",
            ],
            [
                id_number(2),
                "王五",
                "13900000002",
                "",
                "",
                "司索信号工",
                "云建索0000002",
                "",
                "",
                "2027.1.3",
                "作废",
            ],
        ],
        encoding="gb18030",
    )

    report = await import_registry(path)

    assert (report.new, report.rejected) == (2, 0)
    c_cert = await certificate("云建安C0000001")
    assert (c_cert.cert_type, c_cert.person.name) == ("safety_c", "张三")
    assert c_cert.enterprise.name == "昆明某某建筑有限公司"
    rigger = await certificate("云建索0000002")
    assert (rigger.cert_type, rigger.status) == ("rigger", "void")


async def test_each_bad_row_is_listed_with_its_row_number_and_reason_and_good_rows_import(
    database, tmp_path
):
    bad_check = id_number(3)[:17] + ("0" if id_number(3)[17] != "0" else "1")
    rows = [
        ["施工企业人员证书名册"],  # file row 1
        HEADERS,  # 2
        row(1),  # 3
        row(2, 姓名=""),  # 4
        row(3, 身份证号=bad_check),  # 5
        row(4, 身份证号=id_number(4)[:17]),  # 6
        row(5, 身份证号="530102" + "19850230" + "0011"),  # 7
        row(
            6,
            统一社会信用代码=credit_code(1)[:17] + "0"
            if credit_code(1)[17] != "0"
            else credit_code(1)[:17] + "1",
        ),  # 8
        row(7, 证书类型="木工证"),  # 9
        row(8, 有效期至="2027-02-30"),  # 10
        row(9, 证书类型="施工员", 类别="水利"),  # 11
        row(10, 证书编号="云建安B0000001"),  # 12: row 3's certificate, another holder
        row(11, 状态="冻结"),  # 13
        row(12, 手机号="12345"),  # 14
        row(13),  # 15
    ]
    path = write_csv(tmp_path / "roster.csv", rows)

    report = await import_registry(path)

    assert (report.new, report.rejected, report.total) == (2, 11, 13)
    assert report.rejection_path == tmp_path / "roster.rejected.csv"
    assert report.rejection_path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8
    rejected = read_rejections(report.rejection_path)
    assert {number: r["原因代码 code"] for number, r in rejected.items()} == {
        4: "missing_value",
        5: "bad_id_number",
        6: "bad_id_number",
        7: "bad_id_number",
        8: "bad_credit_code",
        9: "unknown_cert_type",
        10: "bad_date",
        11: "bad_category",
        12: "duplicate_certificate",
        13: "unknown_status",
        14: "bad_phone",
    }
    assert "姓名" in rejected[4]["原因"] and "name" in rejected[4]["reason"]
    assert "last character" in rejected[5]["reason"] and "校验码" in rejected[5]["原因"]
    assert "17" in rejected[6]["reason"] and "18" in rejected[6]["reason"]
    assert "birth date" in rejected[7]["reason"]
    assert "木工证" in rejected[9]["reason"]
    assert "土建" in rejected[11]["原因"]
    assert "row 3" in rejected[12]["reason"]
    # The file next to the roster never carries a full ID number.
    assert rejected[5]["身份证号"] == bad_check[:6] + "********" + bad_check[-4:]
    assert id_number(2) not in report.rejection_path.read_text(encoding="utf-8-sig")
    assert rejected[9]["证书类型"] == "木工证"
    found = [PII.digest(id_number(1)), PII.digest(id_number(13))]
    assert await Person.filter(id_number_hash__in=found).count() == 2
    assert await Certificate.all().count() == 2


async def test_reimporting_the_same_file_changes_nothing(database, tmp_path, caplog):
    path = write_csv(
        tmp_path / "roster.csv",
        [HEADERS, row(1), row(2), row(3, 证书类型="施工员", 类别="市政"), row(4, 状态="冻结")],
    )
    await import_registry(path)
    stamps = {c.number: c.updated_at for c in await Certificate.all()}
    people = {p.id_number_hash: p.updated_at for p in await Person.all()}

    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        again = await import_registry(path)

    assert (again.new, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 1)
    assert {c.number: c.updated_at for c in await Certificate.all()} == stamps
    assert {p.id_number_hash: p.updated_at for p in await Person.all()} == people
    statements = [r.getMessage() for r in caplog.records]
    assert any(s.startswith("SELECT") for s in statements)  # the log does show the queries
    assert [s for s in statements if s.startswith("UPDATE")] == []


async def test_a_changed_phone_counts_as_updated_and_the_later_row_wins(database, tmp_path):
    await import_registry(write_csv(tmp_path / "first.csv", [HEADERS, row(1), row(2)]))
    before = await person_by_id_number(id_number(1))

    second = write_csv(
        tmp_path / "second.csv",
        [
            HEADERS,
            row(1, 手机号="13911111111"),
            row(2),
            # A second certificate of person 1 further down, with the newest phone.
            row(1, 证书编号="云特0000009", 证书类型="特种作业人员", 手机号="13922222222"),
        ],
    )
    report = await import_registry(second)

    assert (report.new, report.updated, report.unchanged) == (1, 1, 1)
    after = await person_by_id_number(id_number(1))
    assert opened(after) == (id_number(1), "13922222222")
    assert after.updated_at > before.updated_at
    assert (await import_registry(second)).unchanged == 3


async def test_an_expiry_date_moved_by_the_province_is_updated(database, tmp_path):
    await import_registry(write_csv(tmp_path / "a.csv", [HEADERS, row(1), row(2)]))
    report = await import_registry(
        write_csv(tmp_path / "b.csv", [HEADERS, row(1, 有效期至="2030-01-15"), row(2)])
    )
    assert (report.updated, report.unchanged) == (1, 1)
    assert (await Certificate.get(number="云建安B0000001")).expires_on == date(2030, 1, 15)


async def test_a_non_site_pro_category_is_ignored_and_a_site_pro_one_is_kept(database, tmp_path):
    path = write_csv(
        tmp_path / "roster.csv",
        [
            HEADERS,
            row(1, 证书类型="特种作业人员", 类别="建筑电工"),
            row(2, 证书类型="质量员"),
            row(3, 证书类型="施工员", 类别="装饰装修"),
        ],
    )
    assert (await import_registry(path)).new == 3
    categories = {c.number: c.category for c in await Certificate.all()}
    assert categories == {
        "云建安B0000001": None,
        "云建安B0000002": None,
        "云建安B0000003": "装饰装修",
    }


async def test_each_on_site_professional_role_is_kept_with_its_certificate(database, tmp_path):
    """Issue 18, item 4: 施工员, 质量员, 资料员 … are not folded into one type and lost."""
    path = write_csv(
        tmp_path / "roster.csv",
        [
            HEADERS,
            row(1, 证书类型="施工员", 类别="市政"),
            row(2, 证书类型="质量员", 类别="土建"),  # 质量员 has no category: ignored
            row(3, 证书类型="资料员"),
            row(4, 证书类型="机械员证"),
            row(5, 证书类型="现场专业人员"),  # the roster did not say which role
        ],
    )
    assert (await import_registry(path)).new == 5
    kept = {c.number: (c.cert_type, c.role, c.category) for c in await Certificate.all()}
    assert kept == {
        "云建安B0000001": ("site_pro", "construction", "市政"),
        "云建安B0000002": ("site_pro", "quality", None),
        "云建安B0000003": ("site_pro", "records", None),
        "云建安B0000004": ("site_pro", "machinery", None),
        "云建安B0000005": ("site_pro", None, None),
    }

    # A re-import that names another role changes the certificate, as any other field does.
    path = write_csv(tmp_path / "again.csv", [HEADERS, row(3, 证书类型="标准员")])
    assert (await import_registry(path)).updated == 1
    assert (await Certificate.get(number="云建安B0000003")).role == "standards"


async def test_each_import_is_recorded_with_its_counts(database, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [HEADERS, row(1), row(2, 状态="?")])
    report = await import_registry(path, source="chat")
    run = await ImportRun.get(id=report.run_id)
    assert (run.file_name, run.source, run.new, run.rejected) == ("roster.csv", "chat", 1, 1)
    assert run.finished_at is not None and run.finished_at >= run.started_at


async def test_progress_is_reported_per_chunk_until_the_total(database, tmp_path, monkeypatch):
    monkeypatch.setattr("infra.registry_import.CHUNK_ROWS", 2)
    path = write_csv(
        tmp_path / "roster.csv", [HEADERS, *(row(n) for n in range(1, 6)), row(6, 状态="?")]
    )
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    await import_registry(path, progress=progress)
    assert seen == [(3, 6), (5, 6), (6, 6)]


async def test_a_file_without_the_required_headers_is_refused_naming_what_is_missing(
    database, tmp_path
):
    rows = [["姓名", "身份证号", "手机"], ["张三", id_number(1), ""]]
    path = write_csv(tmp_path / "roster.csv", rows)
    with pytest.raises(RosterError) as caught:
        await import_registry(path)
    assert caught.value.code == "no_header"
    assert caught.value.params["missing"] == ["cert_type", "cert_number", "expires_on"]
    assert await Certificate.all().count() == 0


async def test_a_file_that_is_not_a_roster_is_refused(database, tmp_path):
    (tmp_path / "roster.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(RosterError) as unsupported:
        await import_registry(tmp_path / "roster.pdf")
    with pytest.raises(RosterError) as broken:
        await import_registry(tmp_path / "broken.xlsx")
    assert (unsupported.value.code, broken.value.code) == ("unsupported_file", "unreadable_file")


def test_the_command_line_prints_one_json_object_with_the_counts(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite://{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("APP_DATA_DIR", str(tmp_path / "var"))  # the generated key goes there
    path = write_csv(tmp_path / "roster.csv", [HEADERS, row(1), row(2), row(3, 证书类型="?")])

    assert main(["import-registry", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == {
        "file": str(path),
        "run_id": 1,
        "total": 3,
        "new": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
        "rejection_file": str(tmp_path / "roster.rejected.csv"),
    }

    assert main(["import-registry", str(path)]) == 0
    summary = capsys.readouterr().out
    assert "0 new, 0 updated, 2 unchanged, 1 rejected" in summary


def test_the_command_line_exits_2_with_one_line_for_a_file_it_cannot_read(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("DATABASE_URL", f"sqlite://{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("APP_DATA_DIR", str(tmp_path / "var"))
    path = write_csv(tmp_path / "roster.csv", [["姓名", "电话"], ["张三", "13900000001"]])
    assert main(["import-registry", str(path)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith(f"jijiao: {path}: no header row found; missing columns: 身份证号")


def test_seed_demo_from_the_command_line_twice_adds_nothing_the_second_time(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("DATABASE_URL", f"sqlite://{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("APP_DATA_DIR", str(tmp_path / "var"))
    rows = len(demo_roster(TODAY))
    assert main(["seed-demo"]) == 0
    assert f"{rows} new, 0 updated, 0 unchanged, 0 rejected" in capsys.readouterr().out
    assert main(["seed-demo"]) == 0
    assert f"0 new, 0 updated, {rows} unchanged, 0 rejected" in capsys.readouterr().out


async def test_the_demo_registry_covers_every_situation_of_the_demo_script(database, tmp_path):
    first = await seed_demo(FixedClock(), tmp_path, PII)
    again = await seed_demo(FixedClock(), tmp_path, PII)

    assert first.rejected == 0 and first.new == first.total
    assert (again.new, again.updated, again.unchanged) == (0, 0, first.total)
    assert set(await Certificate.all().values_list("cert_type", flat=True)) == set(CertType)
    enterprise = await Enterprise.get(credit_code=DEMO_ENTERPRISE["credit_code"])
    assert (enterprise.name, PII.open(enterprise.contact_phone_sealed)) == (
        DEMO_ENTERPRISE["name"],
        DEMO_ENTERPRISE["contact_phone"],
    )
    staff = await Certificate.filter(enterprise=enterprise)
    assert len(staff) >= 25
    assert {c.status for c in staff} == {"valid", "busy", "void"}
    assert any(c.category for c in staff)
    due = [c for c in staff if c.status == "valid" and c.expires_on <= A_YEAR_ON]
    assert len(due) > len(staff) / 2
    assert any(c.expires_on > A_YEAR_ON for c in staff)

    people = {p["key"]: p for p in DEMO_PEOPLE}
    for person in DEMO_PEOPLE:
        stored = await person_by_id_number(person["id_number"])
        assert (stored.name, opened(stored)[1]) == (person["name"], person["phone"])

    async def certificates_of(key: str) -> list[Certificate]:
        return await Certificate.filter(person__id_number_hash=PII.digest(people[key]["id_number"]))

    (t1,) = await certificates_of("t1_due")
    assert t1.cert_type == "safety_b" and t1.expires_on <= A_YEAR_ON
    assert [c.cert_type for c in await certificates_of("t2_tower_crane")] == ["tower_crane"]
    assert [(c.cert_type, c.category) for c in await certificates_of("site_pro_category")] == [
        ("site_pro", "土建")
    ]
    assert [c.status for c in await certificates_of("busy")] == ["busy"]
    assert [c.status for c in await certificates_of("void")] == ["void"]
    assert len(await certificates_of("two_certificates")) == 2
    assert not await Person.exists(id_number_hash=PII.digest(DEMO_NOT_FOUND_ID_NUMBER))


@pytest.mark.postgres
async def test_a_roster_of_a_few_hundred_rows_imports_twice_on_postgresql(postgres_url, tmp_path):
    rows = [
        HEADERS,
        *(
            row(n, 证书类型=("A证", "施工员", "C证")[n % 3], 类别="土建" if n % 3 == 1 else "")
            for n in range(1, 301)
        ),
    ]
    path = write_csv(tmp_path / "roster.csv", rows)
    context = await open_database(postgres_url)
    try:
        first = await import_registry(path)
        again = await import_registry(path)
        changed = write_csv(
            tmp_path / "changed.csv",
            [
                *rows[:-2],
                row(
                    299,
                    证书类型="C证",
                    有效期至="2030-01-15",
                    状态="作废",
                    统一社会信用代码="",
                    企业名称="",
                ),
                row(300, 手机号="13988888888"),
            ],
        )
        third = await import_registry(changed)
        assert (first.new, first.rejected) == (300, 0)
        assert (again.new, again.updated, again.unchanged) == (0, 0, 300)
        assert (third.updated, third.unchanged) == (2, 298)
        assert await Person.filter(phone_hash=PII.digest("13988888888")).count() == 1
        moved = await Certificate.get(number="云建安B0000299")
        assert (moved.expires_on, moved.status, moved.enterprise_id) == (
            date(2030, 1, 15),
            "void",
            None,
        )
        assert await Certificate.filter(category="土建").count() == 100
    finally:
        await context.close_connections()
