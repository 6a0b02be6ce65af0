"""Hostile values shared by the web and bot fuzzers: text, JSON, identifiers, files."""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Sequence
from typing import Any, TypeVar

from hypothesis import strategies as st
from PIL import Image

T = TypeVar("T")


def examples(count: int) -> int:
    """How many hypothesis examples: `count`, times JIJIAO_FUZZ_SCALE for a longer hunt
    (e.g. JIJIAO_FUZZ_SCALE=20 in a nightly job)."""
    return count * max(1, int(os.environ.get("JIJIAO_FUZZ_SCALE", "1")))


class _Item:
    """The i-th of some values, with a short repr: hypothesis shows strategies in its reports
    and warnings, and sampled_from shows every (maybe 5000 characters long) value."""

    def __init__(self, values: Sequence[Any]) -> None:
        self.values = list(values)

    def __call__(self, index: int) -> Any:
        return self.values[index]

    def __repr__(self) -> str:
        return f"<one of {len(self.values)} values>"


def pick(values: Sequence[T]) -> st.SearchStrategy[T]:
    """Like sampled_from, with a short repr."""
    item = _Item(values)
    return st.integers(0, len(item.values) - 1).map(item)


# ---- text ------------------------------------------------------------------------------------

NASTY_TEXT = [
    "",
    " ",
    "\n\t\r",
    "<b>",
    "</b>",
    "<b>bold",
    "<i>a</b>",
    "a < b > c",
    "Tom & Jerry",
    "&amp;&lt;&gt;&quot;&#0;&#x110000;&bogus;",
    "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>',
    "<tg-spoiler>",
    "{name}",
    "{0}{}",
    "%s%d%n%(name)s",
    "${jndi:ldap://x/a}",
    "' OR 1=1 --",
    '"; DROP TABLE enrolment; --',
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "\x00",
    "\u202eRTL override",
    "\u200b\u200c\u200d\ufeff",
    "😀" * 50,
    "👨‍👩‍👧‍👦",
    "𠜎𠜱𠝹",
    "长" * 4096,
    "A" * 4097,
    "9" * 5000,
    "１２３４５６７８９０",
    "530102198503120011",
    "53010219850312001X",
    "530102198503120012",
    "91530100MA6K000011",
    "/start",
    "/start payload<b>&",
    "/cancel",
    "/enrol now",
    "/pay@jijiao_bot",
    "/web",
    "/help",
    "/status",
    "/support",
    "/apply",
    "/exam",
    "/receipt",
    "/mute",
    "/language",
    "/menu",
    "/close",
    "/ban",
    "/a invoice",
    "/revoke x y",
    "/unknown_command",
    "/",
    "✖️ 取消",
    "✖️ Cancel",
    "a@b",
    "not-an-email",
    "x@" + "y" * 300 + ".com",
    "+86 138-0000-0001",
    "-1",
    "0",
    "null",
    "NaN",
]

_characters = st.characters(blacklist_categories=("Cs",))
hostile_text = st.one_of(
    pick(NASTY_TEXT),
    st.text(_characters, max_size=80),
    st.builds(lambda a, b: a + b, pick(NASTY_TEXT), st.text(_characters, max_size=20)),
)
# What Telegram delivers is never empty and at most 4096 characters.
message_text = hostile_text.filter(lambda t: t.strip() != "").map(lambda t: t[:4096])

# ---- JSON ------------------------------------------------------------------------------------

FIELD_NAMES = [
    "enrolment",
    "lesson",
    "question",
    "options",
    "init_data",
    "text",
    "data",
    "message_id",
    "contact",
    "user_id",
    "chat_id",
    "first_name",
    "phone_number",
    "order_number",
    "trade_state",
    "amount_fen",
    "currency",
    "paid_at",
    "check",
    "kind",
    "id",
    "__proto__",
    "",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    pick([0, -1, 1, 2**31, 2**63, 10**30, -(10**30)]),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(pick(FIELD_NAMES) | st.text(max_size=8), inner, max_size=5),
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(pick(FIELD_NAMES), json_values, max_size=6)

MALFORMED_JSON = [
    b"",
    b"{",
    b"}",
    b"[1,",
    b'{"enrolment": }',
    b'{"enrolment": 1,,}',
    b"{'enrolment': 1}",
    b"\xff\xfe\x00{",
    b"\xef\xbb\xbf{}",
    b"null",
    b"true",
    b"1e999999",
    b"-",
    b'"just a string"',
    b"NaN",
    b'{"a": "\\ud800"}',
    b"[" * 50 + b"]" * 50,
    b'{"enrolment": 1}' * 1000,
]

# ---- files -----------------------------------------------------------------------------------


def jpeg(width: int = 64, height: int = 64, colour: tuple[int, int, int] = (120, 90, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height pixels, with one row of data: tiny on the
    wire, huge if a decoder believes the header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    row = zlib.compress(b"\x00" * (width + 1), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", row) + chunk(b"IEND", b"")


def png_bomb(width: int, height: int) -> bytes:
    """A grey PNG of width x height black pixels that really decodes: zeros compress ~1000:1."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


SMALL_JPEG = jpeg()
NOT_IMAGES = [
    b"",
    b"\x00",
    b"GIF89a" + b"\x00" * 20,
    b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
    b"PK\x03\x04" + b"\x00" * 40,
    b"<svg xmlns='http://www.w3.org/2000/svg' width='99999' height='99999'/>",
    b"#!/bin/sh\nrm -rf /\n",
    b"\xff\xd8\xff",
    SMALL_JPEG[: len(SMALL_JPEG) // 2],
    SMALL_JPEG[:200] + b"\x00" * 200,
    jpeg(8, 8),
    jpeg(4000, 1),
    png_header_only(3000, 3000),
]

upload_bodies = st.one_of(
    pick(NOT_IMAGES),
    st.binary(max_size=2048),
    st.builds(lambda cut: SMALL_JPEG[:cut], st.integers(0, len(SMALL_JPEG))),
)
