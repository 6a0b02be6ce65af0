"""Every route of the web app under hostile requests (issue 9).

Whatever arrives (any method, garbage JSON or wrong types in every field, uploads that are no
image, traversal in path parameters, forged or expired sessions, a missing CSRF header), the
answer is below 500, JSON on the API, and no row changes that should not: strangers change
nothing, a trainee never changes another trainee's rows, and a state-changing POST without
`X-Requested-With: jijiao` is refused with 403 and changes nothing.

Routes are enumerated from the app, so a new route is fuzzed the day it is added. A 500 of a bug
still open would be tolerated only by its exception (web.KNOWN_500, with a strict xfail test in
test_web_bugs.py); today there is none.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import VICTIM, Site, changed_tables, snapshot
from tests.fuzz.hostile import examples, pick
from tests.fuzz.web import (
    Body,
    Endpoint,
    Request,
    endpoints,
    judge,
    requests_for,
    send,
    server_errors,
)

pytestmark = pytest.mark.long  # minutes: run first (tests/conftest.py)

FUZZ = settings(
    max_examples=examples(25),  # each example sends one request to every route (~45)
    deadline=None,
    # No shrinking: an example is dozens of requests against a database that keeps what the
    # previous ones did; the report names every request of the failing example instead.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
_header_text = st.text(
    alphabet=string.ascii_letters + string.digits + string.punctuation.replace(";", "") + " ",
    max_size=60,
)
ACCEPTS = [None, "application/json", "text/html", "*/*", "image/*"]
LANGUAGES = [None, "en", "en-US,en;q=0.9", "zh-CN", "xx-YY", "*", ",,,", "e" * 300]
CSRF = [None, "jijiao", "XMLHttpRequest", "JIJIAO", "jijiao, jijiao", "jijiao2", ""]


def _stranger_cookie(site: Site, kind: str) -> str:
    if kind == "expired":
        return site.cookie(VICTIM, expired=True)
    if kind == "link_as_session":  # a token made for another purpose
        return site.link(VICTIM)
    # a genuine token with its signature altered
    token = site.cookie(VICTIM)
    return token[:-2] + ("AA" if not token.endswith("AA") else "BB")


@st.composite
def _other_headers(draw: st.DrawFn) -> dict[str, str]:
    headers: dict[str, str] = {}
    accept = draw(_ACCEPT)
    if accept:
        headers["Accept"] = accept
    language = draw(_LANGUAGE)
    if language:
        headers["Accept-Language"] = language
    if draw(st.booleans()):
        headers["Origin"] = "https://evil.example"
    if draw(st.booleans()):
        headers["X-Sandbox-Signature"] = draw(_header_text | st.just("é"))
        headers["X-Sandbox-Timestamp"] = draw(_header_text | st.just("²"))
    return headers


_ACCEPT = pick(ACCEPTS) | _header_text
_LANGUAGE = pick(LANGUAGES) | _header_text
OTHER_HEADERS = _other_headers()


def _plain(params: dict[str, str]) -> bool:
    """Parameters that keep the path on its route (no separators, no dot segments)."""
    return all(
        re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*", v) and v not in {".", ".."}
        for v in params.values()
    )


def _assemble(
    drawn: tuple[str, str, Body, dict[str, str]],
    cookie: str | None,
    csrf: str | None,
    others: dict[str, str],
) -> tuple[Request, dict[str, str]]:
    method, path, body, params = drawn
    headers = dict(others)
    if cookie is not None:
        headers["Cookie"] = f"jj_session={cookie}"
    if csrf is not None:
        headers["X-Requested-With"] = csrf
    return Request(method, path, body, headers), params


def hostile_requests(
    site: Site,
    kind: str,
    *,
    secrets: bool,
    cookies: st.SearchStrategy[str | None],
    csrf: st.SearchStrategy[str | None],
) -> list[tuple[Endpoint, st.SearchStrategy[tuple[Request, dict[str, str]]]]]:
    """For every route, a strategy of one hostile request to it (and the path parameters it was
    filled with), each drawn as one draw of the test's `data`.

    Build them once per test, not per example: hypothesis validates a strategy object the
    first time it draws from it, and validating these (hundreds of sampled values, nested
    one_of) anew for each of ~45 routes in each example cost minutes of CPU per test. `kind`
    names the cookies and CSRF headers drawn, for the site's cache."""
    if kind in site.strategies:
        return site.strategies[kind]  # type: ignore[no-any-return]
    site.strategies[kind] = routes = [
        (
            endpoint,
            st.builds(
                _assemble,
                requests_for(endpoint, site, secrets=secrets),
                cookies,
                csrf,
                OTHER_HEADERS,
            ),
        )
        for endpoint in endpoints(site.client.app)
    ]
    return routes


def draw_requests(
    data: st.DataObject,
    routes: list[tuple[Endpoint, st.SearchStrategy[tuple[Request, dict[str, str]]]]],
) -> Iterator[tuple[Endpoint, Request, dict[str, str]]]:
    for endpoint, strategy in routes:
        request, params = data.draw(strategy, label=f"{endpoint.method} {endpoint.template}")
        yield endpoint, request, params


@FUZZ
@given(data=st.data())
async def test_strangers_get_no_5xx_and_change_nothing(site: Site, data: st.DataObject):
    """No session, a garbage, expired, altered or wrong-purpose session: the same hostile
    request to every route; nothing in the database changes."""
    seen: dict[str, int] = {}
    before = await snapshot()
    cookies = (
        st.just(None)
        | _header_text
        | pick(["expired", "link_as_session", "altered"]).map(
            lambda kind: _stranger_cookie(site, kind)
        )
    )
    routes = hostile_requests(site, "stranger", secrets=False, cookies=cookies, csrf=pick(CSRF))
    with server_errors() as errors:
        for endpoint, request, _ in draw_requests(data, routes):
            answer = await send(site, request, errors)
            judge(request, answer, seen)
            if endpoint.template.startswith("/app/api/") and answer.status < 500:
                assert 400 <= answer.status < 500, f"{request.describe()} -> {answer.status}"
    after = await snapshot()
    assert changed_tables(before, after) == []
