"""Whom a payment is for, as rules (issue 18): the pick, whose bill, and taking back an unpaid
enrolment; over hand-written fakes, no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pytest

from domain.accounts import ChatUserId
from domain.checkout import (
    DueItem,
    Fees,
    InvoiceDetails,
    Order,
    PlaceOrder,
    RemoveEnrolment,
    ShowBill,
    by_type,
    chosen,
    pick_key,
    ticked,
)
from domain.enrolment import Channel
from domain.identity import Bound
from domain.payment import PaymentRefused
from domain.registry import Certificate, CertType, Enterprise, Person, RegistryStatus
from tests.support.clock import FixedClock

ME = ChatUserId(1)
COMPANY = Enterprise("91530100MA6K000010", "云南测试建设有限公司", "13900000001")
PERSON = Person("530102198503120011", "赵六", "13800000001")


def cert(n: int, cert_type: CertType = CertType.SAFETY_B, holder: str = "员工") -> Certificate:
    return Certificate(
        f"云建{n:04d}", cert_type, f"id{n}", f"{holder}{n}", date(2027, 1, 1), RegistryStatus.VALID
    )


def item(n: int, cert_type: CertType = CertType.SAFETY_B) -> DueItem:
    return DueItem(n, cert(n, cert_type), 30000)


def test_everything_due_starts_ticked_and_an_untick_leaves_that_one_out():
    items = [item(1), item(2), item(3)]
    assert ticked(items, ()) == items
    assert ticked(items, {2}) == [item(1), item(3)]
    assert ticked(items, {99}) == items  # an id that is not due changes nothing


def test_the_order_takes_exactly_the_ticked_ones():
    assert chosen([item(1), item(2), item(3)], {1, 3}) == [item(1), item(3)]


def test_a_pick_with_nobody_is_refused():
    with pytest.raises(PaymentRefused) as refused:
        chosen([item(1)], set())
    assert refused.value.code == "nothing_selected"


def test_a_pick_naming_an_enrolment_that_is_not_due_for_this_payer_is_refused_whole():
    # Somebody else's, paid, removed, or ordered meanwhile: never a silent partial order.
    with pytest.raises(PaymentRefused) as refused:
        chosen([item(1), item(2)], {1, 77})
    assert refused.value.code == "selection_changed"


def test_the_list_is_grouped_per_certificate_type_in_the_usual_order():
    items = [item(1, CertType.SAFETY_C), item(2, CertType.SAFETY_B), item(3, CertType.SAFETY_C)]
    assert [(t, [i.enrolment_id for i in group]) for t, group in by_type(items)] == [
        (CertType.SAFETY_B, [2]),
        (CertType.SAFETY_C, [1, 3]),
    ]


def test_the_picks_fingerprint_changes_with_the_pick_and_not_with_its_order():
    assert pick_key([3, 1, 2]) == pick_key([1, 2, 3])
    assert pick_key([1, 2]) != pick_key([1, 2, 3]) != pick_key([])


# ---- the use cases over fakes ----


@dataclass
class FakeBindings:
    enterprise: Enterprise | None = None
    person: Person | None = None

    async def person_of(self, account: ChatUserId) -> Person | None:
        return self.person if account == ME else None

    async def enterprise_of(self, account: ChatUserId) -> Enterprise | None:
        return self.enterprise if account == ME else None

    async def bound(self, account: ChatUserId) -> Bound:
        return Bound(await self.person_of(account), await self.enterprise_of(account))


@dataclass
class FakeStore:
    company_due: list[int] = field(default_factory=list)
    own_due: list[int] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)

    async def due(self, *, id_number: str | None, credit_code: str | None) -> list[Any]:
        ids = self.company_due if credit_code else self.own_due
        return [(n, cert(n)) for n in ids if n not in self.cancelled]

    async def open_orders_and_invoice(
        self, payer: ChatUserId
    ) -> tuple[list[Order], InvoiceDetails | None]:
        return [o for o in self.orders if o.payer == payer], InvoiceDetails("抬头")

    async def create_order(self, order: Order) -> Order:
        ordered = {i.enrolment_id for i in order.items}
        self.company_due = [n for n in self.company_due if n not in ordered]
        self.own_due = [n for n in self.own_due if n not in ordered]
        self.orders.append(order)
        return order

    async def set_pay_url(self, number: str, url: str) -> None:
        return None

    async def cancel_unpaid(self, enrolment_id: int, actor: ChatUserId, at: datetime) -> bool:
        self.cancelled.append(enrolment_id)
        return True


class FakeProvider:
    name = "fake"

    async def create(self, number: str, amount: int, description: str, until: datetime) -> str:
        return f"https://pay.example/{number}"


def use_case(kind: type, bindings: FakeBindings, store: FakeStore) -> Any:
    numbers = iter(f"JJ{n}" for n in range(100))
    return kind(bindings, store, Fees(30000), FakeProvider(), FixedClock(), lambda _: next(numbers))


async def test_the_order_holds_only_the_picked_enrolments_and_their_amount():
    store = FakeStore(company_due=[1, 2, 3])
    place = use_case(PlaceOrder, FakeBindings(enterprise=COMPANY), store)
    order = await place(ME, COMPANY.credit_code, only={1, 3})
    assert [i.enrolment_id for i in order.items] == [1, 3] and order.amount_fen == 60000
    assert store.company_due == [2]


async def test_a_second_tap_on_the_same_pick_shows_the_same_order():
    store = FakeStore(company_due=[1, 2])
    place = use_case(PlaceOrder, FakeBindings(enterprise=COMPANY), store)
    first = await place(ME, COMPANY.credit_code, only={1})
    again = await place(ME, COMPANY.credit_code, only={1})
    assert again.number == first.number and len(store.orders) == 1


async def test_the_company_comes_first_and_the_own_bill_is_offered_beside_it():
    both = FakeBindings(enterprise=COMPANY, person=PERSON)
    show = use_case(ShowBill, both, FakeStore(company_due=[1], own_due=[2]))
    bill = await show(ME)
    assert bill.channel is Channel.ENTERPRISE and bill.others == (Channel.INDIVIDUAL,)
    own = await show(ME, Channel.INDIVIDUAL)
    assert [i.enrolment_id for i in own.items] == [2] and own.enterprise is None
    assert own.others == (Channel.ENTERPRISE,)


async def test_with_nothing_due_for_the_company_the_own_bill_is_shown_without_asking():
    both = FakeBindings(enterprise=COMPANY, person=PERSON)
    bill = await use_case(ShowBill, both, FakeStore(own_due=[2]))(ME)
    assert bill.channel is Channel.INDIVIDUAL and bill.others == ()


async def test_a_trainee_who_is_no_contact_cannot_ask_for_the_company_bill():
    show = use_case(ShowBill, FakeBindings(person=PERSON), FakeStore(company_due=[1]))
    with pytest.raises(PaymentRefused) as refused:
        await show(ME, Channel.ENTERPRISE)
    assert refused.value.code == "not_bound"


async def test_the_own_order_of_a_contact_needs_no_credit_code_and_holds_only_their_own():
    store = FakeStore(company_due=[1], own_due=[2])
    place = use_case(PlaceOrder, FakeBindings(enterprise=COMPANY, person=PERSON), store)
    order = await place(ME, None, channel=Channel.INDIVIDUAL, only={2})
    assert order.channel is Channel.INDIVIDUAL and order.enterprise_credit_code is None
    assert [i.enrolment_id for i in order.items] == [2] and store.company_due == [1]


async def test_only_an_enrolment_due_for_this_payer_can_be_removed():
    store = FakeStore(company_due=[1])
    remove = use_case(RemoveEnrolment, FakeBindings(enterprise=COMPANY), store)
    assert (await remove(ME, 1)).enrolment_id == 1
    for not_mine in (1, 2):  # already removed; never due for this payer
        with pytest.raises(PaymentRefused) as refused:
            await remove(ME, not_mine)
        assert refused.value.code == "cannot_remove"
    assert store.cancelled == [1]


async def test_an_enrolment_in_an_open_order_cannot_be_removed():
    store = FakeStore(company_due=[1, 2])
    bindings = FakeBindings(enterprise=COMPANY)
    await use_case(PlaceOrder, bindings, store)(ME, COMPANY.credit_code, only={1})
    with pytest.raises(PaymentRefused):
        await use_case(RemoveEnrolment, bindings, store)(ME, 1)
    assert store.cancelled == []


async def test_a_removal_that_lost_the_race_to_an_order_is_refused():
    store = FakeStore(company_due=[1])

    async def too_late(enrolment_id: int, actor: ChatUserId, at: datetime) -> bool:
        return False

    store.cancel_unpaid = too_late  # type: ignore[method-assign]
    with pytest.raises(PaymentRefused):
        await use_case(RemoveEnrolment, FakeBindings(enterprise=COMPANY), store)(ME, 1)


class _Profiles:
    def __init__(self) -> None:
        self.saved: list[object] = []

    async def save_invoice_profile(self, payer: object, details: object) -> None:
        self.saved.append(details)


async def test_an_invoice_email_longer_than_any_address_is_refused_as_a_bad_email():
    from domain.checkout import SaveInvoiceDetails

    profiles = _Profiles()
    save = SaveInvoiceDetails(profiles)  # type: ignore[arg-type]
    with pytest.raises(PaymentRefused) as refused:
        await save(ChatUserId(1), "某公司", None, "x@" + "y" * 300 + ".com")
    assert refused.value.code == "bad_email" and profiles.saved == []
    await save(ChatUserId(1), "某公司", None, "li@example.com")
    assert len(profiles.saved) == 1
