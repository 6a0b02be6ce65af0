"""One pending application per enrolment on PostgreSQL, where requests do run side by side:
the Mini App form sent five times at once (a double tap on a slow network, two phones)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from infra.db import models, open_database
from tests.conftest import BotHarness
from tests.support.clock import FixedClock
from tests.web.test_application_form import ZHOU, H, Site, form, overdue, png, site, staff_pdfs

__all__ = ["site"]  # the fixture, here on PostgreSQL

pytestmark = pytest.mark.postgres


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[str]:
    context = await open_database(postgres_url)
    yield postgres_url
    await context.close_connections()


async def test_five_forms_at_once_file_one_application(
    site: Site, harness: BotHarness, clock: FixedClock
):
    enrolment = await overdue(41, "周四一", ZHOU, clock)
    client = site.as_user(ZHOU)
    responses = await asyncio.gather(
        *(
            client.post("/app/api/apply", data=form(enrolment.id, signature=png()), headers=H)
            for _ in range(5)
        )
    )
    assert sorted(r.status for r in responses) == [200, 409, 409, 409, 409]
    assert await models.Application.filter(enrolment_id=enrolment.id).count() == 1
    assert len(staff_pdfs(harness)) == 1
