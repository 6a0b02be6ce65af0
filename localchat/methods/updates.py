"""Delivering updates: getUpdates, and webhooks (setWebhook, deleteWebhook, getWebhookInfo and
the loop that posts each update and runs a method the bot answers with)."""

import asyncio
import json
import logging
import re

import aiohttp

from localchat.errors import ApiError, bad_request
from localchat.limits import BOT_API_BODY_LIMIT
from localchat.markup import http_url
from localchat.methods.base import MethodBase
from localchat.model import Json
from localchat.wire import Params, read_form

log = logging.getLogger(__name__)

MAX_POLL_SECONDS = 60
WEBHOOK_TIMEOUT = 60
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class UpdateMethods(MethodBase):
    async def get_updates(self, params: Params) -> list[Json]:
        allowed = params.json("allowed_updates", "can't parse allowed_updates JSON object")
        if allowed is not None and (
            not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed)
        ):
            raise bad_request("can't parse allowed_updates JSON object")
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = min(max(params.integer("timeout") or 0, 0), MAX_POLL_SECONDS)
        return await self.chat.get_updates(params.integer("offset"), limit, timeout, allowed)

    async def set_webhook(self, params: Params) -> bool:
        url = params.text("url") or ""
        if not url:
            return await self.delete_webhook(params)
        if not http_url(url):
            raise bad_request("bad webhook: invalid webhook URL specified")
        secret = params.text("secret_token")
        if secret is not None and not _SECRET_RE.match(secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = params.json("allowed_updates", "can't parse allowed_updates JSON object")
        if allowed is not None:
            if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
                raise bad_request("can't parse allowed_updates JSON object")
            self.chat.set_allowed_updates(allowed)
        if params.flag("drop_pending_updates"):
            self.chat.drop_pending_updates()
        self.chat.webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": min(max(params.integer("max_connections") or 40, 1), 100),
        }
        if params.text("ip_address"):
            self.chat.webhook["ip_address"] = params.text("ip_address")
        self.chat.mark_dirty()
        self.chat.wake_all()  # a pending getUpdates must not keep serving
        self.start_webhook()
        return True

    async def delete_webhook(self, params: Params) -> bool:
        self.chat.webhook = None
        if params.flag("drop_pending_updates"):
            self.chat.drop_pending_updates()
        self.chat.mark_dirty()
        task = self.chat.background.pop("webhook", None)
        if task is not None:
            task.cancel()
        return True

    async def get_webhook_info(self, params: Params) -> Json:
        hook = self.chat.webhook or {}
        info: Json = {
            "url": hook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.chat.updates),
        }
        if hook:
            info["max_connections"] = hook.get("max_connections", 40)
            for key in ("ip_address", "last_error_date", "last_error_message"):
                if hook.get(key) is not None:
                    info[key] = hook[key]
            if self.chat.allowed_updates:
                info["allowed_updates"] = self.chat.allowed_updates
        return info

    def start_webhook(self) -> None:
        task = self.chat.background.get("webhook")
        if self.chat.webhook is None or (task is not None and not task.done()):
            return
        self.chat.background["webhook"] = asyncio.get_running_loop().create_task(
            self._webhook_loop(), name="localchat-webhook"
        )

    async def _webhook_loop(self) -> None:
        config = self.chat.config
        delay = config.webhook_retry_first
        async with aiohttp.ClientSession() as session:
            while (hook := self.chat.webhook) is not None:
                if not self.chat.updates:
                    await self.chat.wait_for_updates(30)
                    continue
                update = self.chat.updates[0]
                error = await self._deliver(session, hook, update)
                if error is None:
                    if self.chat.updates and self.chat.updates[0] is update:
                        self.chat.updates.popleft()
                        self.chat.mark_dirty()
                    self.chat.stats["webhook_deliveries"] += 1
                    delay = config.webhook_retry_first
                    continue
                self.chat.stats["webhook_failures"] += 1
                hook["last_error_date"] = self.chat.now()
                hook["last_error_message"] = error
                await asyncio.sleep(delay)
                delay = min(delay * 2, config.webhook_retry_max)

    async def _deliver(
        self, session: aiohttp.ClientSession, hook: Json, update: Json
    ) -> str | None:
        headers = {"Content-Type": "application/json"}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        body = json.dumps(update, ensure_ascii=False).encode()
        try:
            timeout = aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT)
            async with session.post(hook["url"], data=body, headers=headers,
                                    timeout=timeout) as resp:
                if not 200 <= resp.status < 300:
                    return f"Wrong response from the webhook: {resp.status} {resp.reason}"
                await self._run_webhook_reply(resp)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return f"Connection failed: {exc.__class__.__name__}: {exc}"
        return None

    async def _run_webhook_reply(self, resp: aiohttp.ClientResponse) -> None:
        # Telegram executes a method a webhook answers with, and ignores its outcome.
        if not resp.headers.get("Content-Type"):
            return
        try:
            values, uploads = await read_form(resp.headers, resp.content, BOT_API_BODY_LIMIT)
            method = values.get("method")
            if isinstance(method, str) and method.lower() != "getupdates":
                await self.call(method, Params(values, uploads))
        except ApiError as exc:
            log.info("localchat: method in webhook reply failed: %s", exc.description)
