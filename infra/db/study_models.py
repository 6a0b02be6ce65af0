"""Study progress and face checks. Photos and embeddings are files (application/study.py), never
columns: other features read these tables, and a deletion must remove every copy."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from infra.db.models import Enrolment


class LessonProgress(Model):
    id = fields.IntField(primary_key=True)
    enrolment: fields.ForeignKeyRelation[Enrolment] = fields.ForeignKeyField(
        "jijiao.Enrolment", related_name="lesson_progress", on_delete=fields.CASCADE
    )
    lesson = fields.CharField(max_length=64)
    # Copied from the enrolment's trainee so "the latest beat of this person" is one query.
    chat_user_id = fields.BigIntField(db_index=True)
    seconds_credited = fields.IntField(default=0)
    last_beat_at = fields.DatetimeField(null=True)
    completed_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "lesson_progress"
        unique_together = (("enrolment", "lesson"),)


class FaceProfile(Model):
    """Consent and the enrolment photo of one trainee (files under APP_DATA_DIR/faces)."""

    id = fields.IntField(primary_key=True)
    chat_user_id = fields.BigIntField(unique=True)
    consent_at = fields.DatetimeField(null=True)
    photo_path = fields.CharField(max_length=255, null=True)
    embedding_path = fields.CharField(max_length=255, null=True)
    photo_at = fields.DatetimeField(null=True)
    # approved | pending: a photo after the first (the trainee deleted theirs, or staff reset
    # it) is used by no check until staff approve it.
    photo_status = fields.CharField(max_length=8, default="approved")
    created_at = fields.DatetimeField(auto_now_add=True)
    deleted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "face_profile"


class FaceCheck(Model):
    id = fields.IntField(primary_key=True)
    chat_user_id = fields.BigIntField(db_index=True)
    enrolment: fields.ForeignKeyNullableRelation[Enrolment] = fields.ForeignKeyField(
        "jijiao.Enrolment", related_name="face_checks", null=True, on_delete=fields.CASCADE
    )
    enrolment_id: int | None
    kind = fields.CharField(max_length=10)  # enrolment | start | exam | random | staff
    requested_at = fields.DatetimeField()
    answer_by = fields.DatetimeField(null=True)
    answered_at = fields.DatetimeField(null=True)
    result = fields.CharField(max_length=8, default="pending")  # pending | passed | failed
    score = fields.FloatField(null=True)
    reason = fields.CharField(max_length=32, null=True)
    # After an answer: when the next random check falls due.
    next_due_at = fields.DatetimeField(null=True)
    # Of the selfie that answered it (hashes only, no face data): a picture sent again is refused.
    fingerprint = fields.CharField(max_length=130, null=True)
    # Liveness: "left" or "right" when the answer must show the head turning that way.
    challenge = fields.CharField(max_length=8, null=True)

    class Meta:
        table = "face_check"
        indexes = (("enrolment_id",),)


class FaceReview(Model):
    """Staff look at the evidence and clear or reject: three failed checks in a row, a check
    the trainee could not answer (`checks`); a passed exam attempt during which a check failed
    (`exam`, its receipt waits); a new enrolment photo after the trainee deleted theirs
    (`photo`, no check uses it until cleared)."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=8, default="checks")
    attempt_id = fields.IntField(null=True)
    chat_user_id = fields.BigIntField(db_index=True)
    enrolment: fields.ForeignKeyNullableRelation[Enrolment] = fields.ForeignKeyField(
        "jijiao.Enrolment", related_name="face_reviews", null=True, on_delete=fields.CASCADE
    )
    enrolment_id: int | None
    # The failed checks, oldest first: [id, ...]
    check_ids: fields.JSONField[list[int]] = fields.JSONField()
    status = fields.CharField(max_length=10, default="pending", db_index=True)
    created_at = fields.DatetimeField()
    decided_by = fields.BigIntField(null=True)
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "face_review"
        indexes = (("enrolment_id",),)
