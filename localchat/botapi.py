"""Telegram Bot API methods over the stand-in's state, with Telegram's shapes and error texts."""

import asyncio
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web

from localchat.state import (
    CONTENT_KEYS,
    MAX_CAPTION,
    MAX_DOWNLOAD_BYTES,
    MAX_PHOTO_BYTES,
    MAX_TEXT,
    TOPIC_COLORS,
    ApiError,
    Chat,
    Json,
    LocalChat,
    Msg,
    Topic,
    bad_request,
    utf16_len,
)

log = logging.getLogger(__name__)

BOT_API_BODY_LIMIT = 60 * 1024 * 1024
MAX_POLL_SECONDS = 60
WEBHOOK_TIMEOUT = 60


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

    def number(self, name: str) -> float | None:
        value = self.raw(name)
        if value is None:
            return None
        try:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be of type Number') from None

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


# ---- text formatting --------------------------------------------------------------------


class ParseError(Exception):
    pass


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0  # UTF-16 code units, as Telegram counts offsets
        self.entities: list[Json] = []

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.pos += utf16_len(text)

    def entity(self, kind: str, start: int, **extra: Any) -> None:
        if self.pos > start:
            self.entities.append({"type": kind, "offset": start, "length": self.pos - start,
                                  **extra})

    def result(self) -> tuple[str, list[Json]]:
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), entities


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


_HTML_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "code": "code", "pre": "pre", "a": "text_link",
    "tg-spoiler": "spoiler", "span": "spoiler", "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ATTR_NAME = re.compile(r"[A-Za-z0-9_-]+")
_ENTITY_REF = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9A-Fa-f]{1,6})|([A-Za-z]{2,8}));")


def _html_unescape(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        number, hex_number, name = match.groups()
        if name is not None:
            return _HTML_NAMED.get(name.lower(), match.group())
        code = int(number) if number is not None else int(hex_number, 16)
        return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else ""

    return _ENTITY_REF.sub(replace, text)


def parse_html(source: str) -> tuple[str, list[Json]]:
    out = _Builder()
    stack: list[tuple[str, int, Json]] = []  # tag, start offset, attributes
    i, n = 0, len(source)
    while i < n:
        lt = source.find("<", i)
        chunk = source[i:] if lt < 0 else source[i:lt]
        if chunk:
            out.add(_html_unescape(chunk))
        if lt < 0:
            break
        i = lt
        if source.startswith("</", i):
            close = source.find(">", i)
            if close < 0:
                raise ParseError(f"Unclosed end tag at byte offset {_byte_offset(source, i)}")
            name = source[i + 2 : close].strip().lower()
            if not stack:
                raise ParseError(f"Unexpected end tag at byte offset {_byte_offset(source, i)}")
            tag, start, attrs = stack.pop()
            if name != tag:
                raise ParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(source, i)}, "
                    f'expected "</{tag}>", found "</{name}>"'
                )
            _close_html_tag(out, tag, start, attrs)
            i = close + 1
            continue
        match = _TAG_NAME.match(source, i + 1)
        tag = match.group().lower() if match else ""
        if tag not in _HTML_TAGS:
            raise ParseError(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(source, i)}'
            )
        assert match is not None
        attrs, i = _html_attributes(source, match.end(), tag, lt)
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise ParseError(f'Tag "span" must have class "tg-spoiler" at byte offset '
                             f"{_byte_offset(source, lt)}")
        stack.append((tag, out.pos, attrs))
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in out.entities:
        entity.pop("_language", None)  # only meaningful inside <pre>
    return out.result()


def _html_attributes(source: str, i: int, tag: str, tag_start: int) -> tuple[Json, int]:
    attrs: Json = {}
    n = len(source)
    while True:
        while i < n and source[i].isspace():
            i += 1
        if i >= n:
            raise ParseError(f"Unclosed start tag at byte offset {_byte_offset(source, tag_start)}")
        if source[i] == ">":
            return attrs, i + 1
        match = _ATTR_NAME.match(source, i)
        if not match:
            raise ParseError(f'Empty attribute name in the tag "{tag}" at byte offset '
                             f"{_byte_offset(source, i)}")
        name = match.group().lower()
        i = match.end()
        while i < n and source[i].isspace():
            i += 1
        if i >= n or source[i] != "=":
            attrs[name] = ""  # a bare attribute such as `expandable`
            continue
        i += 1
        while i < n and source[i].isspace():
            i += 1
        if i < n and source[i] in "\"'":
            end = source.find(source[i], i + 1)
            if end < 0:
                raise ParseError(f'Unclosed end of attribute value in the tag "{tag}" at '
                                 f"byte offset {_byte_offset(source, i)}")
            value, i = source[i + 1 : end], end + 1
        else:
            start = i
            while i < n and not source[i].isspace() and source[i] != ">":
                i += 1
            value = source[start:i]
        attrs[name] = _html_unescape(value)


def _close_html_tag(out: _Builder, tag: str, start: int, attrs: Json) -> None:
    kind = _HTML_TAGS[tag]
    if kind == "text_link":
        url = attrs.get("href", "")
        if url:
            out.entity("text_link", start, url=url)
        return
    if kind == "custom_emoji":
        if attrs.get("emoji-id"):
            out.entity("custom_emoji", start, custom_emoji_id=attrs["emoji-id"])
        return
    if kind == "blockquote" and "expandable" in attrs:
        kind = "expandable_blockquote"
    if kind == "pre":
        inner = out.entities[-1] if out.entities else None
        if (inner is not None and inner["type"] == "code" and inner["offset"] == start
                and inner["length"] == out.pos - start):
            # <pre><code class="language-x"> is one pre entity, with the code's language.
            out.entities.pop()
            language = inner.get("_language")
            out.entity("pre", start, **({"language": language} if language else {}))
            return
    if kind == "code":
        language = attrs.get("class", "")
        if language.startswith("language-"):
            out.entity("code", start, _language=language.removeprefix("language-"))
            return
    out.entity(kind, start)


_MD2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MD2_NAMES = {
    "bold": "Bold", "italic": "Italic", "underline": "Underline", "strikethrough":
    "Strikethrough", "spoiler": "Spoiler", "code": "Code", "pre": "Pre", "text_link": "TextUrl",
}
_LOOKS_LIKE_URL = re.compile(r"^(?:https?://|tg://|[\w-]+(?:\.[\w-]+)+)", re.IGNORECASE)


def parse_markdown_v2(source: str) -> tuple[str, list[Json]]:
    out = _Builder()
    stack: list[tuple[str, int, int, Json]] = []  # kind, start offset, source index, extras
    quote_start: int | None = None
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "\\" and i + 1 < n and 0 < ord(source[i + 1]) <= 126:
            out.add(source[i + 1])
            i += 2
            continue
        top = stack[-1][0] if stack else None
        if top in ("code", "pre"):
            closing = "```" if top == "pre" else "`"
            if source.startswith(closing, i):
                kind, start, _, extras = stack.pop()
                out.entity(kind, start, **extras)
                i += len(closing)
            else:
                out.add(ch)
                i += 1
            continue
        if ch == "\n" and quote_start is not None and not source.startswith(">", i + 1):
            out.entity("blockquote", quote_start)
            quote_start = None
        if ch == ">" and (i == 0 or source[i - 1] == "\n"):
            if quote_start is None:
                quote_start = out.pos
            i += 1
            continue
        if source.startswith("```", i):
            index, i = i, i + 3
            newline = source.find("\n", i)
            first_line = source[i:newline] if newline >= 0 else ""
            language: Json = {}
            if first_line and not any(c.isspace() for c in first_line):
                language["language"], i = first_line, newline + 1
            elif newline == i:
                i += 1
            stack.append(("pre", out.pos, index, language))
            continue
        if ch == "`":
            stack.append(("code", out.pos, i, {}))
            i += 1
            continue
        token, width = _md2_token(source, i, top)
        if token is None:
            if ch in _MD2_RESERVED:
                raise ParseError(
                    f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
                )
            out.add(ch)
            i += 1
            continue
        if token == "link_end":
            _, start, _, opened = stack.pop()
            url, i = _md2_url(source, i + 1, "".join(out.parts[opened["parts"]:]))
            if url and _LOOKS_LIKE_URL.match(url):
                out.entity("text_link", start, url=url)
            continue
        if top == token:
            _, start, _, _ = stack.pop()
            out.entity(token, start)
        else:
            stack.append((token, out.pos, i, {"parts": len(out.parts)}))
        i += width
    if stack:
        kind, _, index, _ = stack[-1]
        raise ParseError(f"Can't find end of {_MD2_NAMES[kind]} entity at byte offset "
                         f"{_byte_offset(source, index)}")
    if quote_start is not None:
        out.entity("blockquote", quote_start)
    return out.result()


def _md2_token(source: str, i: int, top: str | None) -> tuple[str | None, int]:
    ch = source[i]
    if ch == "*":
        return "bold", 1
    if ch == "~":
        return "strikethrough", 1
    if ch == "|" and source.startswith("||", i):
        return "spoiler", 2
    if ch == "_":
        if top == "italic":
            return "italic", 1
        if source.startswith("__", i):
            return "underline", 2
        return "italic", 1
    if ch == "[":
        return "text_link", 1
    if ch == "]" and top == "text_link":
        return "link_end", 1
    return None, 0


def _md2_url(source: str, i: int, link_text: str) -> tuple[str, int]:
    if not source.startswith("(", i):
        # [text] without (url) links to its own text, as Telegram does
        return link_text, i
    url: list[str] = []
    i += 1
    while i < len(source) and source[i] != ")":
        if source[i] == "\\" and i + 1 < len(source):
            i += 1
        url.append(source[i])
        i += 1
    if i >= len(source):
        raise ParseError("Can't find end of a URL at byte offset "
                         f"{_byte_offset(source, i)}")
    return "".join(url), i + 1


def parse_markdown(source: str) -> tuple[str, list[Json]]:
    """Telegram's legacy Markdown: *bold* _italic_ `code` ```pre``` [text](url), no nesting."""
    out = _Builder()
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "\\" and i + 1 < n and source[i + 1] in "_*`[":
            out.add(source[i + 1])
            i += 2
            continue
        if ch not in "_*`[":
            out.add(ch)
            i += 1
            continue
        unclosed = ParseError("Can't find end of the entity starting at byte offset "
                              f"{_byte_offset(source, i)}")
        start = out.pos
        if ch == "[":
            close = source.find("](", i + 1)
            end = source.find(")", close + 2) if close >= 0 else -1
            if close < 0 or end < 0:
                raise unclosed
            out.add(source[i + 1 : close])
            out.entity("text_link", start, url=source[close + 2 : end])
            i = end + 1
        elif source.startswith("```", i):
            end = source.find("```", i + 3)
            if end < 0:
                raise unclosed
            body = source[i + 3 : end]
            language = ""
            first, newline, rest = body.partition("\n")
            if newline and first and not any(c.isspace() for c in first):
                language, body = first, rest
            out.add(body)
            out.entity("pre", start, **({"language": language} if language else {}))
            i = end + 3
        else:
            end = source.find(ch, i + 1)
            if end < 0:
                raise unclosed
            out.add(source[i + 1 : end])
            out.entity({"*": "bold", "_": "italic", "`": "code"}[ch], start)
            i = end + 1
    return out.result()


_ENTITY_TYPES = {
    "mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number", "bold",
    "italic", "underline", "strikethrough", "spoiler", "blockquote", "expandable_blockquote",
    "code", "pre", "text_link", "text_mention", "custom_emoji", "date_time",
}
_ENTITY_KEYS = ("type", "offset", "length", "url", "user", "language", "custom_emoji_id")


def _explicit_entities(raw: Any, text: str) -> list[Json]:
    if not isinstance(raw, list):
        raise bad_request("can't parse entities JSON object")
    total = utf16_len(text)
    result = []
    for entity in raw:
        if not isinstance(entity, dict) or entity.get("type") not in _ENTITY_TYPES:
            raise bad_request("can't parse entities JSON object")
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int) \
                or isinstance(offset, bool) or isinstance(length, bool):
            raise bad_request("can't parse entities JSON object")
        if offset >= 0 and length > 0 and offset + length <= total:
            result.append({k: entity[k] for k in _ENTITY_KEYS if k in entity})
    return sorted(result, key=lambda e: (e["offset"], -e["length"]))


def _trim(text: str, entities: list[Json]) -> tuple[str, list[Json]]:
    # Telegram drops leading and trailing whitespace and shifts the entities along.
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    end = lead + utf16_len(stripped)
    trimmed = []
    for entity in entities:
        start, stop = max(entity["offset"], lead), min(entity["offset"] + entity["length"], end)
        if stop > start:
            trimmed.append({**entity, "offset": start - lead, "length": stop - start})
    return stripped, trimmed


def format_text(text: str, parse_mode: str | None, entities: Any) -> tuple[str, list[Json]]:
    if entities is not None:
        return _trim(text, _explicit_entities(entities, text))
    mode = (parse_mode or "").lower()
    parsers: dict[str, Callable[[str], tuple[str, list[Json]]]] = {
        "html": parse_html, "markdownv2": parse_markdown_v2, "markdown": parse_markdown,
    }
    if not mode:
        return _trim(text, [])
    if mode not in parsers:
        raise bad_request("unsupported parse_mode")
    try:
        plain, found = parsers[mode](text)
    except ParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None
    return _trim(plain, found)


# ---- reply markup -----------------------------------------------------------------------

_INLINE_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)
_PRIVATE_ONLY_KEYS = ("request_contact", "request_location", "web_app", "request_users",
                      "request_chat")


def _http_url(value: Any) -> bool:
    return isinstance(value, str) and re.match(r"^https?://[^\s/]+", value) is not None


def _rows(markup: Json, key: str, kind: str) -> list[list[Any]]:
    rows = markup.get(key)
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(f'field "{key}" of the {kind} should be an Array of Arrays')
    if sum(len(row) for row in rows) > 100:
        raise bad_request("reply markup is too long")
    return rows


def validate_markup(raw: Any, private: bool, *, inline_only: bool = False) -> Json | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in raw:
        rows = [[_inline_button(b, private) for b in row]
                for row in _rows(raw, "inline_keyboard", "InlineKeyboardMarkup")]
        rows = [row for row in rows if row]
        return {"inline_keyboard": rows} if rows else None
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in raw:
        rows = [[_keyboard_button(b, private) for b in row]
                for row in _rows(raw, "keyboard", "ReplyKeyboardMarkup")]
        markup: Json = {"keyboard": [row for row in rows if row]}
        if not markup["keyboard"]:
            raise bad_request("keyboard must be non-empty")
        for key in ("resize_keyboard", "one_time_keyboard", "is_persistent", "selective"):
            if raw.get(key):
                markup[key] = True
        placeholder = raw.get("input_field_placeholder")
        if isinstance(placeholder, str) and placeholder:
            markup["input_field_placeholder"] = placeholder[:64]
        return markup
    if raw.get("remove_keyboard") is True:
        return {"remove_keyboard": True}
    if raw.get("force_reply") is True:
        markup = {"force_reply": True}
        if isinstance(raw.get("input_field_placeholder"), str):
            markup["input_field_placeholder"] = raw["input_field_placeholder"][:64]
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def _inline_button(button: Any, private: bool) -> Json:
    problem = "can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise bad_request(problem + "InlineKeyboardButton must be an Object")
    if not isinstance(button.get("text"), str) or not button["text"].strip():
        raise bad_request("BUTTON_TEXT_EMPTY")
    actions = [key for key in _INLINE_ACTIONS if key in button]
    if not actions:
        raise bad_request(problem + "Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(problem + "only one of the optional fields can be used")
    action = actions[0]
    value = button[action]
    if action == "callback_data" and (
        not isinstance(value, str) or not 1 <= len(value.encode()) <= 64
    ):
        raise bad_request("BUTTON_DATA_INVALID")
    if action == "url" and not (
        _http_url(value) or (isinstance(value, str) and value.startswith("tg://"))
    ):
        raise bad_request("BUTTON_URL_INVALID")
    if action == "web_app":
        if not private:
            raise bad_request("BUTTON_TYPE_INVALID")
        # Telegram insists on https; the stand-in also takes http for loopback Mini Apps.
        if not isinstance(value, dict) or not _http_url(value.get("url")):
            raise bad_request("BUTTON_URL_INVALID")
    return dict(button)


def _keyboard_button(button: Any, private: bool) -> Json:
    if isinstance(button, str):
        button = {"text": button}
    if not isinstance(button, dict) or not isinstance(button.get("text"), str) \
            or not button["text"].strip():
        raise bad_request("can't parse keyboard button: Text must be a non-empty String")
    if not private and any(key in button for key in _PRIVATE_ONLY_KEYS):
        raise bad_request("BUTTON_TYPE_INVALID")
    if "web_app" in button and (
        not isinstance(button["web_app"], dict) or not _http_url(button["web_app"].get("url"))
    ):
        raise bad_request("BUTTON_URL_INVALID")
    return dict(button)


def validate_menu_button(raw: Any) -> Json:
    if raw is None:
        return {"type": "default"}
    if not isinstance(raw, dict) or raw.get("type") not in ("commands", "web_app", "default"):
        raise bad_request("can't parse menu button JSON object")
    if raw["type"] != "web_app":
        return {"type": raw["type"]}
    text, web_app = raw.get("text"), raw.get("web_app")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("BUTTON_TEXT_EMPTY")
    if not isinstance(web_app, dict) or not _http_url(web_app.get("url")):
        raise bad_request("BUTTON_URL_INVALID")
    return {"type": "web_app", "text": text, "web_app": {"url": web_app["url"]}}


# ---- the methods ------------------------------------------------------------------------

_CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
}
_SCOPES = {"default", "all_private_chats", "all_group_chats", "all_chat_administrators",
           "chat", "chat_administrators", "chat_member"}
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_DESCRIPTION_LIMITS = {"description": 512, "short_description": 120, "name": 64}

Method = Callable[[Params], Awaitable[Any]]


class BotApi:
    def __init__(self, chat: LocalChat) -> None:
        self.chat = chat
        table: dict[str, Method] = {
            "getMe": self.get_me,
            "logOut": self.always_true,
            "close": self.always_true,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "sendVoice": self.send_voice,
            "sendMediaGroup": self.send_media_group,
            "sendContact": self.send_contact,
            "copyMessage": self.copy_message,
            "forwardMessage": self.forward_message,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages,
            "answerCallbackQuery": self.answer_callback_query,
            "getFile": self.get_file,
            "sendChatAction": self.send_chat_action,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setChatMenuButton": self.set_chat_menu_button,
            "getChatMenuButton": self.get_chat_menu_button,
            "setMyDescription": partial(self.set_description, "description"),
            "getMyDescription": partial(self.get_description, "description"),
            "setMyShortDescription": partial(self.set_description, "short_description"),
            "getMyShortDescription": partial(self.get_description, "short_description"),
            "setMyName": partial(self.set_description, "name"),
            "getMyName": partial(self.get_description, "name"),
            "createForumTopic": self.create_forum_topic,
            "editForumTopic": self.edit_forum_topic,
            "closeForumTopic": self.close_forum_topic,
            "reopenForumTopic": self.reopen_forum_topic,
            "deleteForumTopic": self.delete_forum_topic,
            "unpinAllForumTopicMessages": self.forum_topic_noop,
            "getForumTopicIconStickers": self.empty_list,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "getChatAdministrators": self.get_chat_administrators,
            "getChatMemberCount": self.get_chat_member_count,
            "pinChatMessage": self.pin_message,
            "unpinChatMessage": self.chat_noop,
            "unpinAllChatMessages": self.chat_noop,
            "setMessageReaction": self.pin_message,
        }
        self.methods = {name.lower(): method for name, method in table.items()}

    async def call(self, method: str, params: Params) -> Any:
        handler = self.methods.get(method.lower())
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        self.chat.stats["bot_requests"] += 1
        return await handler(params)

    # -- HTTP entry points --

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.chat.config.token:
            return json_reply(ApiError(401, "Unauthorized").to_json(), 401)
        try:
            values, uploads = await read_form(request.headers, request.content,
                                              BOT_API_BODY_LIMIT)
            merged = {**request.query, **values}
            result = await self.call(request.match_info["method"], Params(merged, uploads))
        except ApiError as exc:
            return json_reply(exc.to_json(), exc.code)
        return json_reply({"ok": True, "result": result})

    async def download(self, request: web.Request) -> web.StreamResponse:
        not_found = json_reply({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        if request.match_info["token"] != self.chat.config.token:
            return json_reply(ApiError(401, "Unauthorized").to_json(), 401)
        file_id = self.chat.files_by_path.get(request.match_info["file_path"])
        content = self.chat.file_content(file_id) if file_id else None
        if content is None:
            return not_found
        data, mime = content
        return web.Response(body=data, content_type=mime)

    # -- shared argument handling --

    def target(self, params: Params, name: str = "chat_id") -> Chat:
        """The chat the bot writes to, refusing where Telegram refuses."""
        chat = self.existing_chat(params, name)
        if chat.private:
            user = self.chat.users[chat.id]
            if user.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not user.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def existing_chat(self, params: Params, name: str = "chat_id") -> Chat:
        raw = params.raw(name)
        if raw is None:
            raise bad_request("chat_id is empty")
        chat_id: int | None = None
        if isinstance(raw, int) and not isinstance(raw, bool):
            chat_id = raw
        elif isinstance(raw, str) and re.fullmatch(r"\s*-?\d{1,20}\s*", raw):
            chat_id = int(raw)
        chat = self.chat.chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            user = self.chat.users.get(chat_id) if chat_id is not None else None
            if user is not None and not user.blocked:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            raise bad_request("chat not found")
        return chat

    def message(self, params: Params, chat: Chat, missing: str) -> Msg:
        message_id = params.integer("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        msg = self.chat.find_message(chat, message_id)
        if msg is None:
            raise bad_request(missing)
        return msg

    def thread(self, params: Params, chat: Chat, reply_to: Msg | None) -> int | None:
        thread_id = params.integer("message_thread_id")
        if not chat.is_forum:
            return None
        if thread_id is None:
            return reply_to.thread_id if reply_to is not None else None
        topic = chat.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise bad_request("message thread not found")
        return thread_id

    def reply_to(self, params: Params, chat: Chat) -> Msg | None:
        raw = params.json("reply_parameters", "can't parse reply parameters JSON object")
        message_id = params.integer("reply_to_message_id")
        lenient = params.flag("allow_sending_without_reply")
        if raw is not None:
            if not isinstance(raw, dict) or not isinstance(raw.get("message_id"), int):
                raise bad_request("can't parse reply parameters JSON object")
            message_id = raw["message_id"]
            lenient = bool(raw.get("allow_sending_without_reply"))
            other = raw.get("chat_id")
            if other is not None and str(other) != str(chat.id):
                if lenient:
                    return None
                raise bad_request("message to be replied not found")
        if message_id is None:
            return None
        msg = self.chat.find_message(chat, message_id)
        if msg is None and not lenient:
            raise bad_request("message to be replied not found")
        return msg

    def markup(self, params: Params, chat: Chat, *, inline_only: bool = False) -> Json | None:
        raw = params.json("reply_markup", "can't parse reply keyboard markup JSON object")
        return validate_markup(raw, chat.private, inline_only=inline_only)

    def text(self, params: Params) -> tuple[str, list[Json]]:
        raw = params.text("text")
        if raw is None:
            raise bad_request("message text is empty")
        text, entities = format_text(raw, params.text("parse_mode"),
                                     params.json("entities", "can't parse entities JSON object"))
        if not text:
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        return text, entities

    def caption(self, params: Params) -> Json:
        raw = params.text("caption")
        if raw is None:
            return {}
        caption, entities = format_text(
            raw, params.text("parse_mode"),
            params.json("caption_entities", "can't parse entities JSON object"),
        )
        if len(caption) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        content: Json = {}
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return content

    def send(self, chat: Chat, content: Json, thread_id: int | None, reply_to: Msg | None,
             markup: Json | None) -> Msg:
        msg = self.chat.add_message(chat, dict(self.chat.bot_user), content,
                                    thread_id=thread_id, reply_to=reply_to, markup=markup)
        self.chat.stats["sent"] += 1
        return msg

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

    # -- identity --

    async def get_me(self, params: Params) -> Json:
        return {
            **self.chat.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def always_true(self, params: Params) -> bool:
        return True

    async def empty_list(self, params: Params) -> list[Any]:
        return []

    # -- updates and webhook --

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
        if not _http_url(url):
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

    # -- sending --

    async def send_message(self, params: Params) -> Json:
        chat = self.target(params)
        text, entities = self.text(params)
        markup = self.markup(params, chat)
        reply_to = self.reply_to(params, chat)
        thread_id = self.thread(params, chat, reply_to)
        self.chat.check_flood(chat)
        content: Json = {"text": text}
        if entities:
            content["entities"] = entities
        return self.send(chat, content, thread_id, reply_to, markup).tg

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

    async def send_contact(self, params: Params) -> Json:
        chat = self.target(params)
        phone, first_name = params.text("phone_number"), params.text("first_name")
        if not phone:
            raise bad_request("phone number is empty")
        if not first_name:
            raise bad_request("first name is empty")
        contact: Json = {"phone_number": phone, "first_name": first_name}
        if params.text("last_name"):
            contact["last_name"] = params.text("last_name")
        markup = self.markup(params, chat)
        reply_to = self.reply_to(params, chat)
        thread_id = self.thread(params, chat, reply_to)
        self.chat.check_flood(chat)
        return self.send(chat, {"contact": contact}, thread_id, reply_to, markup).tg

    def _source(self, params: Params, missing: str) -> Msg:
        source_chat = self.existing_chat(params, "from_chat_id")
        msg = self.message(params, source_chat, missing)
        if msg.is_service:
            raise bad_request("message can't be copied")
        return msg

    async def copy_message(self, params: Params) -> Json:
        source = self._source(params, "message to copy not found")
        chat = self.target(params)
        content = {k: source.tg[k] for k in CONTENT_KEYS if k in source.tg}
        if "text" not in content and params.raw("caption") is not None:
            for key in ("caption", "caption_entities"):
                content.pop(key, None)
            content.update(self.caption(params))
        markup = self.markup(params, chat)
        reply_to = self.reply_to(params, chat)
        thread_id = self.thread(params, chat, reply_to)
        self.chat.check_flood(chat)
        return {"message_id": self.send(chat, content, thread_id, reply_to, markup).id}

    async def forward_message(self, params: Params) -> Json:
        source = self._source(params, "message to forward not found")
        chat = self.target(params)
        content = {k: source.tg[k] for k in CONTENT_KEYS if k in source.tg}
        content["forward_origin"] = source.tg.get("forward_origin") or {
            "type": "user", "date": source.tg["date"], "sender_user": source.tg["from"],
        }
        thread_id = self.thread(params, chat, None)
        self.chat.check_flood(chat)
        return self.send(chat, content, thread_id, None, None).tg

    # -- editing and deleting --

    def _editable(self, params: Params) -> tuple[Chat, Msg]:
        if params.text("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self.target(params)
        msg = self.message(params, chat, "message to edit not found")
        if msg.sender_id != self.chat.bot_id or msg.is_service:
            raise bad_request("message can't be edited")
        return chat, msg

    def _apply_edit(self, chat: Chat, msg: Msg, content: Json, markup: Json | None) -> Json:
        tg = msg.tg
        old = {key: tg.get(key) for key in content}
        if old == content and tg.get("reply_markup") == markup:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        for key, value in content.items():
            if value:
                tg[key] = value
            else:
                tg.pop(key, None)
        # Telegram drops the inline keyboard when an edit does not repeat it.
        if markup is not None:
            tg["reply_markup"] = markup
            msg.markup = markup
        else:
            tg.pop("reply_markup", None)
            if msg.markup is not None and "inline_keyboard" in msg.markup:
                msg.markup = None
        tg["edit_date"] = self.chat.now()
        self.chat.touch(chat, msg)
        return tg

    async def edit_message_text(self, params: Params) -> Json:
        chat, msg = self._editable(params)
        if "text" not in msg.tg:
            raise bad_request("there is no text in the message to edit")
        text, entities = self.text(params)
        markup = self.markup(params, chat, inline_only=True)
        return self._apply_edit(chat, msg, {"text": text, "entities": entities or None}, markup)

    async def edit_message_caption(self, params: Params) -> Json:
        chat, msg = self._editable(params)
        if "text" in msg.tg or "contact" in msg.tg:
            raise bad_request("there is no caption in the message to edit")
        caption = self.caption(params)
        markup = self.markup(params, chat, inline_only=True)
        content = {"caption": caption.get("caption"),
                   "caption_entities": caption.get("caption_entities")}
        return self._apply_edit(chat, msg, content, markup)

    async def edit_message_reply_markup(self, params: Params) -> Json:
        chat, msg = self._editable(params)
        markup = self.markup(params, chat, inline_only=True)
        return self._apply_edit(chat, msg, {}, markup)

    async def delete_message(self, params: Params) -> bool:
        chat = self.existing_chat(params)
        msg = self.message(params, chat, "message to delete not found")
        if msg.is_service and msg.id in chat.topics:
            raise bad_request("message can't be deleted")
        self.chat.delete_message(chat, msg)
        return True

    async def delete_messages(self, params: Params) -> bool:
        chat = self.existing_chat(params)
        ids = params.json("message_ids", "can't parse message_ids JSON object")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100 or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            raise bad_request("message_ids must be a list of 1-100 integers")
        for message_id in ids:
            msg = self.chat.find_message(chat, message_id)
            if msg is not None and not (msg.is_service and msg.id in chat.topics):
                self.chat.delete_message(chat, msg)
        return True

    async def answer_callback_query(self, params: Params) -> bool:
        query_id = params.text("callback_query_id")
        if not query_id:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.text("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.chat.answer_callback(query_id, text, params.flag("show_alert"), params.text("url"))
        return True

    async def pin_message(self, params: Params) -> bool:
        chat = self.existing_chat(params)
        self.message(params, chat, "message to pin not found")
        return True

    async def chat_noop(self, params: Params) -> bool:
        self.existing_chat(params)
        return True

    # -- files --

    async def get_file(self, params: Params) -> Json:
        record = self.chat.files.get(params.text("file_id") or "")
        if record is None:
            raise bad_request("invalid file_id")
        if record.file_size > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return record.to_file()

    # -- chat state --

    async def send_chat_action(self, params: Params) -> bool:
        chat = self.target(params)
        action = params.text("action")
        if action not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.action = {"action": action,
                       "until": self.chat.wall_clock() + 5}
        self.chat.touch(chat)
        return True

    def _scope(self, params: Params) -> tuple[str, str]:
        scope = params.json("scope", "can't parse BotCommandScope JSON object")
        if scope is None:
            scope = {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
            raise bad_request("can't parse BotCommandScope JSON object")
        normalized: Json = {"type": scope["type"]}
        if scope["type"].startswith("chat"):
            chat_id = scope.get("chat_id")
            try:
                normalized["chat_id"] = int(chat_id)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise bad_request("chat not found") from None
            if scope["type"] == "chat_member":
                if not isinstance(scope.get("user_id"), int):
                    raise bad_request("user not found")
                normalized["user_id"] = scope["user_id"]
        language = params.text("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("invalid language code specified")
        return self.chat.scope_key(normalized), language

    async def set_my_commands(self, params: Params) -> bool:
        commands = params.json("commands", "can't parse BotCommand JSON object")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse BotCommand JSON object")
        clean = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not _COMMAND_RE.match(name.removeprefix("/")):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": name.removeprefix("/"), "description": description})
        key = self._scope(params)
        if clean:
            self.chat.commands[key] = clean
        else:
            self.chat.commands.pop(key, None)
        self.chat.mark_dirty()
        return True

    async def get_my_commands(self, params: Params) -> list[Json]:
        return self.chat.commands.get(self._scope(params), [])

    async def delete_my_commands(self, params: Params) -> bool:
        self.chat.commands.pop(self._scope(params), None)
        self.chat.mark_dirty()
        return True

    async def set_chat_menu_button(self, params: Params) -> bool:
        button = validate_menu_button(
            params.json("menu_button", "can't parse menu button JSON object"))
        stored = None if button["type"] == "default" else button
        if params.raw("chat_id") is None:
            self.chat.default_menu_button = stored
            for chat in self.chat.chats.values():
                if chat.private:
                    self.chat.touch(chat)
        else:
            chat = self.existing_chat(params)
            if not chat.private:
                raise bad_request("chat not found")
            chat.menu_button = stored
            self.chat.touch(chat)
        self.chat.mark_dirty()
        return True

    async def get_chat_menu_button(self, params: Params) -> Json:
        if params.raw("chat_id") is None:
            return self.chat.default_menu_button or {"type": "commands"}
        return self.chat.menu_button_for(self.existing_chat(params).id)

    async def set_description(self, field: str, params: Params) -> bool:
        max_length = _DESCRIPTION_LIMITS[field]
        value = params.text(field) or ""
        if len(value) > max_length:
            raise bad_request(f"{field} is too long")
        language = params.text("language_code") or ""
        key = f"{field}:{language}"
        if value:
            self.chat.descriptions[key] = value
        else:
            self.chat.descriptions.pop(key, None)
        self.chat.mark_dirty()
        return True

    async def get_description(self, field: str, params: Params) -> Json:
        language = params.text("language_code") or ""
        found = self.chat.descriptions.get(f"{field}:{language}")
        if found is None:
            found = self.chat.descriptions.get(f"{field}:", "")
        if field == "name" and not found:
            found = self.chat.config.bot_first_name
        return {field: found}

    # -- forum topics --

    def _forum(self, params: Params) -> Chat:
        chat = self.existing_chat(params)
        if not chat.is_forum:
            raise bad_request("the chat is not a forum")
        return chat

    def _topic(self, params: Params, chat: Chat) -> Topic:
        thread_id = params.integer("message_thread_id")
        topic = chat.topics.get(thread_id) if thread_id is not None else None
        if topic is None or topic.deleted:
            raise bad_request("message thread not found")
        return topic

    def _service(self, chat: Chat, thread_id: int, key: str, body: Json) -> None:
        self.chat.add_message(chat, dict(self.chat.bot_user), {key: body}, thread_id=thread_id)

    async def create_forum_topic(self, params: Params) -> Json:
        chat = self._forum(params)
        name = (params.text("name") or "").strip()
        if not name:
            raise bad_request("TOPIC_TITLE_EMPTY")
        if len(name) > 128:
            raise bad_request("TOPIC_TITLE_TOO_LONG")
        color = params.integer("icon_color")
        if color is None:
            color = TOPIC_COLORS[0]
        if color not in TOPIC_COLORS:
            raise bad_request("TOPIC_ICON_COLOR_INVALID")
        # The topic's id is the id of the service message that opens it.
        thread_id = chat.next_message_id
        topic = Topic(thread_id=thread_id, name=name, icon_color=color,
                      icon_custom_emoji_id=params.text("icon_custom_emoji_id"))
        chat.topics[thread_id] = topic
        created: Json = {"name": name, "icon_color": color}
        if topic.icon_custom_emoji_id:
            created["icon_custom_emoji_id"] = topic.icon_custom_emoji_id
        self._service(chat, thread_id, "forum_topic_created", created)
        return topic.to_tg()

    async def edit_forum_topic(self, params: Params) -> bool:
        chat = self._forum(params)
        topic = self._topic(params, chat)
        name = params.text("name")
        emoji = params.text("icon_custom_emoji_id")
        edited: Json = {}
        if name is not None and name.strip() and name.strip() != topic.name:
            if len(name.strip()) > 128:
                raise bad_request("TOPIC_TITLE_TOO_LONG")
            topic.name = edited["name"] = name.strip()
        if emoji is not None and emoji != topic.icon_custom_emoji_id:
            topic.icon_custom_emoji_id = edited["icon_custom_emoji_id"] = emoji
        if not edited:
            raise bad_request("TOPIC_NOT_MODIFIED")
        self._service(chat, topic.thread_id, "forum_topic_edited", edited)
        return True

    async def close_forum_topic(self, params: Params) -> bool:
        return self._set_closed(params, True)

    async def reopen_forum_topic(self, params: Params) -> bool:
        return self._set_closed(params, False)

    def _set_closed(self, params: Params, closed: bool) -> bool:
        chat = self._forum(params)
        topic = self._topic(params, chat)
        if topic.closed == closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = closed
        key = "forum_topic_closed" if closed else "forum_topic_reopened"
        self._service(chat, topic.thread_id, key, {})
        return True

    async def delete_forum_topic(self, params: Params) -> bool:
        chat = self._forum(params)
        topic = self._topic(params, chat)
        topic.deleted = True
        for msg in list(chat.messages.values()):
            if msg.thread_id == topic.thread_id and not msg.deleted:
                self.chat.delete_message(chat, msg)
        self.chat.touch(chat)
        return True

    async def forum_topic_noop(self, params: Params) -> bool:
        self._topic(params, self._forum(params))
        return True

    # -- chats and members --

    async def get_chat(self, params: Params) -> Json:
        chat = self.existing_chat(params)
        info = {
            **self.chat.chat_tg(chat),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                "premium_subscription": False, "gifts_from_channels": False,
            },
        }
        return info

    def _member(self, chat: Chat, user_id: int) -> Json:
        user = self.chat.user_tg(user_id)
        status = chat.members.get(user_id, "left")
        if chat.private:
            bot_kicked = user_id == self.chat.bot_id and self.chat.users[chat.id].blocked
            status = "kicked" if bot_kicked else "member"
        if status == "administrator":
            is_bot = user_id == self.chat.bot_id
            rights = {
                "can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
                "can_delete_messages": True, "can_manage_video_chats": True,
                "can_restrict_members": True, "can_promote_members": not is_bot,
                "can_change_info": True, "can_invite_users": True, "can_post_stories": False,
                "can_edit_stories": False, "can_delete_stories": False,
                "can_send_welcome_messages": False, "can_pin_messages": True,
                "can_manage_topics": True,
            }
            return {"status": status, "user": user, **rights}
        if status == "kicked":
            return {"status": status, "user": user, "until_date": 0}
        return {"status": status, "user": user}

    async def get_chat_member(self, params: Params) -> Json:
        chat = self.existing_chat(params)
        user_id = params.integer("user_id")
        if user_id is None or (user_id not in self.chat.users and user_id != self.chat.bot_id):
            raise bad_request("user not found")
        if chat.private and user_id not in (chat.id, self.chat.bot_id):
            raise bad_request("user not found")
        return self._member(chat, user_id)

    async def get_chat_administrators(self, params: Params) -> list[Json]:
        chat = self.existing_chat(params)
        if chat.private:
            raise bad_request("there are no administrators in the private chat")
        return [self._member(chat, uid) for uid, status in chat.members.items()
                if status in ("creator", "administrator")]

    async def get_chat_member_count(self, params: Params) -> int:
        chat = self.existing_chat(params)
        return 2 if chat.private else len(chat.members)


def add_bot_api_routes(app: web.Application, api: BotApi) -> None:
    app.router.add_route("*", "/bot{token}/{method}", api.handle, name="localchat-botapi")
    app.router.add_get("/file/bot{token}/{file_path:.+}", api.download,
                       name="localchat-botapi-file")
