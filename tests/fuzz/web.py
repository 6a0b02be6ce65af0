"""Driving the web app with hostile requests: which routes exist, what to fill them with, how
to send bytes exactly as given, and which 500s are already known (each has an xfail test)."""

from __future__ import annotations

import asyncio
import json
import re
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from urllib.parse import quote

import aiohttp
import yarl
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from hypothesis import strategies as st

from tests.conftest import TEST_TOKEN
from tests.fuzz.conftest import ATTACKER, VICTIM, Site
from tests.fuzz.hostile import (
    MALFORMED_JSON,
    NOT_IMAGES,
    SMALL_JPEG,
    hostile_text,
    json_objects,
    json_values,
    pick,
)
from tests.support.logs import ErrorRecords, collecting

PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


@dataclass(frozen=True)
class Endpoint:
    method: str  # "*" for any method
    template: str  # the canonical path, {name} for each parameter

    @property
    def guarded_post(self) -> bool:
        """State-changing requests of the Mini App: they must carry X-Requested-With."""
        return self.method == "POST" and self.template.startswith("/app/api/")


def endpoints(app: web.Application) -> list[Endpoint]:
    """Every route the app serves, sub-apps included, so a new route is fuzzed without a
    change here."""
    found: list[Endpoint] = []
    for route in app.router.routes():
        resource = route.resource
        if resource is None:
            continue
        template = resource.canonical
        if isinstance(resource, web.StaticResource):
            template = template.rstrip("/") + "/{filename}"
        endpoint = Endpoint(route.method, template)
        if endpoint not in found:
            found.append(endpoint)
    return found


# ---- what to put in a path, a query, a body, the headers ---------------------------------

SEGMENTS = [
    "0",
    "-1",
    "00001",
    "1.0",
    "1e3",
    "0x1f",
    "+1",
    "%201",
    "9" * 19,
    "9" * 40,
    "9" * 5000,
    "..",
    "%2e%2e",
    "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "..%2f..%2f..%2f..%2fetc%2fpasswd",
    "%252e%252e%252f",
    "..%5c..%5cwin.ini",
    "%00",
    "%0d%0aSet-Cookie:%20x=1",
    "%C0%AE%C0%AE%C0%AF",
    "%E2%80%AE",
    "%F0%9F%92%A5",
    "%C2%B2",  # "²": a digit to str.isdigit(), not to int()
    "%D9%A1%D9%A2",  # Arabic-Indic "12"
    "%EF%BC%91",  # full-width "1"
    "null",
    "undefined",
    "NaN",
    "%7B%7D",
    "a" * 300,
    "%",
    "%zz",
]
TRAVERSALS = [
    "../../../../etc/passwd",
    "..%2f..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/webview/app.py",
    "css/../../app.py",
    "js/../../../webview/app.py",
    "....//....//etc/passwd",
    "%2e%2e%5c%2e%2e%5capp.py",
    "/etc/passwd",
]
MAX_REQUEST_LINE = 8190  # aiohttp's max_line_size
LEAKS = (b"root:x:0:0", b"from __future__ import", b"import aiohttp", b"[extensions]")


def _segment_text() -> st.SearchStrategy[str]:
    return hostile_text.map(lambda t: quote(t[:200], safe=""))


def param_values(name: str, site: Site, *, secrets: bool) -> st.SearchStrategy[str]:
    world = site.world
    hostile = pick(SEGMENTS) | _segment_text()
    ids = [
        *world.victim_enrolments,
        world.attacker_enrolment,
        world.victim_attempt,
        world.victim_check,
        world.attacker_check,
        world.victim_receipt,
        VICTIM,
        ATTACKER,
    ]
    real: list[str]
    if name in {
        "attempt_id",
        "check_id",
        "receipt_id",
        "user_id",
        "chat_id",
        "enrolment_id",
        "order_id",
    }:
        real = [str(i) for i in ids]
    elif name == "key":
        real = world.lesson_keys
    elif name == "kind":
        real = ["png", "pdf", "gif", "PNG"]
    elif name == "provider":
        real = ["sandbox", "wechatpay", "alipay"]
    elif name == "number":
        real = [world.order_number, "JJ000000000000000000"]
    elif name == "action":
        real = ["pay", "fail", "pay-twice", "pay-silently", "refund"]
    elif name == "token":
        real = [
            "123:forged",
            world.receipt_token[:-1] + ("A" if world.receipt_token[-1] != "A" else "B"),
            world.receipt_token.split(".")[0],
            "abc.%C3%A9",
        ] + ([world.receipt_token, TEST_TOKEN] if secrets else [])
    elif name == "method":
        # Not getUpdates: it long-polls by design.
        real = ["getMe", "sendMessage", "getFile", "answerCallbackQuery", "close", "logOut"]
    elif name in {"filename", "file_path", "name"}:
        real = ["js/common.js", "css/app.css", "app.js", "index.html", *TRAVERSALS]
    else:
        real = []
    return (pick(real) | hostile) if real else hostile


QUERY_KEYS = ["enrolment", "lang", "token", "t", "result", "next", "after", "kind", "limit"]


def query_strings(site: Site, *, secrets: bool) -> st.SearchStrategy[str]:
    world = site.world
    values = _segment_text() | pick(
        [str(world.victim_enrolments[0]), str(world.attacker_enrolment), "en", "zh_CN", "xx"]
        + SEGMENTS
        + ([world.checkout_token, site.link(VICTIM)] if secrets else [])
        + [site.link(VICTIM, expired=True), site.cookie(VICTIM), "forged.token"]
    )
    pairs = st.lists(
        st.tuples(pick(QUERY_KEYS) | st.text(max_size=6).map(quote), values),
        max_size=3,
    )
    return pairs.map(lambda items: "&".join(f"{quote(k)}={v}" for k, v in items))


CONTENT_TYPES = [
    None,
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=utf-16",
    "application/json; charset=bogus",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/form-data; boundary=",
    "image/jpeg",
    "image/png",
    "a/b/c;;;=",
    "",
]


@dataclass
class Body:
    data: bytes | aiohttp.FormData | None
    content_type: str | None
    label: str


def _multipart(frames: list[tuple[str, str, bytes]]) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, filename, content in frames:
        form.add_field(name, content, filename=filename, content_type="image/jpeg")
    return form


# Smaller than test_web_edges' uploads: an example sends a body to every route, and hypothesis
# discards an example whose draws pass 8 KiB (most of them did, at 2 KiB per upload).
_uploads = st.one_of(
    pick(NOT_IMAGES),
    st.binary(max_size=128),
    st.builds(lambda cut: SMALL_JPEG[:cut], st.integers(0, len(SMALL_JPEG))),
)


def bodies(site: Site) -> st.SearchStrategy[Body]:
    world = site.world
    real_ids = pick([*world.victim_enrolments, world.attacker_enrolment, world.victim_attempt])
    plausible = st.fixed_dictionaries(
        {"enrolment": real_ids | json_values},
        optional={
            "lesson": pick(world.lesson_keys) | json_values,
            "question": json_values,
            "options": st.lists(hostile_text, max_size=12) | json_values,
            "init_data": hostile_text | json_values,
        },
    )
    filenames = pick([*TRAVERSALS, "selfie.jpg", "", "a" * 500, "x%00.jpg", "é.jpg"])
    frame = st.tuples(pick(["before", "after", "photo", ""]), filenames, _uploads)
    return st.one_of(
        st.just(Body(None, None, "none")),
        st.builds(
            lambda v, ct: Body(json.dumps(v).encode(), ct, "json"),
            json_values | json_objects | plausible,
            pick(CONTENT_TYPES),
        ),
        st.builds(
            lambda b, ct: Body(b, ct, "malformed"),
            pick(MALFORMED_JSON),
            pick(CONTENT_TYPES),
        ),
        st.builds(
            lambda b, ct: Body(b, ct, "upload"),
            _uploads,
            pick(CONTENT_TYPES),
        ),
        st.builds(lambda f: Body(_multipart(f), None, "multipart"), st.lists(frame, max_size=3)),
        st.builds(
            lambda t: Body(t.encode("utf-8", "surrogatepass"), "text/plain", "text"), hostile_text
        ),
    )


METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


@dataclass
class Request:
    method: str
    path: str  # raw, sent as is
    body: Body
    headers: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        headers = {k: v[:60] for k, v in self.headers.items()}
        return f"{self.method} {self.path[:300]} body={self.body.label} headers={headers}"


def fill(template: str, values: dict[str, str]) -> str:
    return PARAM.sub(lambda m: values[m.group(1)], template)


def requests_for(
    endpoint: Endpoint, site: Site, *, secrets: bool
) -> st.SearchStrategy[tuple[str, str, Body, dict[str, str]]]:
    """(method, path with query, body, path parameters) for one endpoint."""
    names = PARAM.findall(endpoint.template)
    params = st.fixed_dictionaries(
        {name: param_values(name, site, secrets=secrets) for name in names}
    )
    own = endpoint.method if endpoint.method != "*" else "POST"
    methods = pick([own] * 6 + METHODS + ["PROPFIND"])
    return st.builds(
        lambda m, p, q, b: (m, fill(endpoint.template, p) + (f"?{q}" if q else ""), b, p),
        methods,
        params,
        query_strings(site, secrets=secrets),
        bodies(site),
    )


# ---- sending and judging ---------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes
    exception: BaseException | None  # what the server logged for a 5xx


class ServerErrors(ErrorRecords):
    """Exceptions the app logged while answering (the error middleware logs each 500)."""

    def take(self) -> BaseException | None:
        found = None
        for record in self.records:
            if record.exc_info and record.exc_info[1] is not None:
                found = record.exc_info[1]
        self.records.clear()
        return found


def server_errors() -> AbstractContextManager[ServerErrors]:
    return collecting(ServerErrors(), ("webview.middlewares", "aiohttp.server", "aiohttp"))


async def send(site: Site, request: Request, errors: ServerErrors) -> Answer:
    client = site.client
    client.session.cookie_jar.clear()
    url = yarl.URL(f"http://{client.host}:{client.port}{request.path}", encoded=True)
    headers = dict(request.headers)
    if request.body.content_type is not None:
        headers["Content-Type"] = request.body.content_type
    errors.take()
    async with asyncio.timeout(30):
        try:
            async with client.session.request(
                request.method,
                url,
                data=request.body.data,
                headers=headers,
                allow_redirects=False,
            ) as response:
                body = await response.read()
                return Answer(response.status, response.content_type, body, errors.take())
        except aiohttp.ServerDisconnectedError:
            # No answer at all, the connection dropped: worse than a 500, judged like one.
            return Answer(599, "", b"", errors.take())
        except (aiohttp.ClientResponseError, HttpProcessingError) as refusal:
            # aiohttp's server answers a request line over its 8190-byte limit with a 400 and
            # closes; the client cannot read that answer. A refusal, not a failure.
            status = getattr(refusal, "status", None) or getattr(refusal, "code", None)
            if len(str(url)) > 8190 and status == 400:
                return Answer(400, "", b"", errors.take())
            raise


# 500s (and non-JSON API answers) of bugs still open, by exception type and words of its
# message, each with its strict xfail test in test_web_bugs.py: tolerated by the fuzzers (and
# counted) so that they keep looking for new ones; take an entry out when its fix lands. The
# ten web bugs this suite found were fixed in 18944d9; their tests are regression tests now.
KNOWN_500: dict[tuple[str, str], str] = {}
KNOWN_NOT_JSON: dict[int, str] = {}


def known_500(exception: BaseException | None) -> str | None:
    if exception is None:
        return None
    for (kind, words), test in KNOWN_500.items():
        if type(exception).__name__ == kind and words in str(exception):
            return test
    return None


def judge(request: Request, answer: Answer, seen: dict[str, int]) -> None:
    """What holds for every answer: no unknown 5xx, JSON from the API, no leaked files."""
    what = f"{request.describe()} -> {answer.status}"
    if answer.status >= 500:
        known = known_500(answer.exception)
        assert known is not None, f"{what}: {answer.exception!r}"
        seen[known] = seen.get(known, 0) + 1
        return
    for leak in LEAKS:
        assert leak not in answer.body, f"{what} leaked {leak!r}"
    assert b"Traceback (most recent call last)" not in answer.body, what
    path = request.path.split("?")[0]
    speaks_json = "/api/" in path or path.startswith("/_local/bot")
    # A request line over aiohttp's 8190 bytes is refused by the HTTP parser, before any route
    # or middleware, with a plain 400: the server's limit, as with every web server.
    parsed = len(request.path.encode()) + len(request.method) + 10 <= MAX_REQUEST_LINE
    if speaks_json and parsed and request.method != "HEAD" and answer.body:
        if answer.status in KNOWN_NOT_JSON and answer.content_type != "application/json":
            seen[KNOWN_NOT_JSON[answer.status]] = seen.get(KNOWN_NOT_JSON[answer.status], 0) + 1
            return
        assert answer.content_type == "application/json", f"{what}: {answer.content_type}"
        json.loads(answer.body)
