"""The HTTP edge shared by the Bot API and the user API: request bodies read under a size limit
(form fields, JSON or multipart), Bot API arguments by type, and JSON replies."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web

from localchat.errors import ApiError, bad_request
from localchat.model import Json


def json_reply(body: Json, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )


# ---- request bodies ---------------------------------------------------------------------


@dataclass
class Upload:
    filename: str | None
    content_type: str | None
    data: bytes


async def read_limited(stream: aiohttp.StreamReader, limit: int) -> bytes:
    # The parent app's client_max_size does not govern a sub-app, so limits are enforced here.
    chunks: list[bytes] = []
    total = 0
    while chunk := await stream.readany():
        total += len(chunk)
        if total > limit:
            raise ApiError(413, "Request Entity Too Large")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(
    headers: Mapping[str, str],
    stream: aiohttp.StreamReader,
    limit: int,
    *,
    json_limit: int | None = None,
) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Form fields (strings, or native values from a JSON body) and uploaded files."""
    content_type = headers.get("Content-Type", "").split(";")[0].strip().lower()
    declared = headers.get("Content-Length", "")
    body_limit = json_limit if json_limit is not None and content_type == "application/json" \
        else limit
    if declared.isdigit() and int(declared) > body_limit:
        raise ApiError(413, "Request Entity Too Large")
    values: dict[str, Any] = {}
    uploads: dict[str, Upload] = {}
    try:
        if content_type.startswith("multipart/"):
            await _read_multipart(headers, stream, limit, values, uploads)
            return values, uploads
        body = await read_limited(stream, body_limit)
        if content_type == "application/json":
            if body.strip():
                parsed = json.loads(body)
                if not isinstance(parsed, dict):
                    raise bad_request("the JSON body must be an object")
                values.update(parsed)
        elif body:
            values.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except ApiError:
        raise
    except (ValueError, UnicodeDecodeError, AssertionError, aiohttp.ClientError) as exc:
        raise bad_request(f"can't parse request body: {exc}") from exc
    return values, uploads


async def _read_multipart(
    headers: Mapping[str, str],
    stream: aiohttp.StreamReader,
    limit: int,
    values: dict[str, Any],
    uploads: dict[str, Upload],
) -> None:
    reader = aiohttp.MultipartReader(headers, stream)
    total = 0
    while True:
        part = await reader.next()
        if part is None:
            return
        if not isinstance(part, aiohttp.BodyPartReader):
            raise bad_request("nested multipart bodies are not supported")
        chunks: list[bytes] = []
        while chunk := await part.read_chunk(65536):
            total += len(chunk)
            if total > limit:
                raise ApiError(413, "Request Entity Too Large")
            chunks.append(chunk)
        if not part.name:
            continue
        data = b"".join(chunks)
        if part.filename is not None:
            uploads[part.name] = Upload(
                part.filename, part.headers.get(aiohttp.hdrs.CONTENT_TYPE), data
            )
        else:
            values[part.name] = data.decode("utf-8")


class Params:
    """Typed access to Bot API arguments, which arrive as JSON text inside form fields."""

    def __init__(self, values: Mapping[str, Any], uploads: Mapping[str, Upload]) -> None:
        self.values = values
        self.uploads = uploads

    def raw(self, name: str) -> Any:
        value = self.values.get(name)
        return None if value == "" else value

    def text(self, name: str) -> str | None:
        value = self.raw(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise bad_request(f'field "{name}" must be of type String')

    def integer(self, name: str) -> int | None:
        value = self.raw(name)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise bad_request(f'field "{name}" must be of type Integer')

    def flag(self, name: str) -> bool:
        value = self.raw(name)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "1", "false", "0"):
            return value.strip().lower() in ("true", "1")
        if isinstance(value, int):
            return value != 0
        raise bad_request(f'field "{name}" must be of type Boolean')

    def json(self, name: str, error: str | None = None) -> Any:
        value = self.raw(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(error or f"can't parse {name} JSON object") from None
        return value

    def file(self, name: str) -> Upload | str | None:
        if name in self.uploads:
            return self.uploads[name]
        value = self.text(name)
        if value is not None and value.startswith("attach://"):
            upload = self.uploads.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            return upload
        return value
