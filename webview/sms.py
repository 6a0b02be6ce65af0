"""Local mode only: the SMS sandbox's messages, so a person walking the app (or a test driving
it) can read the code a phone was sent. Never routed outside local mode."""

from __future__ import annotations

from aiohttp import web

from domain.phone_codes import mainland_mobile
from infra.sms.sandbox import SandboxSms

PATH = "/_local/api/sms/messages"


def add_local_sms_routes(app: web.Application, sandbox: SandboxSms) -> None:
    async def messages(request: web.Request) -> web.Response:
        raw = request.query.get("phone", "")
        phone = mainland_mobile(raw)
        if phone is None:
            return web.json_response(
                {"error": "give ?phone= an 11-digit mobile number"}, status=400
            )
        return web.json_response(
            {
                "phone": phone,
                "messages": [
                    {
                        "code": m.code,
                        "locale": m.locale.value,
                        "sent_at": m.sent_at.isoformat(),
                    }
                    for m in sandbox.to(phone)
                ],
            }
        )

    app.router.add_get(PATH, messages)
