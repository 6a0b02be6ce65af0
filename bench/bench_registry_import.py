"""Roster import speed: a 10,000-row xlsx into a fresh database, the same file again, and the
reading-and-validating alone, in one run so machine noise hits all three alike.

The ratio import/parse shows what the database costs on top of openpyxl and the validators.
PostgreSQL (127.0.0.1:5432, user postgres) is measured too when it is reachable.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from openpyxl import Workbook

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.identifiers import credit_check_char, id_check_char
from infra.clock import SystemClock
from infra.db import open_database
from infra.pii import Pii
from infra.registry_import import ImportReport, import_registry, parse_roster
from infra.signing import Signer

ROWS = 10_000
PEOPLE = 8_000
ENTERPRISES = 200
POSTGRES = "postgres://postgres@127.0.0.1:5432/test"
PII = Pii.from_signer(Signer(b"b" * 32))
HEADERS = (
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
)
TYPES = ("A证", "B证", "C证", "施工员", "特种作业人员", "塔式起重机司机", "建筑起重司索信号工")


def write_roster(path: Path) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("名册")
    sheet.append(["云南省建设行业从业人员证书名册（基准测试）"])
    sheet.append(list(HEADERS))
    first_day = datetime(2024, 1, 1)
    for n in range(ROWS):
        person = n % PEOPLE
        first17 = (
            f"5301{person % 90 + 10:02d}{1960 + person % 40}{person % 12 + 1:02d}"
            f"{person % 28 + 1:02d}{person // 40 % 1000:03d}"
        )
        enterprise = f"91530100MA6K{n % ENTERPRISES:05d}"
        kind = TYPES[n % len(TYPES)]
        issued = first_day + timedelta(days=n % 700)
        sheet.append(
            [
                first17 + id_check_char(first17),
                f"学员{person}",
                f"139{person:08d}",
                enterprise + credit_check_char(enterprise),
                f"云南第{n % ENTERPRISES}建设工程有限公司",
                kind,
                f"云BENCH{n:08d}",
                "土建" if kind == "施工员" else "",
                issued,
                issued + timedelta(days=3 * 365),
                "有效" if n % 50 else "办理中",
            ]
        )
    book.save(path)


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), 1):
            return True
    except OSError:
        return False


def per_thousand(seconds: float) -> float:
    return seconds * 1000 / (ROWS / 1000)


async def import_twice(url: str, path: Path) -> tuple[float, float]:
    context = await open_database(url)
    try:
        started = time.perf_counter()
        first = await import_registry(path, pii=PII, clock=SystemClock())
        imported = time.perf_counter() - started
        started = time.perf_counter()
        again = await import_registry(path, pii=PII, clock=SystemClock())
        reimported = time.perf_counter() - started
    finally:
        await context.close_connections()
    check(first, again)
    return imported, reimported


def check(first: ImportReport, again: ImportReport) -> None:
    assert (first.new, first.rejected) == (ROWS, 0), first
    assert (again.new, again.updated, again.unchanged) == (0, 0, ROWS), again


async def postgres(path: Path) -> tuple[float, float]:
    import asyncpg

    name = f"jijiao_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(POSTGRES)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        return await import_twice(POSTGRES.rsplit("/", 1)[0] + f"/{name}", path)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "roster.xlsx"
        write_roster(path)
        started = time.perf_counter()
        parsed = parse_roster(path)
        parse = time.perf_counter() - started
        assert len(parsed.rows) == ROWS, parsed.rejections[:3]
        print(f"parse and validate only: {per_thousand(parse):.0f} ms per 1000 rows")

        imported, reimported = await import_twice(f"sqlite://{Path(tmp) / 'bench.sqlite3'}", path)
        print(
            f"sqlite: import {per_thousand(imported):.0f} ms, re-import "
            f"{per_thousand(reimported):.0f} ms per 1000 rows (the re-import wrote nothing)"
        )
        if reachable("127.0.0.1", 5432):
            pg_import, pg_reimport = await postgres(path)
            print(
                f"postgresql: import {per_thousand(pg_import):.0f} ms, "
                f"re-import {per_thousand(pg_reimport):.0f} ms per 1000 rows"
            )
        else:
            print("postgresql: not reachable at 127.0.0.1:5432, skipped")
    print(
        f"BENCH registry_import ms_per_1000={per_thousand(imported):.0f} "
        f"reimport_ms_per_1000={per_thousand(reimported):.0f} "
        f"parse_ms_per_1000={per_thousand(parse):.0f} rows={ROWS} ratio={imported / parse:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
