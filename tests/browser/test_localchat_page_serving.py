"""How the local chat page is served: the mount point, its assets and the security headers."""

from aiohttp import ClientSession, web
from yarl import URL

from localchat.page import add_page_routes
from tests.browser.conftest import LiveServer


def make_app() -> web.Application:
    sub = web.Application()
    add_page_routes(sub)
    root = web.Application()
    root.add_subapp("/_local", sub)
    return root


async def test_the_page_lives_under_the_mount_point_with_a_strict_csp(
    live_server: LiveServer,
) -> None:
    base = await live_server(make_app())
    async with ClientSession() as http, http.get(f"{base}/_local") as response:
        html = await response.text()
        csp = response.headers["Content-Security-Policy"]
        path = response.url.path

    assert path == "/_local/"
    assert 'src="/_local/static/app.js"' in html
    assert "{{base}}" not in html
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp


async def test_assets_are_served_and_nothing_else_from_the_folder(
    live_server: LiveServer,
) -> None:
    base = await live_server(make_app())
    async with ClientSession() as http:
        async with http.get(f"{base}/_local/static/app.js") as script:
            assert script.status == 200
            assert "javascript" in script.headers["Content-Type"]
            assert script.headers["Cache-Control"] == "no-cache"
        async with http.get(f"{base}/_local/static/index.html") as template:
            assert template.status == 404
        escaping = URL(f"{base}/_local/static/..%2Fpage.py", encoded=True)
        async with http.get(escaping) as outside:
            assert outside.status == 404
