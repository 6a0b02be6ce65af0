"""Writes that arrive while one is under way go together in the next (infra/group_commit.py):
the inbox's store and done mark on every update's path (issue 20)."""

from __future__ import annotations

import asyncio

import pytest

from infra.group_commit import GroupCommit


class Recorder:
    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.gate = asyncio.Event()
        self.fail: Exception | None = None

    async def write(self, items: list[int]) -> list[int]:
        self.groups.append(items)
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return [item * 10 for item in items]


async def test_a_caller_alone_is_written_at_once():
    recorder = Recorder()
    recorder.gate.set()
    group = GroupCommit(recorder.write)
    assert await group(1) == 10
    assert await group(2) == 20
    assert recorder.groups == [[1], [2]]


async def test_callers_during_a_write_share_the_next_and_each_gets_its_own_answer():
    recorder = Recorder()
    group = GroupCommit(recorder.write, most=3)
    first = asyncio.create_task(group(1))
    await asyncio.sleep(0)  # the first write is under way
    others = [asyncio.create_task(group(n)) for n in range(2, 7)]
    await asyncio.sleep(0)
    assert recorder.groups == [[1]] and not any(task.done() for task in others)
    recorder.gate.set()
    assert await first == 10
    assert await asyncio.gather(*others) == [20, 30, 40, 50, 60]
    assert recorder.groups == [[1], [2, 3, 4], [5, 6]]  # at most three a statement


async def test_a_failed_write_fails_its_callers_only():
    recorder = Recorder()
    group = GroupCommit(recorder.write)
    recorder.fail = ConnectionRefusedError("the database is away")
    first = asyncio.create_task(group(1))
    await asyncio.sleep(0)
    second = asyncio.create_task(group(2))
    await asyncio.sleep(0)
    recorder.gate.set()
    with pytest.raises(ConnectionRefusedError):
        await first
    with pytest.raises(ConnectionRefusedError):
        await second  # its own write failed too: the database was still away
    recorder.fail = None
    assert await group(3) == 30  # back: the next write goes


async def test_a_caller_that_goes_away_does_not_stop_the_others():
    recorder = Recorder()
    group = GroupCommit(recorder.write)
    first = asyncio.create_task(group(1))
    await asyncio.sleep(0)
    gone, stays = asyncio.create_task(group(2)), asyncio.create_task(group(3))
    await asyncio.sleep(0)
    gone.cancel()
    recorder.gate.set()
    assert await first == 10 and await stays == 30
    assert recorder.groups == [[1], [2, 3]]  # its write went all the same
