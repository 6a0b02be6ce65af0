"""The web fuzzer as a signed-in trainee (its own file, so that the two fuzzers, each a few
minutes long, run on two workers side by side): the attacker, or the victim herself, with and
without the CSRF header, aiming at their own and each other's rows. The hostile requests and
their judging are shared with test_web_fuzz.py."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import ATTACKER, VICTIM, Site, changed_tables, snapshot
from tests.fuzz.hostile import pick
from tests.fuzz.test_web_fuzz import CSRF, FUZZ, _plain, draw_requests, hostile_requests
from tests.fuzz.web import judge, send, server_errors

pytestmark = pytest.mark.long  # minutes: run first (tests/conftest.py)

LINE_LIMIT = 8190 - len("POST  HTTP/1.1")


async def _victim_rows(site: Site) -> dict[str, list]:
    rows = await snapshot(
        (
            "face_profile",
            "face_check",
            "face_review",
            "lesson_progress",
            "exam_attempt",
            "binding",
            "application",
        ),
        user_id=VICTIM,
    )
    world = site.world
    everything = await snapshot(("enrolment", "receipt", "exam_event"))
    rows["enrolment"] = [r for r in everything["enrolment"] if r["id"] in world.victim_enrolments]
    rows["receipt"] = everything["receipt"]
    rows["exam_event"] = [
        r for r in everything["exam_event"] if r["attempt_id"] == world.victim_attempt
    ]
    return rows


@FUZZ
@given(data=st.data())
async def test_trainees_get_no_5xx_and_touch_only_their_own_rows(site: Site, data: st.DataObject):
    """Signed-in trainees (the attacker, or the victim herself), with and without the CSRF
    header, aiming at their own and each other's enrolments, attempts, checks and receipts."""
    seen: dict[str, int] = {}
    user = data.draw(pick([ATTACKER, VICTIM]), label="user")
    victim_before = await _victim_rows(site)
    with server_errors() as errors:
        routes = hostile_requests(
            site,
            f"trainee {user}",
            secrets=True,
            cookies=st.just(site.cookie(user)),
            csrf=pick(["jijiao", "jijiao", *CSRF]),  # mostly past the guard
        )
        for endpoint, request, params in draw_requests(data, routes):
            csrf = request.headers.get("X-Requested-With")
            guarded = endpoint.guarded_post and request.method == "POST" and csrf != "jijiao"
            before = await snapshot() if guarded else None
            answer = await send(site, request, errors)
            judge(request, answer, seen)
            if before is not None:
                assert changed_tables(before, await snapshot()) == [], request.describe()
                expected = {403} if _plain(params) else {403, 404, 405}
                if len(request.path) > LINE_LIMIT:
                    # aiohttp's parser refuses a request line over 8190 bytes before any route
                    # (or guard) sees it: a refusal too, and nothing changed (checked above).
                    expected.add(400)
                assert answer.status in expected, f"{request.describe()} -> {answer.status}"
    if user == ATTACKER:
        assert await _victim_rows(site) == victim_before
