"""The enterprise contact's xlsx export (webview/records.py) of 1,000 and of 10,000 employees,
over HTTP from the real web view, in one run so machine noise hits both alike.

What it shows: the export streams. Rows come from the database 500 at a time, openpyxl's
write-only sheet keeps them in a temporary file, and the archive goes out a chunk at a time,
so the process grows by about as much for 10,000 rows as for 1,000 (peak_rss_mb_delta: the
highest resident size sampled every 5 ms while the export runs, minus the size before it).
Beside it, the same rows the plain way (all records loaded, a normal workbook saved to
memory): that one grows with the rows. Each size runs in its own process (a process's memory
does not shrink back, so one run would hide the second). Time grows with the rows. SQLite in a
temporary file; the client reads and drops each chunk.
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from openpyxl import Workbook, load_workbook

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.records import EmployeeFilter
from infra.clock import SystemClock
from infra.db import open_database
from infra.i18n import make_i18n
from infra.repositories.accounts import TortoiseAccountRepository
from infra.repositories.records import Records
from infra.signing import Signer
from tests.support import registry
from tests.support.records import COURSES, enterprise_with_employees
from webview.app import make_web_app
from webview.auth import SESSION_COOKIE, Sessions, Viewer
from webview.keys import WebConfig
from webview.records import RecordsWeb, add_records_routes

SIZES = (1_000, 10_000)
CONTACT = 900_001
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


class PeakRss:
    """The highest resident size seen while the block runs, sampled by a thread."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss())
            self._stop.wait(0.005)

    def __enter__(self) -> PeakRss:
        self.peak = rss()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())


class NoInvoices:
    async def read(self, file_id: str) -> tuple[bytes, str]:
        raise LookupError(file_id)


async def no_receipts(receipt_id: int) -> tuple[bytes, bytes]:
    raise LookupError(receipt_id)


async def export(base: str, cookie: str, keep: bool) -> tuple[float, int, bytes]:
    started = time.perf_counter()
    size = 0
    kept = bytearray()
    async with ClientSession(cookies={SESSION_COOKIE: cookie}) as client:
        async with client.get(f"{base}/app/employees/export.xlsx") as response:
            assert response.status == 200, await response.text()
            async for chunk in response.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if keep:
                    kept += chunk
    return time.perf_counter() - started, size, bytes(kept)


async def measure(size: int) -> dict[str, float]:
    """In a fresh process: seed `size` employees, then the first export over HTTP, and the
    same rows built in memory the plain way (every record loaded, a normal workbook) beside
    it, to show what streaming saves."""
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as folder:
        database = await open_database(f"sqlite://{Path(folder) / 'bench.sqlite3'}")
        try:
            seeded = time.perf_counter()
            await enterprise_with_employees(1, CONTACT, size, clock.now())
            seeding = time.perf_counter() - seeded
            records = Records(registry.PII, COURSES, 1.0)
            sessions = Sessions(Signer(b"k" * 32), session_ttl=3600, link_ttl=600)
            app = make_web_app(
                config=WebConfig("1:bench", "http://127.0.0.1", 3600, True),
                i18n=make_i18n(),
                sessions=sessions,
                clock=clock,
                accounts=TortoiseAccountRepository(),
                health_checks={},
            )
            add_records_routes(app, RecordsWeb(records, no_receipts, NoInvoices()))
            server = TestServer(app, host="127.0.0.1")
            await server.start_server()
            base = str(server.make_url("")).rstrip("/")
            cookie = sessions.session_token(Viewer(CONTACT, "bench", "zh"), clock.now())
            try:
                gc.collect()
                before = rss()
                with PeakRss() as peak:
                    seconds, length, _ = await export(base, cookie, keep=False)
                streamed = (peak.peak - before) / 2**20
                gc.collect()
                before = rss()
                with PeakRss() as peak:
                    await in_memory(records)
                plain = (peak.peak - before) / 2**20
                # The file opens, with every row: checked outside the measurement.
                _, _, body = await export(base, cookie, keep=True)
                sheet = load_workbook(io.BytesIO(body), read_only=True).active
                assert sheet is not None
                assert sum(1 for _ in sheet.iter_rows()) == size + 1
            finally:
                await server.close()
        finally:
            await database.close_connections()
    return {
        "seconds": seconds,
        "kb": length / 1024,
        "delta": streamed,
        "plain_delta": plain,
        "seed": seeding,
    }


async def in_memory(records: Records) -> bytes:
    rows = await records.employees(CONTACT, EmployeeFilter.ALL)
    assert rows is not None
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for record in rows:
        sheet.append([record.name, record.id_number_masked, record.phone_masked, record.percent])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--rows":
        print(json.dumps(asyncio.run(measure(int(sys.argv[2])))))
        return
    results = {}
    for size in SIZES:
        child = subprocess.run(
            [sys.executable, __file__, "--rows", str(size)],
            check=True,
            capture_output=True,
            text=True,
        )
        results[size] = json.loads(child.stdout.strip().splitlines()[-1])
    for size, result in results.items():
        print(
            f"BENCH records_export rows={size} seconds={result['seconds']:.2f} "
            f"rows_per_s={size / result['seconds']:.0f} xlsx_kb={result['kb']:.0f} "
            f"peak_rss_mb_delta={result['delta']:.1f} "
            f"in_memory_peak_rss_mb_delta={result['plain_delta']:.1f}"
        )
    small, large = results[SIZES[0]], results[SIZES[1]]
    print(
        f"BENCH records_export_ratio rows_x={SIZES[1] // SIZES[0]} "
        f"time_x={large['seconds'] / small['seconds']:.1f} "
        f"peak_rss_delta_x={large['delta'] / max(small['delta'], 0.1):.1f} "
        f"in_memory_peak_rss_delta_x={large['plain_delta'] / max(small['plain_delta'], 0.1):.1f}"
    )


if __name__ == "__main__":
    main()
