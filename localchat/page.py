"""The browser chat page of local mode, served on the `/_local` sub-app."""

import html
import re
from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).parent / "static"

# Mini Apps may live on another local port, and photos may be absolute URLs of the stand-in:
# frames and images allow any http(s) origin, everything else stays on this origin.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob: http: https:",
        "media-src 'self' blob: http: https:",
        "frame-src 'self' http: https:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
    ]
)
_ASSET_NAME = re.compile(r"[A-Za-z0-9_-]+\.(?:js|css|svg|png)")
_PAGE_ROUTE = "localchat-page"
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def add_page_routes(app: web.Application) -> None:
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    assets = {path.name for path in STATIC_DIR.iterdir() if _ASSET_NAME.fullmatch(path.name)}

    async def chat_page(request: web.Request) -> web.Response:
        base = str(request.app.router[_PAGE_ROUTE].url_for())
        body = template.replace("{{base}}", html.escape(base, quote=True))
        return web.Response(
            text=body,
            content_type="text/html",
            headers={
                "Content-Security-Policy": CONTENT_SECURITY_POLICY,
                "Cache-Control": "no-cache",
                **_SECURITY_HEADERS,
            },
        )

    async def to_page(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.app.router[_PAGE_ROUTE].url_for())

    # Assets are few and flat; a whitelist keeps paths out of the file system lookup, and
    # `no-cache` makes the browser revalidate so an edited script shows up on reload.
    async def asset(request: web.Request) -> web.FileResponse:
        name = request.match_info["name"]
        if name not in assets:
            raise web.HTTPNotFound()
        return web.FileResponse(
            STATIC_DIR / name, headers={"Cache-Control": "no-cache", **_SECURITY_HEADERS}
        )

    app.router.add_get("/", chat_page, name=_PAGE_ROUTE)
    app.router.add_get("", to_page)
    app.router.add_get("/static/{name}", asset, name="localchat-asset")
