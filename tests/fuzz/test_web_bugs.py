"""Web bugs the fuzz suite found, one test each, on the exact request that showed it.

All ten were fixed in 18944d9; the tests stay as regression tests and say what the bug was. A
new bug goes here as a strict xfail with a "BUG:" reason, and into web.KNOWN_500 (or
KNOWN_NOT_JSON) so that the fuzzers tolerate it and keep looking; both come off with the fix."""

from __future__ import annotations

import re

import pytest

from infra.db.study_models import FaceProfile
from tests.fuzz.conftest import ATTACKER, VICTIM, H, Site, changed_tables, snapshot
from tests.fuzz.hostile import png_bomb, png_header_only


# Found by the fuzz suite, fixed in 18944d9: a JSON body declaring an unknown charset raises
# LookupError in request.json() (webview/views.py auth_with_init_data, webview/study.py _json): a
# 500
async def test_a_json_body_in_an_unknown_charset_is_a_4xx(site: Site):
    headers = {"Content-Type": "application/json; charset=bogus"}
    auth = await site.as_user(None).post("/app/auth", data=b'{"init_data": "x"}', headers=headers)
    body = f'{{"enrolment": {site.world.attacker_enrolment}}}'.encode()
    opened = await site.as_user(ATTACKER).post(
        "/app/api/study/open", data=body, headers={**H, **headers}
    )
    assert (auth.status, opened.status) == (400, 400)


# Found by the fuzz suite again when the sandbox's JSAPI checkout came (webview/payments.py
# sandbox_jsapi_pay caught ValueError, not LookupError): a 500. Every JSON body is read through
# webview/bodies.py now.
async def test_a_jsapi_checkout_in_an_unknown_charset_is_a_4xx(site: Site):
    headers = {"Content-Type": "application/json; charset=bogus"}
    paid = await site.as_user(None).post(
        "/sandbox/jsapi/pay", data=b'{"bridge": {}, "openid": "o"}', headers=headers
    )
    assert paid.status in (400, 404)


# Found by the fuzz suite, fixed in 18944d9: deeply nested JSON raises RecursionError in
# json.loads, which neither webview/study.py _json nor webview/views.py auth_with_init_data catch:
# a 500
async def test_deeply_nested_json_is_a_4xx(site: Site):
    nested = b"[" * 100_000 + b"]" * 100_000
    headers = {"Content-Type": "application/json"}
    auth = await site.as_user(None).post("/app/auth", data=nested, headers=headers)
    started = await site.as_user(ATTACKER).post(
        "/app/api/exam/start", data=nested, headers={**H, **headers}
    )
    assert (auth.status, started.status) == (400, 400)


# Found by the fuzz suite, fixed in 18944d9: webview/study.py _id accepts str.isdigit() digits such
# as '²' that int() refuses: ValueError, a 500, on every route with an id in the path, query or
# body
async def test_unicode_digits_in_an_id_are_a_404(site: Site):
    client = site.as_user(VICTIM)
    answers = [
        await client.post("/app/api/exam/attempt/%C2%B2/submit", headers=H),
        await client.get("/app/api/study/progress?enrolment=%C2%B2"),
        await client.post("/app/api/study/open", json={"enrolment": "²"}, headers=H),
        await client.get("/app/receipt/%C2%B2.png"),
    ]
    assert [a.status for a in answers] == [404, 404, 404, 404]


# Found by the fuzz suite, fixed in 18944d9: hmac.compare_digest raises TypeError for non-ASCII
# strings: a receipt token (infra/signing.py unseal via /verify/{token}), an initData hash
# (aiogram's check_webapp_signature via /app/auth) or an X-Sandbox-Signature header
# (infra/payments/sandbox.py parse_notification) with a non-ASCII character is a 500
async def test_non_ascii_signatures_and_tokens_are_refused(site: Site):
    client = site.as_user(None)
    verify = await client.get("/verify/JJ1.%C3%A9")
    auth = await client.post("/app/auth", json={"init_data": "user=%7B%7D&hash=%C3%A9"})
    notify = await client.post(
        "/pay/notify/sandbox",
        data=b"{}",
        headers={"X-Sandbox-Signature": "é", "X-Sandbox-Timestamp": "1"},
    )
    assert verify.status in {200, 404} and 'data-status="invalid"' in await verify.text()
    assert (auth.status, notify.status) == (401, 401)


# Found by the fuzz suite, fixed in 18944d9: an upload whose PNG header declares more than 2^30
# pixels makes cv2.imdecode raise cv2.error (infra/faces/engine.py decode_image,
# infra/faces/liveness.py fingerprint), which is no FaceRefused: a 500
async def test_an_image_declaring_billions_of_pixels_is_refused(site: Site):
    bomb = png_header_only(70_000, 70_000)  # 200 bytes on the wire
    photo = await site.as_user(ATTACKER).post("/app/api/study/photo", data=bomb, headers=H)
    check = await site.as_user(VICTIM).post(
        f"/app/api/study/checks/{site.world.victim_check}", data=bomb, headers=H
    )
    # Since issue 15 the header alone refuses it, as larger than any photo.
    assert photo.status == 422 and (await photo.json())["reason"] == "too_large"
    assert check.status == 200 and (await check.json())["reason"] == "too_large"


def _peak_rss_kb() -> int:
    status = open("/proc/self/status").read()
    return int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]


def _reset_peak_rss() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pytest.skip("the peak memory of this process cannot be reset here (Linux, as root)")


# Found by the fuzz suite, fixed in 18944d9: no pixel limit before decoding (infra/faces/engine.py
# decode_image decodes, then shrinks to max_side): a 0.2 MB PNG of 12000x12000 pixels costs ~0.5 GB
# of memory per request; 30000x30000 (1.5 MB, under cv2's 2^30 pixel cap) costs ~3.6 GB, so a few
# concurrent uploads get the process killed
async def test_a_decompression_bomb_is_refused_before_it_is_decoded(site: Site):
    bomb = png_bomb(12_000, 12_000)
    assert len(bomb) < 300_000
    client = site.as_user(ATTACKER)
    before = await snapshot()
    _reset_peak_rss()
    baseline = _peak_rss_kb()
    response = await client.post("/app/api/study/photo", data=bomb, headers=H)
    grown_mb = (_peak_rss_kb() - baseline) // 1024
    assert response.status == 422, response.status
    assert changed_tables(before, await snapshot()) == []
    assert (await FaceProfile.get(chat_user_id=ATTACKER)).photo_path is None
    assert grown_mb < 150, f"decoding the bomb took {grown_mb} MB"


# Found by the fuzz suite, fixed in 18944d9: webview/study.py _frames calls request.multipart() and
# reads parts unguarded: a multipart Content-Type without a boundary, an empty one, or a body that
# does not match it raises ValueError ('boundary missed', 'Could not find starting boundary',
# 'Reading after EOF'): a 500 on /app/api/study/checks/{id}
async def test_a_malformed_multipart_answer_is_a_400(site: Site):
    client = site.as_user(VICTIM)
    path = f"/app/api/study/checks/{site.world.victim_check}"
    statuses = []
    for content_type, body in (
        ("multipart/form-data", b"x"),
        ("multipart/form-data; boundary=", b"x"),
        ("multipart/form-data; boundary=zz", b"no parts at all"),
        ("multipart/mixed; boundary=zz", b"--zz\r\n\r\n"),
    ):
        response = await client.post(path, data=body, headers={**H, "Content-Type": content_type})
        statuses.append(response.status)
    assert statuses == [400, 400, 400, 400]


# Found by the fuzz suite, fixed in 18944d9: a body over client_max_size on an /api/ route is
# aiohttp's text/plain 413 (webview/middlewares.py errors re-raises every HTTPException but
# 404/405), not the JSON every other API answer is
async def test_an_oversized_body_on_the_api_is_a_json_413(site: Site):
    response = await site.as_user(ATTACKER).post(
        "/app/api/study/photo", data=b"\xff" * (8 * 1024 * 1024 + 1), headers=H
    )
    assert response.status == 413
    assert response.content_type == "application/json"


# Found by the fuzz suite, fixed in 18944d9: /static/ with a file name over 255 bytes makes
# aiohttp's static handler raise OSError(ENAMETOOLONG), which webview/middlewares.py errors turns
# into a 500
async def test_a_very_long_static_file_name_is_a_404(site: Site):
    response = await site.as_user(None).get("/static/" + "a" * 300)
    assert response.status == 404


# Found by the fuzz suite, fixed in 18944d9: webview/middlewares.py security_headers skips paths
# starting with '/_local/' but not '/_local' itself, whose redirect is answered by the local chat
# sub-app: request.app[keys.CONFIG] raises KeyError and the server drops the connection
async def test_the_local_chat_page_without_its_slash_answers(site: Site):
    response = await site.as_user(None).get("/_local", allow_redirects=False)
    assert response.status in {301, 302}
