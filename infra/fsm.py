"""aiogram FSM storage in the database, so conversations survive a restart without Redis."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StorageKey

from infra.db.models import FsmRecord
from infra.pii import Pii

# Conversation data holds what the trainee typed half-way (a full ID number before the phone is
# shared), so it is sealed like the registry's columns; rows written before that read as they are.
SEALED = "_sealed"


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
        sealed = {SEALED: self._pii.seal(json.dumps(dict(data)))} if data else {}
        await FsmRecord.update_or_create(key=self._key(key), defaults={"data": sealed})

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        record = await FsmRecord.get_or_none(key=self._key(key))
        if record is None:
            return {}
        if SEALED in record.data:
            return dict(json.loads(self._pii.open(record.data[SEALED])))
        return dict(record.data)

    async def close(self) -> None:
        return None
