"""Exam attempts, their timeline, and completion receipts.

An attempt keeps its draw (questions and option order) and the answers as JSON on its own row:
one row read and written per autosave, and a resumed attempt is exactly the one that was left.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from infra.db.models import Enrolment


class ExamAttempt(Model):
    id = fields.IntField(primary_key=True)
    enrolment: fields.ForeignKeyRelation[Enrolment] = fields.ForeignKeyField(
        "jijiao.Enrolment", related_name="exam_attempts", on_delete=fields.CASCADE
    )
    enrolment_id: int
    chat_user_id = fields.BigIntField(db_index=True)
    # 1, 2, ...: unique per enrolment, so two taps on "start" make one attempt.
    number = fields.IntField()
    status = fields.CharField(max_length=10, default="open")  # open | submitted | timed_out
    bank_version = fields.IntField()
    started_at = fields.DatetimeField()
    deadline = fields.DatetimeField(db_index=True)
    closed_at = fields.DatetimeField(null=True)
    # [{"q": key, "o": [option keys in the order shown]}, ...]
    draw: fields.JSONField[list[dict[str, Any]]] = fields.JSONField()
    # {question key: [option keys]}
    answers: fields.JSONField[dict[str, list[str]]] = fields.JSONField(default=dict)
    score = fields.IntField(null=True)
    warned_at = fields.DatetimeField(null=True)
    # The face check that passed before the questions were drawn; none for older attempts.
    opening_check_id = fields.IntField(null=True)
    # confirmed | held (a check failed during it: staff decide before any receipt) | rejected
    identity = fields.CharField(max_length=10, default="confirmed")

    class Meta:
        table = "exam_attempt"
        unique_together = (("enrolment", "number"),)
        indexes = (("status", "deadline"),)


class ExamEvent(Model):
    """Timeline of an attempt for staff: started, saved, face checks, submitted."""

    id = fields.IntField(primary_key=True)
    attempt: fields.ForeignKeyRelation[ExamAttempt] = fields.ForeignKeyField(
        "jijiao.ExamAttempt", related_name="events", on_delete=fields.CASCADE
    )
    at = fields.DatetimeField()
    kind = fields.CharField(max_length=16)
    detail = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "exam_event"
        indexes = (("attempt_id",),)


class Receipt(Model):
    """One completion receipt per passed enrolment, with a signed token of it in its QR code."""

    id = fields.IntField(primary_key=True)
    enrolment: fields.OneToOneRelation[Enrolment] = fields.OneToOneField(
        "jijiao.Enrolment", related_name="receipt", on_delete=fields.CASCADE
    )
    enrolment_id: int
    number = fields.CharField(max_length=32, unique=True)
    score = fields.IntField()
    hours = fields.FloatField()
    passed_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    revoked_by = fields.BigIntField(null=True)
    revoked_reason = fields.TextField(null=True)
    # The QR code's tag under the key current when the receipt was made (for receipts made
    # before this column, filled by `jijiao rotate-key`): a printed receipt outlives the key,
    # which leaves the ring once a rotation is over.
    printed_tag = fields.CharField(max_length=32, null=True)
    # The holder (or their enterprise contact) said they applied for 到期换证 with this
    # receipt: the renewal reminders stop.
    renewal_applied_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "receipt"
