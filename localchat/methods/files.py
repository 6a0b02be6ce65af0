"""Files: sendPhoto, sendDocument, sendVoice, sendMediaGroup (an upload, a file_id or an HTTP
URL) and getFile."""

import secrets
from typing import Any

import aiohttp

from localchat.errors import bad_request
from localchat.limits import MAX_DOWNLOAD_BYTES, MAX_PHOTO_BYTES
from localchat.methods.base import MethodBase
from localchat.model import Chat, Json
from localchat.wire import Params, Upload, read_limited


class FileMethods(MethodBase):
    # -- where a file comes from --

    async def media(self, params: Params, name: str) -> tuple[Upload | str, Chat, Json]:
        """Everything a media send needs checked before the flood gate and the file store."""
        chat = self.target(params)
        source = params.file(name)
        if source is None:
            raise bad_request(f"there is no {name} in the request")
        return source, chat, self.caption(params)

    def existing_file(self, file_id: str, kind: str) -> Any:
        record = self.chat.files.get(file_id)
        if record is None:
            if file_id.startswith(("http://", "https://")):
                return None
            raise bad_request("wrong file identifier/HTTP URL specified")
        if record.kind != kind:
            raise bad_request("type of file mismatch")
        return record

    async def fetch_url(self, url: str, limit: int) -> Upload:
        try:
            timeout = aiohttp.ClientTimeout(total=15)
            async with aiohttp.ClientSession(timeout=timeout) as session, \
                    session.get(url) as resp:
                if resp.status != 200:
                    raise bad_request("failed to get HTTP URL content")
                data = await read_limited(resp.content, limit)
                name = url.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or "file"
                return Upload(name, resp.headers.get("Content-Type"), data)
        except (aiohttp.ClientError, TimeoutError, ValueError, OSError):
            raise bad_request("failed to get HTTP URL content") from None

    # -- sending --

    async def send_photo(self, params: Params) -> Json:
        return await self._send_file(params, "photo")

    async def send_document(self, params: Params) -> Json:
        return await self._send_file(params, "document")

    async def send_voice(self, params: Params) -> Json:
        return await self._send_file(params, "voice")

    async def _send_file(self, params: Params, kind: str) -> Json:
        source, chat, caption = await self.media(params, kind)
        markup = self.markup(params, chat)
        reply_to = self.reply_to(params, chat)
        thread_id = self.thread(params, chat, reply_to)
        record = self.existing_file(source, kind) if isinstance(source, str) else None
        self.chat.check_flood(chat)
        if isinstance(source, str) and record is None:
            source = await self.fetch_url(
                source, MAX_PHOTO_BYTES if kind == "photo" else MAX_DOWNLOAD_BYTES
            )
        content: Json
        if kind == "photo":
            if record is not None:
                content = {"photo": self.chat.photo_sizes(record)}
            else:
                assert isinstance(source, Upload)
                content = {"photo": self.chat.store_photo(source.data)}
        elif kind == "document":
            if record is not None:
                content = {"document": record.document()}
            else:
                assert isinstance(source, Upload)
                content = {"document": self.chat.store_document(
                    source.data, source.filename, source.content_type)}
        elif record is not None:
            content = {"voice": record.voice()}
        else:
            assert isinstance(source, Upload)
            duration = max(params.integer("duration") or 0, 0)
            content = {"voice": self.chat.store_voice(source.data, duration,
                                                      source.content_type)}
        content.update(caption)
        return self.send(chat, content, thread_id, reply_to, markup).tg

    async def send_media_group(self, params: Params) -> list[Json]:
        """An album: 2-10 photos (or documents), each its own message with a shared
        media_group_id; uploads come as `attach://<name>` parts, as aiogram sends them."""
        chat = self.target(params)
        media = params.json("media", "can't parse media JSON object")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("parameter \"media\" must be an array of 2-10 items")
        items: list[tuple[str, Upload | str, Json]] = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in ("photo", "document"):
                raise bad_request("unsupported media type in the album")
            reference = item.get("media")
            if not isinstance(reference, str) or not reference:
                raise bad_request("wrong file identifier/HTTP URL specified")
            source: Upload | str = reference
            if reference.startswith("attach://"):
                upload = params.uploads.get(reference.removeprefix("attach://"))
                if upload is None:
                    raise bad_request("wrong file identifier/HTTP URL specified")
                source = upload
            caption = item.get("caption")
            items.append((item["type"], source, {"caption": caption} if caption else {}))
        if len({kind for kind, _, _ in items}) > 1:
            raise bad_request("documents can't be mixed with other media types")
        reply_to = self.reply_to(params, chat)
        thread_id = self.thread(params, chat, reply_to)
        self.chat.check_flood(chat)
        group_id = secrets.token_hex(8)
        sent = []
        for kind, source, caption in items:
            record = self.existing_file(source, kind) if isinstance(source, str) else None
            if isinstance(source, str) and record is None:
                source = await self.fetch_url(source, MAX_PHOTO_BYTES)
            content: Json
            if kind == "photo":
                content = {
                    "photo": self.chat.photo_sizes(record)
                    if record is not None
                    else self.chat.store_photo(source.data)  # type: ignore[union-attr]
                }
            else:
                content = {
                    "document": record.document()
                    if record is not None
                    else self.chat.store_document(
                        source.data, source.filename, source.content_type  # type: ignore[union-attr]
                    )
                }
            content.update(caption)
            content["media_group_id"] = group_id
            sent.append(self.send(chat, content, thread_id, reply_to, None).tg)
        return sent

    # -- reading --

    async def get_file(self, params: Params) -> Json:
        record = self.chat.files.get(params.text("file_id") or "")
        if record is None:
            raise bad_request("invalid file_id")
        if record.file_size > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return record.to_file()
