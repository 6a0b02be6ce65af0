"""An exam under way while the reminder scanner reads 1,000,000 trainees, on PostgreSQL
(issue 20), measured side by side in one run.

The takers are bench_exam_autosave's: 500 trainees autosaving answers against the real web
app, one request in flight each. Their database also holds SCAN_TRAINEES trainees filled as
bench_reminders fills its scan databases (`fill_sql`, ids above ID_OFFSET so they do not meet
the takers' rows), DUE of them with a reminder due today. Rounds alternate which goes first:
the takers alone, and the takers while the production `ReminderScanner` runs back to back in
the same process, event loop and connection pool as the web app. Production runs the scan as
a job inside the instance every `reminders.scan_every` (600 s by default); back to back is
the worst case, a scan always under way.

The scanner's clock stands at NOW, as the fill's. Its first scan (before the rounds, with
nothing else running) enqueues what is due; the scans during the rounds find all of it queued
already and so write nothing: every query is still read and the outbox insert is still sent
(skipped by its unique key). That is the cost of every scan of a day but its first, so the
outbox is not cleared between scans; the first scan's own time is printed beside.

Every answer sent is read back after every round, the scanning ones included.

JIJIAO_BENCH_SCAN_TRAINEES sets the trainees filled (1,000,000 by default),
JIJIAO_BENCH_SCAN_ROUNDS the rounds of each kind (4), JIJIAO_BENCH_TAKERS the takers (500).
The whole run takes 1-2 minutes (the fill of 1,000,000 about 25 s).
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tortoise import connections

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from application.reminders import ReminderScanner
from bench.bench_exam_autosave import (
    TAKERS,
    Load,
    check,
    drive,
    exam_app,
    fresh_database,
    postgres_problem,
    summary,
)
from bench.bench_reminders import DUE, NOW, Clock, fill_sql
from domain.reminders import QuietHours, Schedule
from infra.db import connection_name
from infra.outbox import TortoiseOutbox

SCAN_TRAINEES = int(os.environ.get("JIJIAO_BENCH_SCAN_TRAINEES", "1000000"))
ID_OFFSET = 10_000_000  # the takers' rows take ids from 1 (the ORM's sequences)
# Per kind, alternating. A round's load lasts 3-7 s here and the fill is paid once, so more
# rounds than bench_exam_autosave's 2 steady the medians for a few seconds more.
ROUNDS = int(os.environ.get("JIJIAO_BENCH_SCAN_ROUNDS", "4"))


async def timed_scan(scanner: ReminderScanner) -> tuple[float, float, int]:
    """(ms, this process's CPU ms, rows enqueued) of one scan."""
    started, cpu = time.perf_counter(), time.process_time()
    report = await scanner()
    return (
        (time.perf_counter() - started) * 1000,
        (time.process_time() - cpu) * 1000,
        report.enqueued,
    )


async def scan_until(scanner: ReminderScanner, stop: asyncio.Event, times: list[float]) -> None:
    """Scans back to back until `stop`; a scan under way is finished, not cancelled."""
    while not stop.is_set():
        times.append((await timed_scan(scanner))[0])


def latencies(loads: list[Load]) -> Load:
    """The loads' median rate with all their latencies, for the percentiles."""
    rps = statistics.median(load.rps for load in loads)
    return Load(rps, [x for load in loads for x in load.latencies], {}, 0)


async def main() -> None:
    problem = postgres_problem()
    if problem is not None:
        print(f"exam_during_scan skipped: PostgreSQL unreachable ({problem})")
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            fresh_database() as url,
            exam_app("postgres", url, Path(tmp)) as (takers, port),
        ):
            db = connections.get(connection_name(url))
            filling = time.perf_counter()
            for sql in fill_sql(SCAN_TRAINEES, ID_OFFSET):
                await db.execute_script(sql)
            print(
                f"{SCAN_TRAINEES:,} trainees filled, {DUE} due today, in "
                f"{time.perf_counter() - filling:.0f} s"
            )
            scanner = ReminderScanner(TortoiseOutbox(), Clock(NOW), Schedule(), QuietHours())
            first_ms, _, enqueued = await timed_scan(scanner)
            again = [await timed_scan(scanner) for _ in range(3)]
            idle = statistics.median(ms for ms, _, _ in again)
            idle_cpu = statistics.median(cpu for _, cpu, _ in again)
            print(
                f"scan with nothing else running: first {first_ms:.0f} ms ({enqueued} enqueued), "
                f"then {idle:.0f} ms, {idle_cpu:.0f} ms of it this process's CPU (median of 3)"
            )
            alone: list[Load] = []
            scanning: list[Load] = []
            scan_ms: list[float] = []
            ok = True
            for number in range(ROUNDS):
                # Alternate which goes first, so a noisy stretch does not always hit the same one.
                order = ["alone", "scanning"] if number % 2 == 0 else ["scanning", "alone"]
                for which in order:
                    rng_seed = 2 * number + (which == "scanning")
                    if which == "alone":
                        alone.append(await drive(port, takers, rng_seed, record=True))
                    else:
                        stop = asyncio.Event()
                        times: list[float] = []
                        scans = asyncio.create_task(scan_until(scanner, stop, times))
                        try:
                            scanning.append(await drive(port, takers, rng_seed, record=True))
                        finally:
                            stop.set()
                            await scans
                        scan_ms += times
                        print(
                            f"round {number + 1} scanning: {len(times)} scans, median "
                            f"{statistics.median(times):.0f} ms"
                        )
                    saved = await check(f"round {number + 1} {which}", takers, alone + scanning, [])
                    ok = ok and saved
                print(
                    f"round {number + 1}: alone {summary(alone[-1])}, "
                    f"scanning {summary(scanning[-1])}"
                )
            quiet, busy = latencies(alone), latencies(scanning)
            print(
                f"BENCH exam_during_scan db=postgresql trainees={SCAN_TRAINEES} takers={TAKERS} "
                f"rps_alone={quiet.rps:.0f} rps_scanning={busy.rps:.0f} "
                f"p95_ms_alone={quiet.percentile(0.95):.1f} "
                f"p95_ms_scanning={busy.percentile(0.95):.1f} scans={len(scan_ms)} "
                f"scan_ms_p50={statistics.median(scan_ms):.0f} "
                f"scan_ms_idle={idle:.0f} scan_cpu_ms_idle={idle_cpu:.0f} "
                f"first_scan_ms={first_ms:.0f} "
                f"enqueued={enqueued} correct={'yes' if ok else 'NO'} "
                f"ratio={busy.rps / quiet.rps:.3f}"
            )
    print(f"run: {time.perf_counter() - started:.0f} s, cores: {os.cpu_count()}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
