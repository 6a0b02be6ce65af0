"""Face verification latency per selfie beside the bare model inference, and what it costs the
web server, in one run.

Per selfie: the production path on a 640×480 JPEG (decode, detection, quality gate, alignment,
embedding, cosine against an enrolment analysed beforehand). Bare: onnxruntime running the same
two models on ready-made tensors with the same thread settings, nothing else. Then a tiny
aiohttp app answers /healthz in the same event loop, idle and while 8 checks run at once
through the async wrapper (its default thread pool).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from aiohttp import ClientSession, web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra.faces import AsyncFaceEngine, FaceEngine
from infra.faces.engine import CROP, DETECTOR_SIZE, cosine
from tests.support.app import free_port

PHOTOS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "faces"
ROUNDS = 3
PER_ROUND = 40
HEALTH_REQUESTS = 200
CONCURRENT_CHECKS = 8
# The async wrapper's default (cores - 1) unless set, to compare: BENCH_FACE_WORKERS=2.
WORKERS = int(os.environ.get("BENCH_FACE_WORKERS", "0")) or None


def percentile(values: list[float], share: float) -> float:
    return float(np.percentile(np.array(values), share * 100))


def selfie(name: str) -> bytes:
    """The photo as a webcam would send it: 640×480, JPEG quality 85."""
    image = cv2.imread(str(PHOTOS / f"{name}.jpg"))
    height, width = image.shape[:2]
    crop_height = min(height, width * 3 // 4)
    top = max(0, (height - crop_height) // 3)
    frame = cv2.resize(image[top : top + crop_height], (640, 480), interpolation=cv2.INTER_AREA)
    return cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def time_selfies(engine: FaceEngine, enrolment: bytes, selfies: list[bytes]) -> list[float]:
    reference = engine.analyse(enrolment)
    timings = []
    for data in selfies:
        started = time.perf_counter()
        probe = engine.analyse(data)
        match = cosine(reference.embedding, probe.embedding) >= engine.config.threshold
        timings.append(time.perf_counter() - started)
        assert match
    return timings


def bare_session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # as the engine's sessions
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def time_bare(
    detector: ort.InferenceSession, recognizer: ort.InferenceSession, count: int
) -> list[float]:
    rng = np.random.default_rng(0)
    frame = rng.uniform(0, 255, (1, 3, DETECTOR_SIZE, DETECTOR_SIZE)).astype(np.float32)
    crop = rng.uniform(0, 255, (1, 3, CROP, CROP)).astype(np.float32)
    detector_feed = {detector.get_inputs()[0].name: frame}
    recognizer_feed = {recognizer.get_inputs()[0].name: crop}
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        detector.run(None, detector_feed)
        recognizer.run(None, recognizer_feed)
        timings.append(time.perf_counter() - started)
    return timings


async def health_p99(url: str) -> float:
    timings = []
    async with ClientSession() as client:
        for _ in range(HEALTH_REQUESTS):
            started = time.perf_counter()
            async with client.get(url) as response:
                await response.read()
                assert response.status == 200
            timings.append(time.perf_counter() - started)
            # Spread over seconds, so the requests meet the checks at every stage.
            await asyncio.sleep(0.01)
    return percentile(timings, 0.99)


async def health_under_load(engine: FaceEngine, enrolment: bytes, selfies: list[bytes]) -> None:
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}/healthz"
    faces = AsyncFaceEngine(engine, workers=WORKERS)
    try:
        idle = await health_p99(url)
        stop = asyncio.Event()
        checks = 0

        async def keep_checking(offset: int) -> None:
            nonlocal checks
            while not stop.is_set():
                result = await faces.verify(enrolment, selfies[(offset + checks) % len(selfies)])
                assert result.match
                checks += 1

        workers = [asyncio.create_task(keep_checking(n)) for n in range(CONCURRENT_CHECKS)]
        await asyncio.sleep(0.3)
        started, before = time.perf_counter(), checks
        busy = await health_p99(url)
        elapsed, done = time.perf_counter() - started, checks - before
        stop.set()
        await asyncio.gather(*workers)
    finally:
        faces.close()
        await runner.cleanup()
    print(
        f"/healthz p99: idle {idle * 1000:.1f} ms, with {CONCURRENT_CHECKS} checks in flight "
        f"{busy * 1000:.1f} ms ({done / elapsed:.1f} checks/s on {faces.workers} worker threads)"
    )
    print(
        f"BENCH faces_healthz idle_p99_ms={idle * 1000:.1f} busy_p99_ms={busy * 1000:.1f} "
        f"concurrent_checks={CONCURRENT_CHECKS}"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        engine = FaceEngine.from_cache(Path(tmp) / "models")
        print(f"models converted and loaded in {time.perf_counter() - started:.2f} s")
        enrolment = (PHOTOS / "person_b_1.jpg").read_bytes()
        selfies = [selfie("person_b_2"), selfie("person_b_1")]
        detector = bare_session(engine.models.detector)
        recognizer = bare_session(engine.models.recognizer)
        for data in selfies:  # warm-up
            engine.analyse(data)
        time_bare(detector, recognizer, 2)
        full: list[float] = []
        bare: list[float] = []
        for number in range(ROUNDS):
            # Alternate so machine noise hits both alike.
            full += time_selfies(engine, enrolment, selfies * (PER_ROUND // len(selfies)))
            bare += time_bare(detector, recognizer, PER_ROUND)
            print(
                f"round {number + 1}: selfie p50 {statistics.median(full) * 1000:.1f} ms, "
                f"bare p50 {statistics.median(bare) * 1000:.1f} ms"
            )
        asyncio.run(health_under_load(engine, enrolment, selfies))
    p50, p95 = percentile(full, 0.5) * 1000, percentile(full, 0.95) * 1000
    bare_p50 = percentile(bare, 0.5) * 1000
    print(f"cores: {os.cpu_count()}, onnxruntime threads per session: 1")
    print(
        f"BENCH faces p50_ms={p50:.1f} p95_ms={p95:.1f} bare_p50_ms={bare_p50:.1f} "
        f"ratio={p50 / bare_p50:.2f}"
    )


if __name__ == "__main__":
    main()
