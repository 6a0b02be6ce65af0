"""A trainee's update is answered by the conversation router after passing only the errors
router: the staff routers, which take only their group's messages and buttons, come after it
(issue 20: each router an update passes through costs its filters and middleware chain). Staff
commands in the staff group still reach theirs."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Router

from tests.bot.test_support_desk import group_message
from tests.conftest import BotHarness
from tests.support import updates

ZHANG = updates.user(100001, "张三")
STAFF = updates.user(900001, "王老师")


@pytest.fixture
def passed(harness: BotHarness, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The routers each update was offered to, in order."""
    names: list[str] = []
    original = Router.propagate_event

    async def recorded(self: Router, update_type: str, event: Any, **kwargs: Any) -> Any:
        if self.name != harness.dispatcher.name:
            names.append(self.name)
        return await original(self, update_type, event, **kwargs)

    monkeypatch.setattr(Router, "propagate_event", recorded)
    return names


@pytest.mark.parametrize(
    "update",
    [updates.message("/status", ZHANG), updates.message("/pay", ZHANG)],
    ids=["status", "bill"],
)
async def test_a_trainee_is_answered_past_the_errors_router_only(
    harness: BotHarness, passed: list[str], update: Any
):
    await harness.feed(update)
    assert harness.session.texts()  # answered
    assert passed == ["errors", "conversation"]


async def test_a_staff_command_in_the_staff_group_still_reaches_its_router(
    harness: BotHarness, passed: list[str]
):
    await harness.feed(group_message("/stats", STAFF))
    assert "conversation" in passed and passed[-1] == "staff_stats"
    assert harness.session.texts()
