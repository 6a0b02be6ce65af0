"""An update reads the person's conversation step from the store once (issue 20): aiogram's FSM
middleware reads it before any handler runs, and the conversation core takes it from there
instead of asking Redis a second time."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage

from bot.callbacks import EnrolAction, EnrolCallback
from tests.conftest import BotHarness
from tests.support import updates

ZHANG = updates.user(100001, "张三")


class CountingStorage(MemoryStorage):
    def __init__(self) -> None:
        super().__init__()
        self.state_reads = 0

    async def get_state(self, key: StorageKey) -> Any:
        self.state_reads += 1
        return await super().get_state(key)


@pytest.fixture
def storage() -> CountingStorage:
    return CountingStorage()


@pytest.mark.parametrize(
    "update",
    [
        updates.message("/status", ZHANG),
        updates.message("/pay", ZHANG),
        updates.click(EnrolCallback(action=EnrolAction.MYSELF).pack(), ZHANG),
    ],
    ids=["command", "bill", "button"],
)
async def test_an_update_reads_the_step_once(
    harness: BotHarness, storage: CountingStorage, update: Any
):
    await harness.feed(update)
    assert harness.session.texts()  # answered
    assert storage.state_reads == 1


async def test_a_step_set_by_one_update_is_what_the_next_one_reads(
    harness: BotHarness, storage: CountingStorage
):
    await harness.feed(updates.click(EnrolCallback(action=EnrolAction.MYSELF).pack(), ZHANG))
    assert "身份证" in harness.last_text()  # asked for the ID number: a step is set
    await harness.feed(updates.message("not an ID number", ZHANG))
    assert "身份证" in harness.last_text()  # the step was read: the answer is about the ID
