from __future__ import annotations

import asyncio
import time

from infra.faces import AsyncFaceEngine
from tests.faces.conftest import photo


async def test_verifying_faces_leaves_the_event_loop_free(engine):
    faces = AsyncFaceEngine(engine, workers=1)
    gaps: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    try:
        results = await asyncio.gather(
            *(faces.verify(photo("person_b_1"), photo("person_b_2")) for _ in range(4))
        )
    finally:
        done.set()
        await ticker
        faces.close()
    elapsed = time.perf_counter() - started

    assert all(result.match for result in results)
    # The four checks take hundreds of milliseconds; the loop must keep turning meanwhile.
    assert len(gaps) > 20
    assert max(gaps) < elapsed / 4


async def test_a_refusal_comes_back_through_the_async_wrapper_too(engine):
    faces = AsyncFaceEngine(engine, workers=1)
    try:
        result = await faces.verify(photo("person_b_1"), b"")
    finally:
        faces.close()

    assert (result.match, result.reason, result.photo) == (False, "not_an_image", "probe")
