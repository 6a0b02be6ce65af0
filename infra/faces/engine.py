"""Face verification: quality gate, YuNet detection, 5-point alignment, SFace embedding, cosine.

Detection runs YuNet through onnxruntime with the decoder below rather than through
`cv2.FaceDetectorYN`: one runtime for both models with an explicit thread budget, and an
`InferenceSession` may be shared by the worker threads while a `FaceDetectorYN` keeps its input
size as mutable state (one per thread, or a lock). The decoder follows OpenCV's
`FaceDetectorYNImpl::postProcess`; a test holds it to OpenCV's own output on the same image.
OpenCV is still used for decoding, resizing, the affine warp and the Laplacian.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import struct
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np
import onnxruntime as ort
from PIL import Image

from infra.faces.models import FaceModels, ensure_models

T = TypeVar("T")

DETECTOR_SIZE = 640
STRIDES = (8, 16, 32)
# insightface's `arcface_dst`, also the template of OpenCV's `FaceRecognizerSF::alignCrop`:
# right eye, left eye, nose tip, right and left mouth corner (the person's sides) in 112×112.
TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)
CROP = 112


class Refusal(StrEnum):
    NOT_AN_IMAGE = "not_an_image"
    TOO_LARGE = "too_large"  # declares more pixels than a photo needs (a decompression bomb)
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    FACE_TOO_SMALL = "face_too_small"
    TOO_DARK = "too_dark"
    TOO_BLURRED = "too_blurred"
    EYES_NOT_VISIBLE = "eyes_not_visible"
    SAME_IMAGE = "same_image"  # liveness: a picture sent before
    BUSY = "busy"  # this trainee's previous picture is still being read
    NOT_A_VIDEO = "not_a_video"  # a video note that cannot be read
    NOT_FACING_CAMERA = "not_facing_camera"  # no frame of a video looks at the camera
    NO_HEAD_TURN = "no_head_turn"  # no frame of a video after that is turned the asked way


class FaceRefused(Exception):
    def __init__(self, code: Refusal) -> None:
        super().__init__(code.value)
        self.code = code


@dataclass(frozen=True, slots=True)
class FaceConfig:
    """Defaults measured on the shared photos: see docs/faces.md before changing one."""

    # Cosine of two SFace embeddings at or above which they are the same person.
    threshold: float = 0.363
    detection_score: float = 0.6
    # Width of the face box in the photo's own pixels.
    min_face_px: int = 48
    # Grey level (0-255) of the brightest 1% of the aligned face.
    min_brightness: float = 60.0
    # Spread of the Laplacian over the spread of grey levels of the aligned face.
    min_sharpness: float = 0.40
    # Grey-level spread in a window on each eye over the spread of the whole face.
    min_eye_detail: float = 0.15
    max_image_bytes: int = 15 * 1024 * 1024
    # Bigger photos are scaled down first: detection sees 640 px anyway.
    max_side: int = 1600


@dataclass(frozen=True, slots=True)
class Face:
    box: tuple[float, float, float, float]  # x, y, width, height
    landmarks: np.ndarray  # (5, 2), the order of TEMPLATE
    score: float


@dataclass(frozen=True, slots=True)
class Quality:
    face_px: float
    brightness: float
    sharpness: float
    eye_detail: float


@dataclass(frozen=True, slots=True)
class Analysis:
    """One photo that passed the quality gate. `embedding` is unit length."""

    face: Face
    quality: Quality
    embedding: np.ndarray = field(repr=False)
    image_size: tuple[int, int]  # width, height
    sha256: str


@dataclass(frozen=True, slots=True)
class FaceResult:
    match: bool
    score: float
    threshold: float
    reason: str | None
    # Which photo the quality gate refused, when it refused one.
    photo: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "match": self.match,
            "score": round(self.score, 4),
            "threshold": self.threshold,
            "reason": self.reason,
        }


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


# A selfie or an enrolment photo needs a few megapixels (detection sees 640 px, alignment
# 112 px): 12.6 MP takes any phone's full-size photo; a small file declaring more is a bomb.
MAX_PIXELS = 4096 * 3072
MAX_SIDE = 8192
# Formats a phone camera, a canvas or Telegram produce (a phone's MPO opens as JPEG); nothing
# exotic reaches a decoder.
READABLE = ("JPEG", "PNG", "WEBP")
Image.init()  # registers every plugin, WEBP included, before `formats=` names them


@dataclass(frozen=True, slots=True)
class Header:
    format: str
    width: int
    height: int


def read_header(data: bytes) -> Header:
    """Only the header is read (Pillow opens lazily): what is not a photo, or declares more
    pixels than any phone takes, is refused before a byte of it is decoded."""
    if not data:
        raise FaceRefused(Refusal.NOT_AN_IMAGE)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=READABLE) as header:
                width, height, kind = header.size[0], header.size[1], str(header.format)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise FaceRefused(Refusal.TOO_LARGE) from None
    except (OSError, ValueError, SyntaxError, struct.error):  # not one of READABLE
        raise FaceRefused(Refusal.NOT_AN_IMAGE) from None
    if min(width, height) < 16:
        raise FaceRefused(Refusal.NOT_AN_IMAGE)
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise FaceRefused(Refusal.TOO_LARGE)
    return Header(kind, width, height)


def imdecode(data: bytes, header: Header, flags: int, longest: int | None = None) -> np.ndarray:
    """OpenCV's decoder on a header already read; a JPEG bigger than `longest` needs is decoded
    at 1/2, 1/4 or 1/8 scale by libjpeg itself (a fraction of the work and the memory)."""
    if longest is not None and header.format in ("JPEG", "MPO"):
        side = max(header.width, header.height)
        reduced = {
            cv2.IMREAD_COLOR: {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4},
            cv2.IMREAD_GRAYSCALE: {
                2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
                4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
            },
        }.get(flags, {})
        for factor in (4, 2):
            if side // factor >= longest and factor in reduced:
                flags = reduced[factor]
                break
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error:
        raise FaceRefused(Refusal.NOT_AN_IMAGE) from None
    if image is None:
        raise FaceRefused(Refusal.NOT_AN_IMAGE)
    return np.asarray(image)


def decode_image(data: bytes, config: FaceConfig) -> np.ndarray:
    if not data or len(data) > config.max_image_bytes:
        raise FaceRefused(Refusal.NOT_AN_IMAGE)
    image = imdecode(data, read_header(data), cv2.IMREAD_COLOR, config.max_side)
    if image.ndim != 3 or min(image.shape[:2]) < 16:
        raise FaceRefused(Refusal.NOT_AN_IMAGE)
    longest = max(image.shape[:2])
    if longest > config.max_side:
        factor = config.max_side / longest
        image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image)


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Umeyama's least-squares rotation + uniform scale + shift, as a 2×3 matrix."""
    src = source.astype(np.float64)
    dst = target.astype(np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, s, vt = np.linalg.svd(covariance)
    d = np.array([1.0, 1.0 if np.linalg.det(covariance) >= 0 else -1.0])
    rotation = u @ np.diag(d) @ vt
    scale = float((s * d).sum() / ((src_c**2).sum() / len(src)))
    shift = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, shift[:, None]])


def align(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    matrix = similarity_transform(landmarks, TEMPLATE)
    return cv2.warpAffine(image, matrix, (CROP, CROP), flags=cv2.INTER_LINEAR, borderValue=0)


def _session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    order = list(np.argsort(-scores))
    keep: list[int] = []
    x1, y1 = boxes[:, 0], boxes[:, 1]
    x2, y2 = x1 + boxes[:, 2], y1 + boxes[:, 3]
    areas = boxes[:, 2] * boxes[:, 3]
    while order:
        best = order.pop(0)
        keep.append(int(best))
        if not order:
            break
        rest = np.array(order)
        w = np.clip(np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]), 0, None)
        overlap = w * h / (areas[best] + areas[rest] - w * h + 1e-9)
        order = [int(i) for i in rest[overlap <= iou]]
    return keep


class FaceEngine:
    """Synchronous and thread-safe; every call is CPU-bound (tens of milliseconds)."""

    def __init__(
        self, models: FaceModels, config: FaceConfig | None = None, threads: int = 1
    ) -> None:
        self.config = config or FaceConfig()
        self.models = models
        self._detector = _session(models.detector, threads)
        self._detector_input = self._detector.get_inputs()[0].name
        self._detector_outputs = [o.name for o in self._detector.get_outputs()]
        self._recognizer = _session(models.recognizer, threads)
        self._recognizer_input = self._recognizer.get_inputs()[0].name

    @classmethod
    def from_cache(
        cls,
        cache_dir: Path,
        config: FaceConfig | None = None,
        *,
        threads: int = 1,
        insightface_dir: Path | None = None,
    ) -> FaceEngine:
        return cls(ensure_models(cache_dir, insightface_dir), config, threads)

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces above the detection score, best first, in the image's pixel coordinates."""
        height, width = image.shape[:2]
        factor = DETECTOR_SIZE / max(height, width)
        resized = cv2.resize(
            image,
            (max(1, round(width * factor)), max(1, round(height * factor))),
            interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR,
        )
        canvas = np.zeros((DETECTOR_SIZE, DETECTOR_SIZE, 3), np.float32)
        canvas[: resized.shape[0], : resized.shape[1]] = resized
        # YuNet takes BGR 0..255, as OpenCV's blobFromImage hands it over.
        blob = canvas.transpose(2, 0, 1)[None]
        outputs = dict(
            zip(
                self._detector_outputs,
                self._detector.run(self._detector_outputs, {self._detector_input: blob}),
                strict=True,
            )
        )
        boxes, marks, scores = [], [], []
        for stride in STRIDES:
            cells = DETECTOR_SIZE // stride
            cls_score = np.clip(outputs[f"cls_{stride}"][0, :, 0], 0, 1)
            obj_score = np.clip(outputs[f"obj_{stride}"][0, :, 0], 0, 1)
            score = np.sqrt(cls_score * obj_score)
            chosen = np.nonzero(score >= self.config.detection_score)[0]
            if not len(chosen):
                continue
            col = (chosen % cells).astype(np.float32)
            row = (chosen // cells).astype(np.float32)
            bbox = outputs[f"bbox_{stride}"][0, chosen]
            kps = outputs[f"kps_{stride}"][0, chosen].reshape(-1, 5, 2)
            cx, cy = (col + bbox[:, 0]) * stride, (row + bbox[:, 1]) * stride
            w, h = np.exp(bbox[:, 2]) * stride, np.exp(bbox[:, 3]) * stride
            boxes.append(np.stack([cx - w / 2, cy - h / 2, w, h], axis=1))
            marks.append((kps + np.stack([col, row], axis=1)[:, None, :]) * stride)
            scores.append(score[chosen])
        if not boxes:
            return []
        all_boxes = np.concatenate(boxes) / factor
        all_marks = np.concatenate(marks) / factor
        all_scores = np.concatenate(scores)
        faces = []
        for i in _nms(all_boxes, all_scores, 0.3):
            x, y, w, h = (float(v) for v in all_boxes[i])
            faces.append(Face((x, y, w, h), all_marks[i].astype(np.float32), float(all_scores[i])))
        return faces

    def embed(self, aligned: np.ndarray) -> np.ndarray:
        rgb = aligned[:, :, ::-1].astype(np.float32)
        if self.models.recognizer_kind == "arcface":
            rgb = (rgb - 127.5) / 127.5
        blob = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None])
        output = self._recognizer.run(None, {self._recognizer_input: blob})[0]
        vector: np.ndarray = np.asarray(output, dtype=np.float32)[0]
        norm = float(np.linalg.norm(vector))
        return vector / np.float32(norm) if norm > 0 else vector

    def locate(self, image: np.ndarray) -> Face:
        """The one face of a photo; raises FaceRefused when there is none or more than one."""
        faces = self.detect(image)
        if not faces:
            raise FaceRefused(Refusal.NO_FACE)
        main = max(faces, key=lambda face: face.box[2])
        # A second face counts when it is big enough to have been verified itself; a far
        # background face (a poster, a passer-by) does not.
        if any(f is not main and f.box[2] >= self.config.min_face_px for f in faces):
            raise FaceRefused(Refusal.SEVERAL_FACES)
        return main

    def analyse(self, data: bytes) -> Analysis:
        """The quality gate, then the embedding; raises FaceRefused with the first failure."""
        image = decode_image(data, self.config)
        face = self.locate(image)
        aligned = align(image, face.landmarks)
        quality = measure_quality(face, aligned)
        refusal = self.gate(quality)
        if refusal is not None:
            raise FaceRefused(refusal)
        return Analysis(
            face=face,
            quality=quality,
            embedding=self.embed(aligned),
            image_size=(image.shape[1], image.shape[0]),
            sha256=hashlib.sha256(data).hexdigest(),
        )

    def gate(self, quality: Quality) -> Refusal | None:
        config = self.config
        if quality.face_px < config.min_face_px:
            return Refusal.FACE_TOO_SMALL
        if quality.brightness < config.min_brightness:
            return Refusal.TOO_DARK
        if quality.sharpness < config.min_sharpness:
            return Refusal.TOO_BLURRED
        if quality.eye_detail < config.min_eye_detail:
            return Refusal.EYES_NOT_VISIBLE
        return None

    def compare(self, reference: Analysis, probe: Analysis) -> FaceResult:
        score = cosine(reference.embedding, probe.embedding)
        threshold = self.config.threshold
        return FaceResult(score >= threshold, score, threshold, None)

    def verify(self, reference: bytes, probe: bytes) -> FaceResult:
        analyses = []
        for photo, data in (("reference", reference), ("probe", probe)):
            try:
                analyses.append(self.analyse(data))
            except FaceRefused as refused:
                return FaceResult(False, 0.0, self.config.threshold, refused.code.value, photo)
        return self.compare(analyses[0], analyses[1])


# Inside the 112×112 aligned crop: the face without background, and a window on each eye.
_INNER = (slice(24, 104), slice(20, 92))
_EYE_HALF_WIDTH, _EYE_HALF_HEIGHT = 6, 4


def measure_quality(face: Face, aligned: np.ndarray) -> Quality:
    grey = cv2.cvtColor(aligned, cv2.COLOR_BGR2GRAY).astype(np.float32)
    inner = grey[_INNER]
    spread = float(inner.std()) + 1.0
    laplacian = cv2.Laplacian(grey, cv2.CV_32F, ksize=3)[_INNER]
    eyes = []
    for x, y in TEMPLATE[:2]:
        cx, cy = round(float(x)), round(float(y))
        window = grey[
            cy - _EYE_HALF_HEIGHT : cy + _EYE_HALF_HEIGHT,
            cx - _EYE_HALF_WIDTH : cx + _EYE_HALF_WIDTH,
        ]
        eyes.append(float(window.std()) / spread)
    return Quality(
        face_px=float(face.box[2]),
        # The brightest 1% (skin highlights, the whites of the eyes) rather than the mean, so
        # the gate reads exposure, not skin tone.
        brightness=float(np.percentile(inner, 99)),
        # Dividing by the spread of grey levels makes it independent of contrast and exposure.
        sharpness=float(laplacian.std()) / spread,
        # A covered eye (sunglasses, a hand, hair) leaves a flat window where an eye has iris,
        # white and lids.
        eye_detail=min(eyes),
    )


class AsyncFaceEngine:
    """Runs the engine in its own threads so the event loop keeps serving while faces are read.

    `workers` bounds the CPU given to faces (onnxruntime and OpenCV release the GIL while they
    compute). At most `max_pending` jobs are handed to the pool at once; later callers wait on
    the semaphore, where a cancelled request (a closed page) costs nothing. `observe` is told
    how long each job took, its wait for a slot included (the metrics' face check latency).
    """

    def __init__(
        self,
        engine: FaceEngine,
        workers: int | None = None,
        max_pending: int = 32,
        observe: Callable[[float], None] | None = None,
    ):
        self.engine = engine
        self._observe = observe
        # One core stays with the event loop: the checks queue rather than slow every page.
        self.workers = workers or max(1, (os.cpu_count() or 2) - 1)
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="faces")
        self._slots = asyncio.Semaphore(max_pending)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Any face work (a liveness check, say) on the engine's threads."""
        started = time.perf_counter()
        try:
            async with self._slots:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._executor, function, *args)
        finally:
            if self._observe is not None:
                self._observe(time.perf_counter() - started)

    async def verify(self, reference: bytes, probe: bytes) -> FaceResult:
        return await self.run(self.engine.verify, reference, probe)

    async def analyse(self, data: bytes) -> Analysis:
        return await self.run(self.engine.analyse, data)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
