"""aiogram FSM storage: in the database, so conversations survive a restart without Redis, or
in Redis (several instances), the conversation data sealed in both."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis

from infra.db.models import FsmRecord
from infra.pii import Pii

# Conversation data holds what the trainee typed half-way (a full ID number before the phone is
# shared), so it is sealed like the registry's columns; rows written before that read as they are.
SEALED = "_sealed"


def seal(pii: Pii, data: Mapping[str, Any]) -> dict[str, Any]:
    return {SEALED: pii.seal(json.dumps(dict(data)))} if data else {}


def unseal(pii: Pii, stored: Mapping[str, Any]) -> dict[str, Any]:
    if SEALED in stored:
        return dict(json.loads(pii.open(stored[SEALED])))
    return dict(stored)


class DatabaseStorage(BaseStorage):
    def __init__(self, pii: Pii, key_builder: KeyBuilder | None = None) -> None:
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)
        self._pii = pii

    def _key(self, key: StorageKey) -> str:
        return self.key_builder.build(key)

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        value = state.state if isinstance(state, State) else state
        await FsmRecord.update_or_create(key=self._key(key), defaults={"state": value})

    async def get_state(self, key: StorageKey) -> str | None:
        record = await FsmRecord.get_or_none(key=self._key(key))
        return record.state if record else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await FsmRecord.update_or_create(
            key=self._key(key), defaults={"data": seal(self._pii, data)}
        )

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        record = await FsmRecord.get_or_none(key=self._key(key))
        return unseal(self._pii, record.data) if record is not None else {}

    async def close(self) -> None:
        return None


class SealedRedisStorage(RedisStorage):
    """aiogram's Redis storage with the data sealed as above; the state (a step's name) is
    not personal and stays readable. Data written before the seal (plain JSON) reads as it is
    until its TTL ends it."""

    def __init__(self, redis: Redis, pii: Pii, **kwargs: Any) -> None:
        super().__init__(redis, **kwargs)
        self._pii = pii

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await super().set_data(key, seal(self._pii, data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return unseal(self._pii, await super().get_data(key))
