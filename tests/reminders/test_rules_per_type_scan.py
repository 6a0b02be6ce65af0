"""The scanner voids only the certificates the manual voids (四（二）2: AB证, 现场专业人员), and
does not warn the others of a void date the manual does not give them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.calendar import add_months
from infra.db import models
from tests.reminders import world
from tests.support.clock import TODAY, FixedClock


@pytest.fixture
def transport() -> world.RecordingTransport:
    return world.RecordingTransport()


async def test_c_crane_and_rigger_certificates_are_not_voided_three_months_after_expiry(
    database, clock: FixedClock, i18n, transport
):
    expired = add_months(TODAY, -3)  # an A/B certificate is void from today (R-CERT-2)
    b = await world.trainee(1, expired, cert_type="safety_b")
    others = [
        await world.trainee(n, expired, cert_type=cert_type)
        for n, cert_type in [(2, "safety_c"), (3, "tower_crane"), (4, "rigger"), (5, "special_ops")]
    ]
    report = await world.scanner(clock)()
    assert report.voided == 1
    await world.sender(i18n, clock, transport)()

    statuses = {c.number: c.status for c in await models.Certificate.all()}
    assert statuses[b.certificate.number] == "void"
    assert all(statuses[t.certificate.number] == "valid" for t in others)
    assert transport.texts_to(b.chat_id)
    for trainee in others:
        assert not any("void" in text for text in transport.texts_to(trainee.chat_id))


async def test_a_c_certificate_is_reminded_of_its_expiry_without_a_void_date(
    database, clock: FixedClock, i18n, transport
):
    expires = add_months(TODAY, 1)  # the "one month before expiry" step is today
    # 7 days before the void date of an A/B certificate expired ~3 months ago is a warning step.
    near_void = add_months(TODAY + timedelta(days=7), -3)
    c = await world.trainee(1, expires, cert_type="safety_c")
    b = await world.trainee(2, near_void, cert_type="safety_b")
    c_late = await world.trainee(3, near_void, cert_type="safety_c")
    await world.scanner(clock)()
    await world.sender(i18n, clock, transport)()
    [notice] = transport.texts_to(c.chat_id)
    assert "void" not in notice and "examination centre" in notice
    assert any("becomes void" in text for text in transport.texts_to(b.chat_id))
    assert transport.texts_to(c_late.chat_id) == []  # no void warning step of its own
