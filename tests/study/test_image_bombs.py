"""Pictures that cost more to read than a selfie: refused by their header, before decoding, and
one trainee's uploads never hold up another trainee's face check (issue 15, item 5)."""

from __future__ import annotations

import asyncio
import re
import struct
import time
import zlib
from datetime import timedelta
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest

from infra.db.study_models import FaceProfile
from tests.study.conftest import LI, ZHANG, Trainees, photo, seed_enrolment
from tests.study.test_study_web import JPEG, H, ready
from webview.auth import SESSION_COOKIE, Viewer


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


@cache
def png_bomb(side: int = 20_000) -> bytes:
    """A valid grey PNG of side × side black pixels: 0.4 MB on the wire, 400 MB of pixels (1.2 GB
    once OpenCV makes it colour)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + side)  # filter byte + one grey byte per pixel
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


@cache
def big_jpeg() -> bytes:
    """A real 12-megapixel phone photo: allowed, and the most a trainee can make us read."""
    image = cv2.imdecode(np.frombuffer(photo("person_a_2"), np.uint8), cv2.IMREAD_COLOR)
    image = cv2.resize(image, (4000, 3000), interpolation=cv2.INTER_LINEAR)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return data.tobytes()


def peak_rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


def reset_peak_rss() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pytest.skip("the peak memory of this process cannot be reset here (Linux, as root)")


def cookie(trainees: Trainees, user_id: int) -> dict[str, str]:
    """Each request carries its own trainee's session: two trainees at once on one client."""
    trainees.client.session.cookie_jar.clear()
    token = trainees.sessions.session_token(Viewer(user_id, "某", "zh-hans"), trainees.clock.now())
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


async def test_a_picture_declaring_400_megapixels_is_refused_at_once_and_delays_nobody(
    trainees: Trainees,
):
    # Li studies: enrolment photo taken (the engine is warm), the opening check waiting.
    enrolment = await ready(trainees, LI, "C-LI")
    li = cookie(trainees, LI)
    opened = await trainees.client.post(
        "/app/api/study/open", json={"enrolment": enrolment}, headers={**H, **li}
    )
    check = (await opened.json())["check"]
    # Zhang has consented and sends pictures instead of a selfie.
    await seed_enrolment(ZHANG, "C-ZHANG", trainees.clock.now() - timedelta(days=1))
    zhang = cookie(trainees, ZHANG)
    await trainees.client.post("/app/api/study/consent", headers={**H, **zhang})
    bomb = await asyncio.to_thread(png_bomb)
    large = await asyncio.to_thread(big_jpeg)
    assert len(bomb) < 1_500_000

    async def upload(data: bytes) -> tuple[int, dict, float]:
        started = time.perf_counter()
        response = await trainees.client.post(
            "/app/api/study/photo", data=data, headers={**JPEG, **zhang}
        )
        return response.status, await response.json(), time.perf_counter() - started

    async def li_answers() -> tuple[dict, float]:
        await asyncio.sleep(0.05)  # while Zhang's pictures are being read
        started = time.perf_counter()
        response = await trainees.client.post(
            f"/app/api/study/checks/{check['id']}", data=photo("person_b_2"), headers={**JPEG, **li}
        )
        return await response.json(), time.perf_counter() - started

    reset_peak_rss()
    baseline = peak_rss_mb()
    *uploads, (answer, li_seconds) = await asyncio.gather(
        upload(bomb), upload(bomb), *(upload(large) for _ in range(4)), li_answers()
    )
    grown = peak_rss_mb() - baseline

    bombs, photos = uploads[:2], uploads[2:]
    for status, body, seconds in bombs:
        assert (status, body["reason"]) == (422, "too_large")
        assert body["message"] and "too_large" not in body["message"]
        assert seconds < 2.0, f"the bomb was answered after {seconds:.1f} s"
    # One of Zhang's photos at a time is read; the others are told to wait, not queued.
    statuses = sorted(status for status, _, _ in photos)
    assert statuses.count(429) >= 2, photos
    assert all(s in (200, 422, 429) for s in statuses), photos
    assert answer["result"] == "passed", answer
    assert li_seconds < 4.0, f"Li's check took {li_seconds:.1f} s beside Zhang's uploads"
    assert grown < 400, f"the process grew by {grown:.0f} MB"
    profile = await FaceProfile.get(chat_user_id=ZHANG)
    assert profile.photo_path is None or statuses.count(200) == 1


@pytest.mark.parametrize(
    ("width", "height", "reason"),
    [
        (4097, 4097, "too_large"),  # 16.8 MP
        (8200, 1000, "too_large"),  # 8.2 MP, but a strip no camera takes
        (15, 15, "not_an_image"),
    ],
)
async def test_a_photo_is_judged_by_its_header_before_it_is_decoded(
    trainees: Trainees, width: int, height: int, reason: str
):
    await seed_enrolment(ZHANG, "C-ZHANG", trainees.clock.now() - timedelta(days=1))
    client = trainees.as_user(ZHANG)
    await client.post("/app/api/study/consent", headers=H)
    ok, data = cv2.imencode(".png", np.zeros((height, width), np.uint8))
    assert ok

    response = await client.post("/app/api/study/photo", data=data.tobytes(), headers=JPEG)

    assert (response.status, (await response.json())["reason"]) == (422, reason)
