"""Face check latency on /metrics: every face job is timed, a refused photo too."""

from __future__ import annotations

from infra.faces import AsyncFaceEngine
from infra.metrics import Metrics
from tests.faces.conftest import photo
from tests.support.prometheus import sample


async def test_every_face_job_is_timed_on_the_latency_histogram(engine):
    metrics = Metrics()
    faces = AsyncFaceEngine(engine, workers=1, observe=metrics.observe_face_check)
    try:
        await faces.analyse(photo("person_a_1"))
        await faces.verify(photo("person_b_1"), b"")  # refused: not an image
    finally:
        faces.close()
    text = await metrics.exposition()

    assert sample(text, "jijiao_face_check_seconds_count") == 2
    total = sample(text, "jijiao_face_check_seconds_sum")
    assert total is not None and total > 0
