"""The manual's rules only for the certificates it writes them for (domain.certrules): a C
certificate long past its expiry is not voided by us, an A/B one is."""

from __future__ import annotations

from datetime import timedelta

from domain.calendar import add_months
from tests.bot.test_enrolment import identify, last_markup_message
from tests.conftest import BotHarness
from tests.support import registry, updates
from tests.support.clock import TODAY

LUO = updates.user(100061, "罗六")


async def test_a_c_certificate_four_months_past_expiry_can_still_be_enrolled(
    harness: BotHarness,
):
    person = await registry.person(61, "罗六", "13800000061")
    long_ago = add_months(TODAY, -4) - timedelta(days=1)
    await registry.certificate(person, "云建安C(2022)0000061", "safety_c", long_ago)
    await registry.certificate(person, "云建安B(2022)0000062", "safety_b", long_ago)
    await identify(harness, LUO, registry.id_number(61), "罗六", "13800000061")
    listing = last_markup_message(harness)
    labels = [b.text for row in listing.reply_markup.inline_keyboard for b in row]  # type: ignore[union-attr]
    # The B certificate is void three months after expiry (四（二）2); the C one follows the
    # exam centre's notices (四（三）), so it stays open to continuing education here.
    assert any("C证" in t and not t.startswith("⛔") for t in labels), labels
    assert any("B证" in t and t.startswith("⛔") for t in labels), labels
