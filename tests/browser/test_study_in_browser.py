"""Study in a real browser with a fake camera: consent, enrolment photo, a face check, 100%."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio
from PIL import Image
from playwright.async_api import Browser, Page, async_playwright, expect

from jijiao.app import Runtime
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, _require_chromium
from tests.study.conftest import seed_enrolment
from tests.support.app import local_settings, running
from webview.auth import Viewer

FACE = Path(__file__).resolve().parents[1] / "fixtures" / "faces" / "person_b_1.jpg"
OTHER_FACE = FACE.with_name("person_b_2.jpg")
TRAINEE = 555001


def write_y4m(photo: Path, target: Path) -> Path:
    """The photo letterboxed into 640×480 as one YUV 4:2:0 frame; Chromium loops it."""
    image = Image.open(photo).convert("RGB")
    image.thumbnail((640, 480))
    canvas = Image.new("RGB", (640, 480), (128, 128, 128))
    canvas.paste(image, ((640 - image.width) // 2, (480 - image.height) // 2))
    y, u, v = (np.asarray(plane, dtype=np.uint8) for plane in canvas.convert("YCbCr").split())
    u_small = u.reshape(240, 2, 320, 2).mean(axis=(1, 3)).astype(np.uint8)
    v_small = v.reshape(240, 2, 320, 2).mean(axis=(1, 3)).astype(np.uint8)
    with target.open("wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\n")
        out.write(b"FRAME\n" + y.tobytes() + u_small.tobytes() + v_small.tobytes())
    return target


@contextlib.asynccontextmanager
async def chromium_with_camera(photo: Path, folder: Path) -> AsyncIterator[Browser]:
    """Its own Chromium: the fake-camera flags are per launch."""
    _require_chromium()
    y4m = write_y4m(photo, folder / f"{photo.stem}.y4m")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                *CHROMIUM_ARGS,
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={y4m}",
            ],
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest_asyncio.fixture(loop_scope="session")
async def camera_browser(tmp_path: Path) -> AsyncIterator[Browser]:
    async with chromium_with_camera(FACE, tmp_path) as browser:
        yield browser


@pytest_asyncio.fixture(loop_scope="session")
async def second_phone(tmp_path: Path) -> AsyncIterator[Browser]:
    """Another phone of the same trainee, its camera showing another photo of them: a fake
    camera repeats one frame, and the same picture twice is refused as a replay."""
    async with chromium_with_camera(OTHER_FACE, tmp_path) as browser:
        yield browser


@pytest_asyncio.fixture(loop_scope="session")
async def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    settings = local_settings(
        tmp_path,
        monkeypatch,
        # 20-minute lessons take 4 s; a beat every second.
        # A fake camera repeats one frame: it cannot turn its head (tests/study cover that).
        study={"minutes_scale": 0.0034, "heartbeat_seconds": 1, "head_turn": False},
    )
    async with running(settings) as runtime:
        yield runtime


@pytest_asyncio.fixture(loop_scope="session")
async def page(camera_browser: Browser, product: Runtime) -> AsyncIterator[Page]:
    context = await camera_browser.new_context(
        viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = await context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


async def test_a_trainee_consents_takes_the_photo_passes_a_check_and_finishes_a_lesson(
    page: Page, product: Runtime, second_phone: Browser
) -> None:
    now = product.services.handlers["clock"].now()
    await seed_enrolment(TRAINEE, "C-BROWSER-1", now - timedelta(hours=1))
    sessions = product.services.handlers["sessions"]
    token = sessions.link_token(Viewer(TRAINEE, "王五", "zh-hans"), now)

    await page.goto(f"{product.settings.base_url}/app/login?token={token}")
    await page.locator("#study-link").click()

    await expect(page.locator("#consent h2")).to_have_count(5)
    await page.locator("#consent-accept").click()

    await expect(page.locator("#enrol-photo")).to_be_visible()
    await page.wait_for_function(
        "() => document.getElementById('camera')?.videoWidth > 0", timeout=15_000
    )
    await page.locator("#photo-take").click()

    await expect(page.locator("#course")).to_be_visible(timeout=30_000)
    await expect(page.locator("#total-percent")).to_have_text("0%")

    # The lesson on the other phone, signed in with a new link: resuming works anywhere.
    context = await second_phone.new_context(
        viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = await context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    token = sessions.link_token(Viewer(TRAINEE, "王五", "zh-hans"), now)
    await page.goto(f"{product.settings.base_url}/app/login?token={token}")
    await page.locator("#study-link").click()
    await page.locator("#resume").click()

    await expect(page.locator("#check")).to_be_visible()
    await page.wait_for_function(
        "() => document.getElementById('camera')?.videoWidth > 0", timeout=15_000
    )
    await page.locator("#check-take").click()
    await expect(page.locator("#check")).to_be_hidden()

    await expect(page.locator("#lesson-percent")).to_have_text("100%", timeout=20_000)
    await page.locator("#back").click()
    await expect(page.locator('li[data-lesson="officer_duties"] .percent')).to_have_text("100%")
    await context.close()
    assert not errors, f"JavaScript errors on the second phone: {errors}"
