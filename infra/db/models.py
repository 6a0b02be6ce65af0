"""Tortoise models: the storage shape of the domain, changed only through migrations."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class ChatUser(Model):
    """A Telegram account that has talked to the bot."""

    # Telegram user id, always given explicitly (the column default is never used)
    id = fields.BigIntField(primary_key=True)
    first_name = fields.CharField(max_length=128, default="")
    language_code = fields.CharField(max_length=16, null=True)
    locale = fields.CharField(max_length=8, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "chat_user"


class FsmRecord(Model):
    """aiogram FSM state and data, one row per storage key, when Redis is not configured."""

    key = fields.CharField(max_length=255, primary_key=True)
    state = fields.CharField(max_length=255, null=True)
    data = fields.JSONField(default=dict)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "fsm_record"
