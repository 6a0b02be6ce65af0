"""S5 per channel: a person bound on Telegram who proves the registry phone from WeChat gets a
second binding, not a rebind request; a second account on the SAME channel still goes to staff.
The person's account to write to is the one used last."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.accounts import ChatUserId
from domain.identity import BindPerson, IdentityRefused, PhoneProof
from infra.db import models
from infra.repositories import reach
from infra.repositories.accounts import TortoiseAccountRepository
from infra.repositories.registry import TortoiseBindings, TortoiseRegistry
from tests.support import registry
from tests.support.clock import FixedClock

PHONE = "13800000001"


class Desk:
    def __init__(self) -> None:
        self.cases: list[str] = []

    async def record(self, account, kind, track, details, *, about=None) -> int:
        self.cases.append(kind)
        return len(self.cases)


async def test_a_wechat_account_binds_beside_the_telegram_one_and_the_last_used_is_written_to(
    database, clock: FixedClock
):
    number = registry.id_number(1)
    person = await registry.holder(number, "张三", PHONE)
    accounts = TortoiseAccountRepository()
    await accounts.seen(ChatUserId(100001), "张三", "zh-hans", at=clock.now())
    wechat = await accounts.seen_on("wechat", "o-zhang", "微信用户", "zh_CN", at=clock.now())
    desk = Desk()
    bind = BindPerson(TortoiseRegistry(registry.PII), TortoiseBindings(registry.PII), desk)
    proof = PhoneProof(PHONE, own=True)

    await bind(ChatUserId(100001), number, "张三", proof)
    await bind(wechat.id, number, "张三", proof)

    assert desk.cases == []
    channels = await models.Binding.filter(person_id=person.id).values_list("channel", flat=True)
    assert sorted(channels) == ["telegram", "wechat"]
    # Binding again from either account changes nothing.
    await bind(wechat.id, number, "张三", proof)
    assert await models.Binding.filter(person_id=person.id).count() == 2

    # Written to where they were last: WeChat wrote after Telegram...
    clock.advance(minutes=5)
    await accounts.seen_on("wechat", "o-zhang", "微信用户", "zh_CN", at=clock.now())
    assert await reach.account_of(person.id) == wechat.id
    assert await TortoiseBindings(registry.PII).account_of(number) == wechat.id
    # ...then Telegram again.
    clock.advance(minutes=5)
    await accounts.seen(ChatUserId(100001), "张三", "zh-hans", at=clock.now())
    assert await reach.account_of(person.id) == 100001
    # An unfollowed WeChat account gives way even when used last.
    clock.advance(minutes=5)
    await accounts.seen_on("wechat", "o-zhang", "微信用户", "zh_CN", at=clock.now())
    await accounts.left("wechat", "o-zhang")
    assert await reach.account_of(person.id) == 100001


async def test_a_second_account_on_the_same_channel_is_still_a_rebind_request(
    database, clock: FixedClock
):
    number = registry.id_number(1)
    await registry.holder(number, "张三", PHONE)
    accounts = TortoiseAccountRepository()
    desk = Desk()
    bind = BindPerson(TortoiseRegistry(registry.PII), TortoiseBindings(registry.PII), desk)
    proof = PhoneProof(PHONE, own=True)
    first = await accounts.seen_on("wechat", "o-first", "微信用户", None, at=clock.now())
    second = await accounts.seen_on("wechat", "o-second", "微信用户", None, at=clock.now())
    await bind(first.id, number, "张三", proof)

    with pytest.raises(IdentityRefused) as refused:
        await bind(second.id, number, "张三", proof)

    assert refused.value.code == "person_bound_elsewhere" and desk.cases == ["rebind_request"]
    assert await models.Binding.filter(chat_user_id=second.id).count() == 0


async def test_telegram_updates_record_when_the_account_last_wrote_to_the_minute(
    database, clock: FixedClock
):
    accounts = TortoiseAccountRepository()
    await accounts.seen(ChatUserId(100001), "张三", "zh-hans", at=clock.now())
    first = clock.now()
    clock.advance(seconds=20)
    await accounts.seen(ChatUserId(100001), "张三", "zh-hans", at=clock.now())
    assert (await models.ChatUser.get(id=100001)).last_inbound_at == first
    clock.advance(minutes=2)
    await accounts.seen(ChatUserId(100001), "张三", "zh-hans", at=clock.now())
    assert (await models.ChatUser.get(id=100001)).last_inbound_at == first + timedelta(
        minutes=2, seconds=20
    )
