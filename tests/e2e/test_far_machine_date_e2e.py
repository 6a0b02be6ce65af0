"""`jijiao run` on a machine whose calendar is years ahead (libfaketime moves the host's clock
for the process): the demo registry is due again, a trainee enrols and pays, and the year the
holiday calendar does not know yet is said once in the log, not once per payment."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import aiohttp
import pytest

from infra.demo import DEMO_PEOPLE
from infra.workdays import ChineseWorkingDays
from tests.conftest import unavailable
from tests.e2e.conftest import free_port
from tests.e2e.test_payment_e2e import _order_qr
from tests.support.localchat_client import LocalChatClient, button_data
from tests.support.waiting import eventually

pytestmark = pytest.mark.long  # minutes: run first (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]
# 2 years and 5 months after the tests' usual day, across a new year and the 2028 leap day, in
# a year chinese-calendar 1.11 has no holidays for.
FAR = "2029-04-27 02:00:00"
LI_MING = next(p for p in DEMO_PEOPLE if p["key"] == "t1_due")
LIBFAKETIME = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"))), None)


@pytest.fixture
async def far_app(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    if LIBFAKETIME is None:
        unavailable("libfaketime", "Debian's faketime is not installed")
    port = free_port()
    log = tmp_path / "app.log"
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    env.update(
        {
            "TZ": "UTC",
            # Preloaded into the app itself (the faketime command would start it as a child
            # that a stopped test leaves running).
            "LD_PRELOAD": str(LIBFAKETIME),
            "FAKETIME": f"@{FAR}",
            # asyncio's timers keep the real monotonic clock; only the calendar moves.
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "APP_DATA_DIR": str(tmp_path / "var"),
            "DATABASE_URL": f"sqlite://{tmp_path / 'far.sqlite3'}",
            "WEB_PORT": str(port),
        }
    )
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "jijiao", "run"),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:

            async def healthy() -> bool:
                if process.returncode is not None:
                    raise AssertionError(log.read_text(errors="replace"))
                try:
                    async with http.get(f"{base}/healthz") as response:
                        return response.status == 200
                except aiohttp.ClientError:
                    return False

            await eventually(healthy, what="jijiao run answers /healthz", timeout=60)
        yield base, log
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()


async def test_the_demo_enrols_and_pays_when_the_machine_date_is_years_ahead(far_app) -> None:
    base, log = far_app
    user = 100091
    async with aiohttp.ClientSession() as http:
        chat = LocalChatClient(base, http)
        await chat.send(user, "/enrol", first_name="李明", language_code="zh-hans")
        who = await chat.reply(user)
        await chat.click(user, who["message_id"], button_data(who, "本人"))
        await chat.reply(user)
        await chat.send(user, LI_MING["id_number"])
        await chat.reply(user)
        await chat.send(user, LI_MING["name"])
        await chat.reply(user)
        await chat.share_contact(user, LI_MING["phone"])
        confirmed, listing = await chat.replies(user, count=2)
        assert "身份已确认" in confirmed["text"]
        # The demo's B certificate expires months after the machine's (far) today: due again.
        await chat.click(user, listing["message_id"], button_data(listing, "报名所选"))
        assert "已报名继续教育（1 本）" in (await chat.reply(user))["text"]

        _, pay_url = await _order_qr(chat, user, payer=LI_MING["name"])
        checkout, token = pay_url.split("?")
        async with http.post(f"{checkout}/pay-twice?{token}") as paid:
            assert paid.status == 200
        confirmation = await chat.reply(user)

    # Paid on the machine's far day: the invoice is due 5 working days later, counted Monday to
    # Friday since the holidays of that year are not published in the package yet.
    due = ChineseWorkingDays().add(date(2029, 4, 27), 5)
    assert "已收到订单" in confirmation["text"]
    assert f"发票预计于 {due:%Y-%m-%d} 前开具" in confirmation["text"]
    said = log.read_text(errors="replace").count("does not know the holidays of 2029")
    assert said == 1
