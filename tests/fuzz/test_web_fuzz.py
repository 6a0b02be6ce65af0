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

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import VICTIM, Site, changed_tables, snapshot
from tests.fuzz.hostile import examples, pick
from tests.fuzz.web import Endpoint, Request, endpoints, judge, requests_for, send, server_errors

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


def _stranger_cookie(site: Site, kind: str, garbage: str) -> str | None:
    if kind == "none":
        return None
    if kind == "garbage":
        return garbage
    if kind == "expired":
        return site.cookie(VICTIM, expired=True)
    if kind == "link_as_session":  # a token made for another purpose
        return site.link(VICTIM)
    # a genuine token with its signature altered
    token = site.cookie(VICTIM)
    return token[:-2] + ("AA" if not token.endswith("AA") else "BB")


def _headers(data: st.DataObject, cookie: str | None, csrf: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if cookie is not None:
        headers["Cookie"] = f"jj_session={cookie}"
    if csrf is not None:
        headers["X-Requested-With"] = csrf
    accept = data.draw(pick(ACCEPTS) | _header_text)
    if accept:
        headers["Accept"] = accept
    language = data.draw(pick(LANGUAGES) | _header_text)
    if language:
        headers["Accept-Language"] = language
    if data.draw(st.booleans()):
        headers["Origin"] = "https://evil.example"
    if data.draw(st.booleans()):
        headers["X-Sandbox-Signature"] = data.draw(_header_text | st.just("é"))
        headers["X-Sandbox-Timestamp"] = data.draw(_header_text | st.just("²"))
    return headers


def _plain(params: dict[str, str]) -> bool:
    """Parameters that keep the path on its route (no separators, no dot segments)."""
    return all(
        re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*", v) and v not in {".", ".."}
        for v in params.values()
    )


def _draw(data: st.DataObject, endpoint: Endpoint, site: Site, *, secrets: bool):
    method, path, body, params = data.draw(
        requests_for(endpoint, site, secrets=secrets),
        label=f"{endpoint.method} {endpoint.template}",
    )
    return method, path, body, params


@FUZZ
@given(data=st.data())
async def test_strangers_get_no_5xx_and_change_nothing(site: Site, data: st.DataObject):
    """No session, a garbage, expired, altered or wrong-purpose session: the same hostile
    request to every route; nothing in the database changes."""
    seen: dict[str, int] = {}
    before = await snapshot()
    with server_errors() as errors:
        for endpoint in endpoints(site.client.app):
            method, path, body, _ = _draw(data, endpoint, site, secrets=False)
            kind = data.draw(pick(["none", "garbage", "expired", "link_as_session", "altered"]))
            cookie = _stranger_cookie(site, kind, data.draw(_header_text))
            headers = _headers(data, cookie, data.draw(pick(CSRF)))
            request = Request(method, path, body, headers)
            answer = await send(site, request, errors)
            judge(request, answer, seen)
            if endpoint.template.startswith("/app/api/") and answer.status < 500:
                assert 400 <= answer.status < 500, f"{request.describe()} -> {answer.status}"
    after = await snapshot()
    assert changed_tables(before, after) == []
