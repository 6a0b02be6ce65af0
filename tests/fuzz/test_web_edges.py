"""The web app's doors, one by one: CSRF on every state-changing POST, oversized bodies,
uploads that are no photo, forged or expired initData, sign-in links and receipt tokens."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime, timedelta
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.db.study_models import FaceCheck, FaceProfile
from tests.conftest import TEST_TOKEN
from tests.fuzz.conftest import ATTACKER, NEWCOMER, VICTIM, H, Site, changed_tables, snapshot
from tests.fuzz.hostile import (
    NOT_IMAGES,
    SMALL_JPEG,
    examples,
    hostile_text,
    pick,
    png_header_only,
    upload_bodies,
)
from tests.fuzz.web import PARAM, endpoints, fill
from tests.support.webapp import init_data

FUZZ = settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CJK = re.compile(r"[\u4e00-\u9fff]")
MAX_BODY = 8 * 1024 * 1024


def _real_path(site: Site, template: str) -> str:
    """The route with parameters that exist: the victim's attempt and check, and so on."""
    world = site.world
    values = {
        "attempt_id": str(world.victim_attempt),
        "check_id": str(world.victim_check),
        "receipt_id": str(world.victim_receipt),
        "user_id": str(VICTIM),
        "chat_id": str(VICTIM),
        "key": world.lesson_keys[0],
        "kind": "png",
        "provider": "sandbox",
        "number": world.order_number,
        "action": "pay",
        "token": world.receipt_token,
    }
    return fill(template, {name: values.get(name, "x") for name in PARAM.findall(template)})


def _guarded(site: Site) -> list[str]:
    return [e.template for e in endpoints(site.client.app) if e.guarded_post]


async def test_every_state_changing_post_needs_the_csrf_header(site: Site):
    """Whoever is signed in: a POST without `X-Requested-With: jijiao` (a cross-site form,
    a plain fetch, a wrong value) is a 403 and changes no row."""
    guarded = _guarded(site)
    assert len(guarded) >= 8, guarded  # the study and exam APIs
    world = site.world
    bodies = [
        (None, {}),
        (urlencode({"enrolment": world.victim_enrolments[1]}).encode(), {}),
        (
            json.dumps({"enrolment": world.victim_enrolments[1], "lesson": "falls"}).encode(),
            {"Content-Type": "application/json"},
        ),
        (SMALL_JPEG, {"Content-Type": "image/jpeg"}),
    ]
    forged = [{}, {"X-Requested-With": "XMLHttpRequest"}, {"X-Requested-With": "JIJIAO"}]
    for user in (VICTIM, ATTACKER):
        client = site.as_user(user)
        for template in guarded:
            path = _real_path(site, template)
            for data, headers in bodies:
                for csrf in forged:
                    before = await snapshot()
                    response = await client.post(
                        path,
                        data=data,
                        headers={**headers, **csrf, "Origin": "https://evil.example"},
                    )
                    assert response.status == 403, (user, path, csrf, await response.text())
                    assert (await response.json())["error"] == "csrf"
                    assert changed_tables(before, await snapshot()) == [], (user, path)


READS_BODY = {
    "/app/auth",
    "/app/api/study/photo",
    "/app/api/study/checks/{check_id}",
    "/app/api/study/open",
    "/app/api/study/heartbeat",
    "/app/api/exam/start",
    "/app/api/exam/attempt/{attempt_id}/answer",
    "/pay/notify/{provider}",
}


async def test_an_oversized_body_is_refused_and_changes_nothing(site: Site):
    """One byte over the 8 MiB limit, to every POST route, signed in and with the header: no
    5xx anywhere, a 413 wherever the body is read, and a refusal changes nothing."""
    client = site.as_user(ATTACKER)
    posts = [e.template for e in endpoints(site.client.app) if e.method in {"POST", "*"}]
    assert READS_BODY <= set(posts)
    big = b"\xff" * (MAX_BODY + 1)
    for template in posts:
        before = await snapshot()
        response = await client.post(
            _real_path(site, template), data=big, headers={**H, "Content-Type": "image/jpeg"}
        )
        assert response.status < 500, (template, response.status)
        if template in READS_BODY:
            assert response.status == 413, (template, response.status)
        if response.status >= 400:
            assert changed_tables(before, await snapshot()) == [], template


@FUZZ
@given(body=upload_bodies, content_type=pick(["image/jpeg", "application/octet-stream", "x/y"]))
async def test_an_upload_that_is_no_photo_gets_a_clear_refusal(
    site: Site, body: bytes, content_type: str
):
    """Random bytes, truncated JPEGs, PDFs, archives, SVG, tiny or strip images: the
    enrolment photo is refused with a reason in the trainee's language, nothing is stored."""
    response = await site.as_user(ATTACKER).post(
        "/app/api/study/photo", data=body, headers={**H, "Content-Type": content_type}
    )
    assert response.status in {400, 422}, (response.status, await response.text())
    answer = await response.json()
    assert answer["ok"] is False
    if response.status == 422:
        assert answer["reason"] and CJK.search(answer["message"]), answer
    profile = await FaceProfile.get(chat_user_id=ATTACKER)
    assert profile.photo_path is None and profile.consent_at is not None


@FUZZ
@given(
    body=upload_bodies,
    multipart=st.booleans(),
    names=st.tuples(pick(["before", "after", "photo", ""]), pick(["before", "after", "x"])),
)
async def test_a_check_answered_with_no_photo_stays_open(
    site: Site, body: bytes, multipart: bool, names: tuple[str, str]
):
    """A face check answered with something that is no selfie (also as the two frames of a
    head turn): a clear refusal, and the check stays open for a real answer."""
    client = site.as_user(VICTIM)
    path = f"/app/api/study/checks/{site.world.victim_check}"
    if multipart:
        form = aiohttp.FormData()
        for name in names:
            form.add_field(name, body, filename="../../x.jpg", content_type="image/jpeg")
        response = await client.post(path, data=form, headers=H)
    else:
        response = await client.post(path, data=body, headers={**H, "Content-Type": "image/jpeg"})
    assert response.status in {200, 400, 422}, (response.status, await response.text())
    answer = await response.json()
    if response.status == 200:
        assert answer["result"] == "pending" and answer["reason"], answer
        assert CJK.search(answer["message"]), answer
    check = await FaceCheck.get(id=site.world.victim_check)
    assert check.result == "pending" and check.fingerprint is None


async def test_the_server_keeps_serving_after_hostile_uploads(site: Site):
    client = site.as_user(ATTACKER)
    for body in [*NOT_IMAGES, png_header_only(70_000, 70_000), png_header_only(20_000, 20_000)]:
        await client.post("/app/api/study/photo", data=body, headers=H)
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/app/api/me")).status == 200


# ---- initData, sign-in links, receipt tokens ---------------------------------------------


def _signed(user: object, when: datetime, **extra: str) -> str:
    """initData signed with the bot's token, whatever it says."""
    fields = {
        "query_id": "AAH-fuzz",
        "user": user if isinstance(user, str) else json.dumps(user, ensure_ascii=False),
        "auth_date": str(int(when.timestamp())),
        **extra,
    }
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", TEST_TOKEN.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


async def test_initdata_that_is_forged_expired_or_odd_is_a_401(site: Site):
    now = site.clock.now()
    zhang = {"id": VICTIM, "first_name": "张三", "language_code": "zh-hans"}
    genuine = init_data(TEST_TOKEN, zhang, now)
    refused = [
        init_data("7000000001:another-bot", zhang, now),  # signed for another bot
        init_data(TEST_TOKEN, zhang, now - timedelta(hours=2)),  # replayed
        init_data(TEST_TOKEN, zhang, now + timedelta(hours=1)),  # from the future
        genuine.replace("%E5%BC%A0", "%E6%9D%8E"),  # name changed after signing
        genuine.replace(str(VICTIM), str(ATTACKER)),  # someone else's id
        genuine + "&hash=" + "0" * 64,
        re.sub(r"hash=[0-9a-f]+", "hash=", genuine),
        re.sub(r"&?hash=[0-9a-f]+", "", genuine),
        _signed("not json", now),
        _signed({"id": "abc"}, now),
        _signed([1, 2], now),
        _signed(zhang, now, auth_date="yesterday"),
        "",
        "&&&",
        "hash",
        "user=%7B&hash=00",
        "%" * 100,
        "a=" + "b" * 10000,
    ]
    client = site.as_user(None)
    for value in refused:
        response = await client.post("/app/auth", json={"init_data": value})
        assert response.status in {400, 401}, (value[:200], response.status)
        assert (await response.json())["ok"] is False
        assert "jj_session" not in response.cookies
    for body in ({}, {"init_data": None}, {"init_data": 5}, {"init_data": ["x"]}, [], "x", 1):
        response = await client.post("/app/auth", json=body)
        assert response.status == 400, body
    ok = await client.post("/app/auth", json={"init_data": genuine})
    assert ok.status == 200 and (await ok.json())["user_id"] == VICTIM


@FUZZ
@given(value=hostile_text.filter(lambda t: t.isascii()))
async def test_random_initdata_is_refused(site: Site, value: str):
    response = await site.as_user(None).post("/app/auth", json={"init_data": value})
    assert response.status in {400, 401}
    assert "jj_session" not in response.cookies


async def test_sign_in_links_that_are_forged_expired_or_for_another_purpose_are_refused(
    site: Site,
):
    genuine = site.link(VICTIM)
    refused = [
        site.link(VICTIM, expired=True),
        site.cookie(VICTIM),  # a session token is no sign-in link
        genuine[:-1] + ("A" if not genuine.endswith("A") else "B"),
        genuine.split(".")[0],
        "." + genuine.split(".")[1],
        "x.y",
        "",
        "%E9%94%99.%E9%94%99",
        "a" * 5000,
    ]
    client = site.as_user(None)
    for token in refused:
        response = await client.get(f"/app/login?token={token}", allow_redirects=False)
        assert response.status == 401, (token[:80], response.status)
        assert "jj_session" not in response.cookies
        assert CJK.search(await response.text())
    ok = await client.get(f"/app/login?token={genuine}", allow_redirects=False)
    assert ok.status == 302 and "jj_session" in ok.cookies


async def test_forged_receipt_tokens_verify_as_invalid(site: Site):
    token = site.world.receipt_token
    number, _, tag = token.rpartition(".")
    client = site.as_user(None)
    genuine = await client.get(f"/verify/{token}")
    assert genuine.status == 200 and 'data-status="genuine"' in await genuine.text()
    forged = [
        f"{number}.{'A' * len(tag)}",
        f"{number[:-1]}2.{tag}",
        number,
        tag,
        f"{number}.",
        f".{tag}",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "x" * 3000,
    ]
    for value in forged:
        response = await client.get(f"/verify/{value}")
        assert response.status in {200, 404}, (value[:80], response.status)
        if response.status == 200:
            page = await response.text()
            assert 'data-status="invalid"' in page and number not in page, value[:80]


@pytest.mark.parametrize("user", [None, ATTACKER, NEWCOMER])
async def test_another_trainees_things_are_404_not_403(site: Site, user: int | None):
    """Nobody learns whether somebody else's attempt, check or receipt exists."""
    world = site.world
    client = site.as_user(user)
    paths = [
        ("GET", f"/app/api/exam/attempt/{world.victim_attempt}"),
        ("GET", f"/app/exam/attempt/{world.victim_attempt}"),
        ("GET", f"/app/receipt/{world.victim_receipt}.pdf"),
        ("POST", f"/app/api/exam/attempt/{world.victim_attempt}/submit"),
        ("POST", f"/app/api/study/checks/{world.victim_check}"),
        ("GET", f"/app/api/study/progress?enrolment={world.victim_enrolments[0]}"),
        ("GET", f"/app/employees/{world.victim_enrolments[0]}"),
        ("GET", f"/app/employees/{world.victim_enrolments[0]}/receipt.pdf"),
    ]
    before = await snapshot()
    for method, path in paths:
        response = await client.request(
            method, path, headers=H, data=SMALL_JPEG, allow_redirects=False
        )
        expected = {404} if user is not None else {302, 401}
        assert response.status in expected, (user, method, path, response.status)
    assert changed_tables(before, await snapshot()) == []
