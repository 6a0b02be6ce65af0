"""Study progress and face checks on Tortoise, photos and embeddings in a file store.

The rules are domain/study.py; here they meet the rows. One lock per trainee serialises their
heartbeats and check answers, so two tabs racing each other read each other's last beat; on
PostgreSQL a transaction-scoped advisory lock per trainee does the same across instances.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import io
import logging
import math
import random
import shutil
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import numpy as np
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from domain.registry import CertType, SiteRole
from domain.study import (
    CheckKind,
    CheckResult,
    LatestCheck,
    LessonState,
    NoCredit,
    credit,
    face_ok,
    next_check_at,
    total_percent,
    why_no_credit,
)
from infra.content import Catalogue, Course
from infra.db import models
from infra.db.columns import column
from infra.db.sql import Row, decoded, fetch
from infra.db.study_models import FaceCheck, FaceProfile, FaceReview, LessonProgress
from infra.faces import AsyncFaceEngine, FaceEngine, FaceRefused, default_cache_dir
from infra.faces.engine import Refusal, cosine, read_header
from infra.faces.liveness import (
    Fingerprint,
    HeadTurnChallenge,
    LivenessChecker,
    Turn,
    fingerprint,
    seen_before,
)
from infra.faces.video import frames_for_check
from infra.repositories.exams import SeenCheck

log = logging.getLogger(__name__)

OPEN_STATES = ("studying", "exam")
# A lesson opened again this soon after a passed check needs no new one (a reload, "back").
START_GRACE = timedelta(seconds=30)
# Three failed checks in a row go to staff; a selfie is compared with this many earlier ones.
REVIEW_AFTER = 3
FINGERPRINTS_KEPT = 200
# Telegram's media group takes 10 pictures: the enrolment photo and this many failed selfies.
MAX_SELFIES_SHOWN = 9
# How recent the passed check opening an exam attempt must be when its questions are drawn.
EXAM_GATE = timedelta(minutes=2)
_SYSTEM_RANDOM = random.SystemRandom()
# The share of random checks that ask for a head turn even when none is owed.
RANDOM_CHALLENGE_SHARE = 1 / 3


@dataclass(frozen=True, slots=True)
class StudyConfig:
    minutes_scale: float = 1.0
    heartbeat: timedelta = timedelta(seconds=15)
    check_interval: timedelta = timedelta(minutes=10)
    check_answer: timedelta = timedelta(seconds=60)
    # Liveness challenge on the check that opens a lesson or an exam (the app turns it on).
    head_turn: bool = False
    # Face data is deleted this long after the pass (or the enrolment's end without one).
    retention: timedelta = timedelta(days=30)

    @property
    def max_gap(self) -> timedelta:
        """Beats come every `heartbeat`; a late one is still the same sitting, a much later one
        is not."""
        return self.heartbeat * 2.5

    @property
    def stale_after(self) -> timedelta:
        return self.check_interval + self.check_answer + self.max_gap


REKEYING = ".rekeying"


def _fernet(key: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"faces\n" + key).digest()))


class FaceStore:
    """One folder per trainee under APP_DATA_DIR/faces; files only, so deleting the folder is
    deleting every copy. With a key (the app derives one from SECURITY_SECRET_KEY) every file is
    encrypted at rest (Fernet: AES-128-CBC with an HMAC); a copied disk shows no face. The
    previous keys of a rotation still open files; `reseal` moves one to the current key."""

    def __init__(
        self, root: Path, key: bytes | None = None, previous: Sequence[bytes] = ()
    ) -> None:
        self.root = root
        self._fernet = _fernet(key) if key is not None else None
        self._ring = (
            MultiFernet([self._fernet, *(_fernet(old) for old in previous)])
            if self._fernet is not None
            else None
        )

    def folder(self, user_id: int) -> Path:
        return self.root / str(int(user_id))

    def _write(self, path: Path, data: bytes) -> Path:
        if self._fernet is not None:
            path, data = path.with_name(path.name + ".enc"), self._fernet.encrypt(data)
        partial = path.with_name(path.name + ".part")
        partial.write_bytes(data)
        partial.replace(path)
        return path

    def locate(self, path: str | Path) -> Path:
        """Where a stored path's file is now. Rows keep the path the file was written to; a
        data dir restored or moved elsewhere still holds it as <root>/<trainee>/<name>."""
        stored = Path(path)
        if stored.is_file() or not stored.is_absolute():
            return stored if stored.is_absolute() else self.root / stored
        parts = stored.parts
        tail = parts[parts.index("checks") - 1 :] if "checks" in parts else parts[-2:]
        return self.root.joinpath(*tail)

    def read(self, path: str | Path) -> bytes:
        data = self.locate(path).read_bytes()
        return self._ring.decrypt(data) if str(path).endswith(".enc") and self._ring else data

    def sealed_files(self) -> Iterator[Path]:
        yield from sorted(self.root.glob("*/**/*.enc"))

    def opens_with_current_key(self, path: Path) -> bool:
        if self._fernet is None:
            return True
        try:
            self._fernet.decrypt(path.read_bytes())
        except InvalidToken:
            return False
        return True

    def reseal(self, path: Path) -> bool:
        """Encrypt one file again under the current key; False when it already was. The new
        file replaces the old in one rename, so a kill leaves the one or the other, whole. A
        file the app wrote meanwhile (a new photo) is left as written: it has the new key."""
        if self._ring is None or self._fernet is None:
            return False
        data = path.read_bytes()
        try:
            self._fernet.decrypt(data)
            return False
        except InvalidToken:
            pass
        plain = self._ring.decrypt(data)
        partial = path.with_name(path.name + REKEYING)
        partial.write_bytes(self._fernet.encrypt(plain))
        try:
            unchanged = path.read_bytes() == data
        except FileNotFoundError:  # deleted meanwhile (the trainee's request, the purge)
            unchanged = False
        if not unchanged:
            partial.unlink(missing_ok=True)
            return False
        partial.replace(path)
        return True

    def drop_partial_reseals(self) -> int:
        """What a killed `reseal` left: the original is still in place, whole."""
        left = list(self.root.glob(f"*/**/*{REKEYING}"))
        for path in left:
            path.unlink(missing_ok=True)
        return len(left)

    def save(self, user_id: int, photo: bytes, embedding: np.ndarray) -> tuple[Path, Path]:
        folder = self.folder(user_id)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        buffer = io.BytesIO()
        np.save(buffer, embedding.astype(np.float32))
        return (
            self._write(folder / "enrolment.jpg", photo),
            self._write(folder / "enrolment.npy", buffer.getvalue()),
        )

    def save_evidence(self, user_id: int, check_id: int, photo: bytes) -> Path:
        """A selfie that failed to match, kept for the staff review (deleted with the rest)."""
        folder = self.folder(user_id) / "checks"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self._write(folder / f"{int(check_id)}.jpg", photo)

    def evidence(self, user_id: int, check_id: int) -> bytes | None:
        folder = self.folder(user_id) / "checks"
        for name in (f"{int(check_id)}.jpg.enc", f"{int(check_id)}.jpg"):
            if (folder / name).is_file():
                return self.read(folder / name)
        return None

    def embedding(self, path: str) -> np.ndarray:
        return np.asarray(np.load(io.BytesIO(self.read(path))), dtype=np.float32)

    def delete(self, user_id: int) -> None:
        shutil.rmtree(self.folder(user_id), ignore_errors=True)


class LazyFaces:
    """The engine is built on first use (model conversion, ~0.6 s), off the event loop."""

    def __init__(self, data_dir: Path, observe: Callable[[float], None] | None = None) -> None:
        self._data_dir = data_dir
        self._observe = observe
        self._engine: AsyncFaceEngine | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> AsyncFaceEngine:
        async with self._lock:
            if self._engine is None:
                engine = await asyncio.to_thread(
                    FaceEngine.from_cache, default_cache_dir(self._data_dir)
                )
                self._engine = AsyncFaceEngine(engine, observe=self._observe)
            return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()


class ReadyFaces:
    def __init__(self, engine: AsyncFaceEngine) -> None:
        self._engine = engine

    async def get(self) -> AsyncFaceEngine:
        return self._engine


# The trainee's paid enrolments, newest first, on every page of the web view (infra/db/sql.py).
_PAID = """
SELECT enrolment.id, certificate.cert_type, certificate.number, enrolment.state,
    enrolment.paid_at, enrolment.study_deadline, certificate.role
FROM enrolment
JOIN certificate ON certificate.id = enrolment.certificate_id
JOIN binding ON binding.person_id = certificate.person_id
WHERE binding.chat_user_id = $1 AND enrolment.paid_at IS NOT NULL
"""
_PAID_ENROLMENTS = f"{_PAID} ORDER BY enrolment.paid_at DESC, enrolment.id DESC"
_CREDITED = (
    "SELECT lesson, seconds_credited AS seconds FROM lesson_progress WHERE enrolment_id = $1"
)
_PROFILE = """
SELECT consent_at, photo_path, photo_status, deleted_at FROM face_profile WHERE chat_user_id = $1
"""
# The study page in one read: the language the trainee chose in the chat and the face profile
# (on every row, NULL without them), each paid enrolment (NULL without any) and its lessons'
# credited seconds (a row each, NULL before the first). Four reads on every opening of the Mini
# App before (issue 20).
_HOME = f"""
SELECT chat_user.locale AS chosen_locale, face_profile.consent_at, face_profile.photo_path,
    face_profile.photo_status, face_profile.deleted_at, paid.*, lesson_progress.lesson,
    lesson_progress.seconds_credited AS seconds
FROM (SELECT 1 AS one) AS account
LEFT JOIN chat_user ON chat_user.id = $1
LEFT JOIN face_profile ON face_profile.chat_user_id = $1
LEFT JOIN ({_PAID}) AS paid ON TRUE
LEFT JOIN lesson_progress ON lesson_progress.enrolment_id = paid.id
ORDER BY paid.paid_at DESC, paid.id DESC
"""


@dataclass(frozen=True, slots=True)
class StudyEnrolment:
    id: int
    cert_type: CertType
    certificate_number: str
    state: str
    paid_at: datetime | None
    deadline: datetime | None
    role: SiteRole | None = None  # 现场专业人员: the role's course when the catalogue has one

    def window_end(self) -> datetime:
        """Closed unless studying; an enrolment without a deadline has none to study in."""
        if self.state not in OPEN_STATES or self.deadline is None:
            return self.paid_at or datetime.min.replace(tzinfo=UTC)
        return self.deadline


@dataclass(frozen=True, slots=True)
class Profile:
    consented: bool
    has_photo: bool
    photo_pending: bool = False  # taken, waiting for staff approval


@dataclass(frozen=True, slots=True)
class StudyHome:
    """What the study page shows, and in which language: the one chosen in the chat (None:
    none chosen), the face profile, the paid enrolments (the latest paid first) and the
    seconds credited per lesson of each."""

    chosen_locale: str | None
    profile: Profile
    enrolments: list[StudyEnrolment]
    credited: dict[int, dict[str, int]]


def _study_enrolment(row: Row) -> StudyEnrolment:
    return StudyEnrolment(
        row["id"],
        CertType(row["cert_type"]),
        row["number"],
        row["state"],
        decoded(models.Enrolment, "paid_at", row["paid_at"]),
        decoded(models.Enrolment, "study_deadline", row["study_deadline"]),
        SiteRole(row["role"]) if row["role"] else None,
    )


def _profile(row: Row) -> Profile:
    """A face profile row (its columns NULL when there is none); deleted, there is none."""
    if row["deleted_at"] is not None:
        return Profile(False, False)
    return Profile(
        row["consent_at"] is not None,
        row["photo_path"] is not None,
        row["photo_path"] is not None and row["photo_status"] == PhotoStatus.PENDING.value,
    )


@dataclass(frozen=True, slots=True)
class PendingCheck:
    id: int
    kind: CheckKind
    answer_by: datetime
    challenge: str | None = None  # "left" | "right": two frames, the head turning that way

    def as_json(self, now: datetime) -> dict[str, str | int | None]:
        """`seconds_left` by the server's clock: the page counts down from it on the phone's
        own, which may be minutes or days off (a check must not close the moment it opens)."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "answer_by": self.answer_by.isoformat(),
            "seconds_left": max(0, math.ceil((self.answer_by - now).total_seconds())),
            "challenge": self.challenge,
        }


@dataclass(frozen=True, slots=True)
class Beat:
    lesson: LessonState
    total_percent: int
    credited_now: int
    reason: NoCredit | None
    check: PendingCheck | None


class PhotoStatus(StrEnum):
    APPROVED = "approved"
    PENDING = "pending"


class ReviewKind(StrEnum):
    CHECKS = "checks"
    EXAM = "exam"
    PHOTO = "photo"


class ReviewStatus(StrEnum):
    PENDING = "pending"
    CLEARED = "cleared"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class ReviewEvidence:
    id: int
    user_id: int
    status: ReviewStatus
    checks: tuple[tuple[datetime, str, str | None, float | None], ...]
    enrolment_photo: bytes | None
    selfies: tuple[bytes, ...]  # the failed ones kept, oldest first
    kind: ReviewKind = ReviewKind.CHECKS
    attempt_id: int | None = None

    @property
    def selfie(self) -> bytes | None:
        return self.selfies[-1] if self.selfies else None


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    result: CheckResult
    reason: str | None
    score: float | None


class Study:
    def __init__(
        self,
        courses: Catalogue,
        faces: LazyFaces | ReadyFaces,
        store: FaceStore,
        config: StudyConfig,
        # When the next random check falls: the system's randomness too (tests hand in theirs).
        rng: Callable[[], float] = _SYSTEM_RANDOM.random,
        on_review: Callable[[int], Awaitable[None]] | None = None,
        chance: random.Random | None = None,
    ) -> None:
        self.courses = courses
        self.faces = faces
        self.store = store
        self.config = config
        self._rng = rng
        # Challenges must not be predictable: the system's randomness, not a seeded generator
        # (tests hand in their own, as they hand in a clock).
        self.chance = chance or random.SystemRandom()
        # Posts a new review to staff (the bot's FaceReviewDesk), set by the composition root.
        self.on_review = on_review
        # Weak: a lock lives while someone waits on it, so the map does not grow forever.
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        # Trainees whose picture is being read right now: one at a time each, so nobody can
        # fill the face workers (or the memory, with queued uploads) at the others' expense.
        self._reading: set[int] = set()

    @contextlib.contextmanager
    def _face_turn(self, user_id: int) -> Iterator[None]:
        if user_id in self._reading:
            raise FaceRefused(Refusal.BUSY)
        self._reading.add(user_id)
        try:
            yield
        finally:
            self._reading.discard(user_id)

    def _lock(self, user_id: int) -> asyncio.Lock:
        lock = self._locks.get(user_id)
        if lock is None:
            lock = self._locks[user_id] = asyncio.Lock()
        return lock

    # Enrolments: the trainee is the certificate's person bound to this chat account.

    async def home(self, user_id: int) -> StudyHome:
        rows = await fetch(models.Enrolment, _HOME, [user_id])
        enrolments: dict[int, StudyEnrolment] = {}
        credited: dict[int, dict[str, int]] = {}
        for row in rows:
            if row["id"] is None:
                continue
            if row["id"] not in enrolments:
                enrolments[row["id"]] = _study_enrolment(row)
                credited[row["id"]] = {}
            if row["lesson"] is not None:
                credited[row["id"]][row["lesson"]] = row["seconds"]
        head = rows[0]
        return StudyHome(head["chosen_locale"], _profile(head), list(enrolments.values()), credited)

    async def enrolments(self, user_id: int) -> list[StudyEnrolment]:
        rows = await fetch(models.Enrolment, _PAID_ENROLMENTS, [user_id])
        return [_study_enrolment(row) for row in rows]

    async def enrolment(self, user_id: int, enrolment_id: int) -> StudyEnrolment | None:
        return next((e for e in await self.enrolments(user_id) if e.id == enrolment_id), None)

    def course(self, enrolment: StudyEnrolment) -> Course:
        return self.courses.for_certificate(enrolment.cert_type, enrolment.role)

    def lesson_states(
        self, enrolment: StudyEnrolment, credited: dict[str, int]
    ) -> list[LessonState]:
        scale = self.config.minutes_scale
        return [
            LessonState(lesson.key, credited.get(lesson.key, 0), lesson.required_seconds(scale))
            for lesson in self.course(enrolment).lessons
        ]

    async def progress(self, enrolment: StudyEnrolment) -> list[LessonState]:
        rows = await fetch(LessonProgress, _CREDITED, [enrolment.id])
        return self.lesson_states(enrolment, {row["lesson"]: row["seconds"] for row in rows})

    # Consent and the enrolment photo.

    async def profile(self, user_id: int) -> Profile:
        rows = await fetch(FaceProfile, _PROFILE, [user_id])
        return _profile(rows[0]) if rows else Profile(False, False)

    async def photo_pending(self, user_id: int) -> bool:
        return (await self.profile(user_id)).photo_pending

    async def consent(self, user_id: int, now: datetime) -> None:
        await FaceProfile.update_or_create(
            chat_user_id=user_id, defaults={"consent_at": now, "deleted_at": None}
        )
        log.info("face consent given by user %s", user_id)

    async def enrol_photo(self, user_id: int, photo: bytes, now: datetime) -> str | None:
        """None when the photo is kept, else the refusal code. Consent comes first. The first
        photo is used at once; a later one (after the trainee deleted their face data, or
        staff reset it) waits for staff approval: deleting face data is the trainee's right,
        but it must not let them enrol somebody else's face."""
        profile = await FaceProfile.get_or_none(chat_user_id=user_id, deleted_at=None)
        if profile is None or profile.consent_at is None:
            return "no_consent"
        if profile.photo_path is not None:
            # R-STUDY-1: a wrong photo is changed by staff, not by the trainee.
            return "photo_exists"
        engine = await self.faces.get()
        try:
            read_header(photo)  # a bomb is refused here, without taking a turn
            with self._face_turn(user_id):
                analysis = await engine.analyse(photo)
        except FaceRefused as refused:
            log.info("enrolment photo of user %s refused: %s", user_id, refused.code.value)
            return refused.code.value
        photo_path, embedding_path = await asyncio.to_thread(
            self.store.save, user_id, photo, analysis.embedding
        )
        replacing = await FaceCheck.exists(chat_user_id=user_id, kind=CheckKind.ENROLMENT.value)
        status = PhotoStatus.PENDING if replacing else PhotoStatus.APPROVED
        async with in_transaction():
            profile.photo_path, profile.embedding_path = str(photo_path), str(embedding_path)
            profile.photo_at = now
            profile.photo_status = status.value
            await profile.save(
                update_fields=["photo_path", "embedding_path", "photo_at", "photo_status"]
            )
            enrolled = await FaceCheck.create(
                chat_user_id=user_id,
                kind=CheckKind.ENROLMENT.value,
                requested_at=now,
                answered_at=now,
                result=CheckResult.PASSED.value,
                score=1.0,
                fingerprint=(await engine.run(fingerprint, photo)).to_text(),
            )
            review = (
                await FaceReview.create(
                    kind=ReviewKind.PHOTO.value,
                    chat_user_id=user_id,
                    check_ids=[enrolled.id],
                    created_at=now,
                )
                if replacing
                else None
            )
        log.info("enrolment photo of user %s kept (%s)", user_id, status.value)
        if review is not None:
            await self._post_review(review.id)
        return None

    async def delete_photo(self, user_id: int, now: datetime, reason: str = "request") -> None:
        """On request or at the end of the retention period: the files go (the photo, its
        description and the selfies kept for staff), the consent is withdrawn, the checks lose
        their scores and fingerprints."""
        await asyncio.to_thread(self.store.delete, user_id)
        await FaceProfile.filter(chat_user_id=user_id).update(
            photo_path=None, embedding_path=None, consent_at=None, deleted_at=now
        )
        # The selfies' fingerprints go too: derived from the face pictures, kept only to refuse
        # a picture sent twice, they have no use once the photo is gone.
        await FaceCheck.filter(chat_user_id=user_id).update(score=None, fingerprint=None)
        await models.AuditLog.create(
            actor_id=user_id,
            action="face_data_deleted" if reason == "request" else f"face_data_deleted_{reason}",
            subject=f"chat_user:{user_id}",
        )
        log.info("face data of user %s deleted (%s)", user_id, reason)

    async def _files_lost(self, profile: FaceProfile) -> bool:
        """A photo whose files are gone (a disk lost, a backup restored without them): the row
        forgets it, so the study page asks for a new one (which staff approve), instead of
        every check failing with an error."""
        paths = (profile.photo_path, profile.embedding_path)
        if all(p is None or self.store.locate(p).is_file() for p in paths):
            return False
        await FaceProfile.filter(id=profile.id).update(photo_path=None, embedding_path=None)
        await models.AuditLog.create(
            actor_id=profile.chat_user_id,
            action="face_files_missing",
            subject=f"chat_user:{profile.chat_user_id}",
        )
        log.warning("enrolment photo files of user %s are missing", profile.chat_user_id)
        return True

    async def allow_new_photo(self, user_id: int, staff_id: int, now: datetime) -> None:
        """Staff replace a wrong enrolment photo: the files go, consent stays, the trainee's
        study page asks for a new photo."""
        await asyncio.to_thread(self.store.delete, user_id)
        await FaceProfile.filter(chat_user_id=user_id).update(
            photo_path=None, embedding_path=None, photo_at=None
        )
        await models.AuditLog.create(
            actor_id=staff_id, action="face_photo_reset", subject=f"chat_user:{user_id}"
        )
        log.info("enrolment photo of user %s removed by staff %s", user_id, staff_id)

    # Checks.

    async def _latest(self, user_id: int, now: datetime) -> FaceCheck | None:
        row = await FaceCheck.filter(chat_user_id=user_id).order_by("-requested_at", "-id").first()
        if (
            row is not None
            and row.result == CheckResult.PENDING.value
            and row.answer_by is not None
            and now > row.answer_by
        ):
            row.result, row.reason, row.answered_at = CheckResult.FAILED.value, "too_late", now
            await row.save(update_fields=["result", "reason", "answered_at"])
        return row

    async def _challenge(self, user_id: int, kind: CheckKind) -> str | None:
        """Liveness: the check that opens a lesson or an exam asks for a head turn; a random
        check does too while a challenge failed and none has passed since (a failed challenge
        stays until it is passed), and otherwise now and then, so nobody can know beforehand
        that a still picture will do. The direction is drawn from the system's randomness."""
        if not self.config.head_turn:
            return None
        if kind is CheckKind.RANDOM:
            owed = await self._challenge_owed(user_id)
            if not owed and self.chance.random() >= RANDOM_CHALLENGE_SHARE:
                return None
        elif kind not in (CheckKind.START, CheckKind.EXAM):
            return None
        return HeadTurnChallenge.random(self.chance).direction.value

    async def _challenge_owed(self, user_id: int) -> bool:
        last = (
            await FaceCheck.filter(chat_user_id=user_id, challenge__isnull=False)
            .order_by("-id")
            .first()
        )
        if last is None or last.result != CheckResult.FAILED.value:
            return False
        # Staff who looked at the evidence and cleared the trainee settle it too.
        return not await FaceCheck.filter(
            chat_user_id=user_id,
            id__gt=last.id,
            kind=CheckKind.STAFF.value,
            result=CheckResult.PASSED.value,
        ).exists()

    async def _ask(
        self, user_id: int, enrolment_id: int, kind: CheckKind, now: datetime
    ) -> PendingCheck:
        answer_by = now + self.config.check_answer
        challenge = await self._challenge(user_id, kind)
        row = await FaceCheck.create(
            chat_user_id=user_id,
            enrolment_id=enrolment_id,
            kind=kind.value,
            requested_at=now,
            answer_by=answer_by,
            challenge=challenge,
        )
        return PendingCheck(row.id, kind, answer_by, challenge)

    @staticmethod
    def _pending(row: FaceCheck | None) -> PendingCheck | None:
        if row is None or row.result != CheckResult.PENDING.value or row.answer_by is None:
            return None
        return PendingCheck(row.id, CheckKind(row.kind), row.answer_by, row.challenge)

    async def open_lesson(
        self, user_id: int, enrolment: StudyEnrolment, now: datetime
    ) -> PendingCheck | None:
        """A lesson starts with a check, unless one is pending or just passed, or the
        enrolment photo waits for staff (then nothing counts until they approve it)."""
        if now >= enrolment.window_end() or await self.photo_pending(user_id):
            return None
        async with self._lock(user_id):
            latest = await self._latest(user_id, now)
            pending = self._pending(latest)
            if pending is not None:
                return pending
            if (
                latest is not None
                and latest.kind != CheckKind.ENROLMENT.value
                and latest.result == CheckResult.PASSED.value
                and latest.answered_at is not None
                and now - latest.answered_at <= START_GRACE
            ):
                return None
            return await self._ask(user_id, enrolment.id, CheckKind.START, now)

    async def pending_check(self, user_id: int, now: datetime) -> PendingCheck | None:
        """The check waiting for this trainee's selfie, if any (the chat answers it when the
        page has no camera)."""
        async with self._lock(user_id):
            return self._pending(await self._latest(user_id, now))

    async def exam_gate(
        self, user_id: int, enrolment_id: int, now: datetime, used: set[int]
    ) -> int | PendingCheck:
        """Before an attempt's questions are drawn: the id of the exam check that passed just
        now (and opened no attempt yet), else the check to answer first (asked if need be)."""
        async with self._lock(user_id):
            latest = await self._latest(user_id, now)
            pending = self._pending(latest)
            if pending is not None:
                return pending
            passed = (
                await FaceCheck.filter(
                    chat_user_id=user_id,
                    enrolment_id=enrolment_id,
                    kind=CheckKind.EXAM.value,
                    result=CheckResult.PASSED.value,
                    answered_at__gte=now - EXAM_GATE,
                )
                .order_by("-id")
                .first()
            )
            if passed is not None and passed.id not in used:
                return passed.id
            return await self._ask(user_id, enrolment_id, CheckKind.EXAM, now)

    async def exam_check(
        self, user_id: int, enrolment_id: int, attempt_started_at: datetime, now: datetime
    ) -> PendingCheck | None:
        """Checks during an exam, at random moments after the one that opened it. A failed
        check pauses nothing (the attempt's receipt waits for staff instead), so the next one
        comes after the interval, not at once."""
        async with self._lock(user_id):
            latest = await self._latest(user_id, now)
            pending = self._pending(latest)
            if pending is not None:
                return pending
            if self._exam_check_due(latest, now):
                return await self._ask(user_id, enrolment_id, CheckKind.RANDOM, now)
            return None

    async def exam_check_seen(
        self,
        user_id: int,
        enrolment_id: int,
        attempt_started_at: datetime,
        now: datetime,
        seen: SeenCheck | None,
    ) -> PendingCheck | None:
        """`exam_check`, given the latest check as the autosave's own statement read it: when
        that one is neither waiting for an answer nor followed by a due one (nearly every
        save), nothing is asked and nothing more is read. Otherwise the check is decided again
        under the lock, on a fresh read, as `exam_check` does."""
        waiting = (
            seen is not None
            and seen.result == CheckResult.PENDING.value
            and seen.answer_by is not None
        )
        if not waiting and not self._exam_check_due(seen, now):
            return None
        return await self.exam_check(user_id, enrolment_id, attempt_started_at, now)

    def _exam_check_due(self, latest: SeenCheck | FaceCheck | None, now: datetime) -> bool:
        """A random check is due during an exam (no pending one being waited for)."""
        if latest is None or latest.kind == CheckKind.ENROLMENT.value:
            return True
        due = latest.next_due_at or (
            (latest.answered_at or latest.requested_at) + self.config.check_interval
        )
        return now >= due

    async def close_checks(self, user_id: int, start: datetime, now: datetime) -> list[FaceCheck]:
        """The checks asked since `start` (an attempt's), as they stand when it ends: one still
        waiting for an answer is failed as `unanswered`."""
        async with self._lock(user_id):
            await self._latest(user_id, now)  # one past its minute fails as too_late
            for row in await FaceCheck.filter(
                chat_user_id=user_id,
                requested_at__gte=start,
                result=CheckResult.PENDING.value,
            ):
                await self._finish(row, now, CheckResult.FAILED, "unanswered", None)
            return await self.checks_between(user_id, start, now)

    async def hold_for_staff(
        self, user_id: int, enrolment_id: int, attempt_id: int, check_ids: list[int], now: datetime
    ) -> None:
        """A passed attempt during which checks failed: its receipt waits for staff, who see the
        enrolment photo and the failed selfies in the trainee's topic."""
        review = await FaceReview.create(
            kind=ReviewKind.EXAM.value,
            attempt_id=attempt_id,
            chat_user_id=user_id,
            enrolment_id=enrolment_id,
            check_ids=check_ids,
            created_at=now,
        )
        log.info("exam attempt %s of user %s held: review %s", attempt_id, user_id, review.id)
        await self._post_review(review.id)

    async def checks_between(self, user_id: int, start: datetime, end: datetime) -> list[FaceCheck]:
        return await FaceCheck.filter(
            chat_user_id=user_id, requested_at__gte=start, requested_at__lte=end
        ).order_by("requested_at", "id")

    async def answer_check(
        self,
        user_id: int,
        check_id: int,
        photo: bytes,
        now: datetime,
        *,
        before: bytes | None = None,
        from_chat: bool = False,
    ) -> CheckOutcome | None:
        """None when the check is not this trainee's. A check with a head-turn challenge is
        answered with two frames, `before` (facing the camera) and `photo` (turned), from the
        Mini App's camera or from a video note (`answer_with_video`); a still photo sent in the
        chat never answers one (`video_needed`), it only goes to staff as evidence."""
        try:
            for frame in (photo, before):
                if frame is not None:
                    read_header(frame)  # a bomb is refused here, without taking a turn
            with self._face_turn(user_id):
                return await self._answer_check(
                    user_id, check_id, photo, now, before=before, from_chat=from_chat
                )
        except FaceRefused as refused:  # too large, or an answer of theirs is being read
            if not await FaceCheck.exists(id=check_id, chat_user_id=user_id):
                return None
            return CheckOutcome(CheckResult.PENDING, refused.code.value, None)

    async def _answer_check(
        self,
        user_id: int,
        check_id: int,
        photo: bytes,
        now: datetime,
        *,
        before: bytes | None,
        from_chat: bool,
    ) -> CheckOutcome | None:
        async with self._lock(user_id):
            row = await FaceCheck.get_or_none(id=check_id, chat_user_id=user_id)
            if row is None:
                return None
            if row.result != CheckResult.PENDING.value:
                return CheckOutcome(CheckResult(row.result), row.reason or "answered", row.score)
            if row.answer_by is not None and now > row.answer_by:
                return await self._finish(row, now, CheckResult.FAILED, "too_late", None)
            profile = await FaceProfile.get_or_none(chat_user_id=user_id, deleted_at=None)
            if profile is not None and await self._files_lost(profile):
                profile.embedding_path = None
            if profile is None or profile.embedding_path is None:
                return await self._finish(row, now, CheckResult.FAILED, "no_photo", None)
            if profile.photo_status != PhotoStatus.APPROVED.value:
                return await self._finish(row, now, CheckResult.FAILED, "photo_pending", None)
            engine = await self.faces.get()
            try:
                probe = await engine.run(fingerprint, photo)
                earlier = await self._fingerprints(user_id)
                if seen_before(probe, earlier):
                    # Liveness: a picture sent before (or a re-saved copy) is no selfie.
                    raise FaceRefused(Refusal.SAME_IMAGE)
                if row.challenge:
                    if before is None:
                        if from_chat:
                            # A photo cannot turn: kept for staff, and the chat asks for a video.
                            await asyncio.to_thread(
                                self.store.save_evidence, user_id, row.id, photo
                            )
                            return CheckOutcome(CheckResult.PENDING, "video_needed", None)
                        return CheckOutcome(CheckResult.PENDING, "challenge_needed", None)
                    turned = await engine.run(
                        functools.partial(LivenessChecker(engine.engine).check, earlier=earlier),
                        HeadTurnChallenge(Turn(row.challenge)),
                        before,
                        photo,
                    )
                    if not turned.passed:
                        return CheckOutcome(CheckResult.PENDING, turned.reason, None)
                    # The frame facing the camera is the one compared with the enrolment photo.
                    photo, probe = before, await engine.run(fingerprint, before)
                analysis = await engine.analyse(photo)
            except FaceRefused as refused:
                # A bad frame leaves the check open: the trainee may try again within the minute.
                return CheckOutcome(CheckResult.PENDING, refused.code.value, None)
            row.fingerprint = probe.to_text()
            reference = await asyncio.to_thread(self.store.embedding, profile.embedding_path)
            score = cosine(reference, analysis.embedding)
            if score < engine.engine.config.threshold:
                await asyncio.to_thread(self.store.save_evidence, user_id, row.id, photo)
                outcome = await self._finish(row, now, CheckResult.FAILED, "no_match", score)
            else:
                outcome = await self._finish(row, now, CheckResult.PASSED, None, score)
        if outcome.result is CheckResult.FAILED:
            await self._maybe_review(user_id, row.enrolment_id, now)
        return outcome

    async def answer_with_video(
        self, user_id: int, check_id: int, video: bytes, now: datetime
    ) -> CheckOutcome | None:
        """A Telegram video note (or a short video) for a trainee without a camera in the Mini
        App: its frame facing the camera and, for a challenge, its frame turned furthest to the
        asked side answer the check as the Mini App's two frames would."""
        row = await FaceCheck.get_or_none(id=check_id, chat_user_id=user_id)
        if row is None:
            return None
        if row.result != CheckResult.PENDING.value:
            return CheckOutcome(CheckResult(row.result), row.reason or "answered", row.score)
        engine = await self.faces.get()
        challenge = Turn(row.challenge) if row.challenge else None
        try:
            with self._face_turn(user_id):
                frames = await engine.run(frames_for_check, engine.engine, video, challenge)
        except FaceRefused as refused:
            return CheckOutcome(CheckResult.PENDING, refused.code.value, None)
        if frames.after is None:
            return await self.answer_check(user_id, check_id, frames.before, now)
        return await self.answer_check(user_id, check_id, frames.after, now, before=frames.before)

    async def ask_staff(self, user_id: int, check_id: int, now: datetime) -> bool:
        """No camera in the Mini App and no video either: the check goes to staff, with the
        photo the trainee sent and their recent checks; a staff pass settles it. False when the
        check is not this trainee's or no longer waiting."""
        async with self._lock(user_id):
            row = await FaceCheck.get_or_none(id=check_id, chat_user_id=user_id)
            if row is None or row.result != CheckResult.PENDING.value:
                return False
            await self._finish(row, now, CheckResult.FAILED, "staff_review", None)
        await self._maybe_review(user_id, row.enrolment_id, now, force=True)
        return True

    async def _fingerprints(self, user_id: int) -> list[Fingerprint]:
        texts = await column(
            FaceCheck.filter(chat_user_id=user_id, fingerprint__isnull=False)
            .order_by("-id")
            .limit(FINGERPRINTS_KEPT),
            "fingerprint",
        )
        return [Fingerprint.from_text(str(text)) for text in texts]

    # Staff review after three failures in a row.

    async def _maybe_review(
        self, user_id: int, enrolment_id: int | None, now: datetime, *, force: bool = False
    ) -> None:
        latest = (
            await FaceCheck.filter(chat_user_id=user_id)
            .order_by("-requested_at", "-id")
            .limit(REVIEW_AFTER)
        )
        if force:
            latest = [c for c in latest if c.result == CheckResult.FAILED.value][:REVIEW_AFTER]
        elif len(latest) < REVIEW_AFTER or any(
            c.result != CheckResult.FAILED.value for c in latest
        ):
            return
        if await FaceReview.exists(chat_user_id=user_id, status=ReviewStatus.PENDING.value):
            return
        review = await FaceReview.create(
            chat_user_id=user_id,
            enrolment_id=enrolment_id,
            check_ids=[c.id for c in reversed(latest)],
            created_at=now,
        )
        log.info(
            "face checks of user %s failed %s times: review %s", user_id, REVIEW_AFTER, review.id
        )
        await self._post_review(review.id)

    async def _post_review(self, review_id: int) -> None:
        if self.on_review is not None:
            try:
                await self.on_review(review_id)
            except Exception:
                log.exception("face review %s could not be posted to staff", review_id)

    async def review_evidence(self, review_id: int) -> ReviewEvidence | None:
        review = await FaceReview.get_or_none(id=review_id)
        if review is None:
            return None
        checks = await FaceCheck.filter(id__in=review.check_ids).order_by("requested_at", "id")
        profile = await FaceProfile.get_or_none(chat_user_id=review.chat_user_id, deleted_at=None)

        def photos() -> tuple[bytes | None, tuple[bytes, ...]]:
            enrolment = (
                self.store.read(profile.photo_path) if profile and profile.photo_path else None
            )
            selfies = tuple(
                data
                for c in checks
                if (data := self.store.evidence(review.chat_user_id, c.id)) is not None
            )
            return enrolment, selfies[-MAX_SELFIES_SHOWN:]

        enrolment_photo, selfies = await asyncio.to_thread(photos)
        return ReviewEvidence(
            review.id,
            review.chat_user_id,
            ReviewStatus(review.status),
            tuple((c.requested_at, c.kind, c.reason, c.score) for c in checks),
            enrolment_photo,
            selfies,
            ReviewKind(review.kind),
            review.attempt_id,
        )

    async def decide_review(
        self, review_id: int, *, cleared: bool, staff_id: int, now: datetime
    ) -> FaceReview | None:
        """One decision counts. Cleared: a staff pass, so progress resumes at the next beat."""
        status = ReviewStatus.CLEARED if cleared else ReviewStatus.REJECTED
        won = await FaceReview.filter(id=review_id, status=ReviewStatus.PENDING.value).update(
            status=status.value, decided_by=staff_id, decided_at=now
        )
        if not won:
            return None
        review = await FaceReview.get(id=review_id)
        if review.kind == ReviewKind.PHOTO.value:
            await self._decide_photo(review, cleared=cleared, staff_id=staff_id, now=now)
        elif cleared:
            async with self._lock(review.chat_user_id):
                await FaceCheck.create(
                    chat_user_id=review.chat_user_id,
                    enrolment_id=review.enrolment_id,
                    kind=CheckKind.STAFF.value,
                    requested_at=now,
                    answered_at=now,
                    result=CheckResult.PASSED.value,
                    next_due_at=next_check_at(now, self.config.check_interval, self._rng()),
                )
        await models.AuditLog.create(
            actor_id=staff_id,
            action=f"face_review_{status.value}",
            subject=f"chat_user:{review.chat_user_id}",
        )
        return review

    async def _decide_photo(
        self, review: FaceReview, *, cleared: bool, staff_id: int, now: datetime
    ) -> None:
        """Approved: checks compare with the new photo from now on. Refused: it goes (files
        deleted, consent kept) and the trainee takes another, which comes to staff again."""
        user_id = review.chat_user_id
        if cleared:
            await FaceProfile.filter(chat_user_id=user_id).update(
                photo_status=PhotoStatus.APPROVED.value
            )
        else:
            await asyncio.to_thread(self.store.delete, user_id)
            await FaceProfile.filter(chat_user_id=user_id).update(
                photo_path=None, embedding_path=None, photo_at=None
            )
        log.info("new enrolment photo of user %s %s by staff %s", user_id, cleared, staff_id)

    async def _finish(
        self,
        row: FaceCheck,
        now: datetime,
        result: CheckResult,
        reason: str | None,
        score: float | None,
    ) -> CheckOutcome:
        row.result, row.reason, row.answered_at = result.value, reason, now
        row.score = round(score, 4) if score is not None else None
        # Study asks again at once after a failure (progress waits for a pass); an exam, where
        # a failure pauses nothing, waits for this moment.
        row.next_due_at = next_check_at(now, self.config.check_interval, self._rng())
        await row.save(
            update_fields=["result", "reason", "answered_at", "score", "next_due_at", "fingerprint"]
        )
        log.info("face check %s of user %s: %s %s", row.id, row.chat_user_id, result, reason)
        return CheckOutcome(result, reason, row.score)

    # Heartbeats.

    async def heartbeat(
        self, user_id: int, enrolment: StudyEnrolment, lesson_key: str, now: datetime
    ) -> Beat:
        course = self.course(enrolment)
        lesson = course.lesson(lesson_key)
        assert lesson is not None
        required = lesson.required_seconds(self.config.minutes_scale)
        window_end = enrolment.window_end()
        photo_pending = await self.photo_pending(user_id)
        async with self._lock(user_id), in_transaction() as connection:
            await _lock_trainee(connection, user_id)
            latest = await self._latest(user_id, now)
            check = self._pending(latest)
            if now < window_end and check is None and not photo_pending:
                due = (
                    latest is None
                    or latest.result == CheckResult.FAILED.value
                    or (latest.next_due_at is not None and now >= latest.next_due_at)
                )
                if due:
                    check = await self._ask(user_id, enrolment.id, CheckKind.RANDOM, now)
            ok = (
                check is None
                and not photo_pending
                and face_ok(
                    LatestCheck(CheckResult(latest.result), latest.answered_at) if latest else None,
                    now,
                    self.config.stale_after,
                )
            )
            last = await (
                LessonProgress.filter(chat_user_id=user_id, last_beat_at__isnull=False)
                .order_by("-last_beat_at")
                .first()
            )
            last_beat = last.last_beat_at if last else None
            # Time before the last pass is not credited, whatever the beats say.
            if ok and latest is not None and latest.answered_at is not None and last_beat:
                last_beat = max(last_beat, latest.answered_at)
            row, _ = await LessonProgress.get_or_create(
                enrolment_id=enrolment.id, lesson=lesson.key, defaults={"chat_user_id": user_id}
            )
            args = (
                now,
                last_beat,
                required,
                row.seconds_credited,
                window_end,
                ok,
                self.config.max_gap,
            )
            gained = credit(*args)
            reason = why_no_credit(*args) if gained == 0 else None
            if photo_pending and reason is NoCredit.FACE_CHECK:
                reason = NoCredit.PHOTO_PENDING
            row.seconds_credited += gained
            row.last_beat_at = now
            if row.completed_at is None and row.seconds_credited >= required:
                row.completed_at = now
            await row.save(update_fields=["seconds_credited", "last_beat_at", "completed_at"])
        states = await self.progress(enrolment)
        state = next(s for s in states if s.key == lesson.key)
        return Beat(
            state, total_percent((s.credited, s.required) for s in states), gained, reason, check
        )


async def _lock_trainee(connection: BaseDBAsyncClient, user_id: int) -> None:
    """Two tabs served by two instances: the second beat waits for the first to commit, and so
    reads it. SQLite has one writer (and one instance) already."""
    if connection.capabilities.dialect == "postgres":
        await connection.execute_query(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [f"jijiao:study:{user_id}"]
        )
