"""Text formatting as Telegram does it: parse_mode HTML or MarkdownV2, or explicit entities,
become plain text and entities whose offsets count UTF-16 code units. Legacy Markdown is
refused as an unsupported parse_mode: nothing here sends it (the product sends HTML)."""

import re
from collections.abc import Callable
from typing import Any

from localchat.errors import bad_request
from localchat.model import Json


def utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")
_URL_RE = re.compile(r"https?://[^\s<>\"']+")


def auto_entities(text: str) -> list[Json]:
    """The entities a Telegram client adds to what a user types."""
    found: list[Json] = []
    for kind, pattern in (("bot_command", _COMMAND_RE), ("url", _URL_RE)):
        for match in pattern.finditer(text):
            offset = utf16_len(text[: match.start()])
            found.append({"type": kind, "offset": offset, "length": utf16_len(match.group())})
    return sorted(found, key=lambda e: e["offset"])


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
        "html": parse_html, "markdownv2": parse_markdown_v2,
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
