"""What one person saw on a journey, checked as that person reads it.

A `Witness` collects every chat message (text, caption, button labels) and every page (its
visible text and a screenshot) one person met, and names what a real reader must never meet:
internal codes (snake_case identifiers, Python reprs, enum values, locale tags) and text in
another language (Chinese in an English reader's chat, English words in a Chinese reader's).
Proper nouns the journey uses (a person's name, a certificate number, a company) are allowed
in either language; they are names, not text.

Screenshots go to var/screenshots/<journey>/ under the project (JIJIAO_SCREENSHOTS moves them),
numbered in the order taken, for a person to look at.
"""

from __future__ import annotations

import contextlib
import enum
import importlib
import os
import pkgutil
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import domain

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("JIJIAO_SCREENSHOTS", ROOT / "var" / "screenshots"))

_MIME_TYPE = re.compile(r"\b(?:application|image|text|video)/[\w.+-]+")  # the chat's file chip
_URL = re.compile(r"(?:https?://|/app/|/verify/|/pay/|/sandbox/)\S*")
_COMMAND = re.compile(r"(?<![\w/])/[a-z_]+")
_FILE_NAME = re.compile(r"[\w\-.]+\.(?:docx|pdf|xlsx|png|jpg|zip)\b", re.IGNORECASE)
_SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
# A Python None where a value should be, not the English word going on into its sentence
# ("None; it can be used as soon as it is written" is an exam option).
_REPR = re.compile(
    r"\{'|'\}|\[\]|<\w+(?:\.\w+)* object at|\b[A-Z]\w+\.[A-Z][A-Z_]+\b|\bNone\b(?![;,]?\s+[a-z])"
)
_LOCALE_TAG = re.compile(r"\b(?:zh_CN|zh-hans|en_US)\b")
_CHINESE = re.compile(r"[\u3400-\u9fff]+")
# Half-width , : ; ? ! ( ) beside Chinese text, a space apart or none ("考试: …", "(多选)"):
# Chinese takes ，：；？！（）.
_HAN = "[\u3400-\u9fff]"
_HALF_WIDTH = re.compile(rf"{_HAN} ?[,:;?!()]|[,:;?!()] ?{_HAN}")
_ENGLISH_WORD = re.compile(r"\b[a-z]{3,}\b")
# Latin that Chinese text carries: the product's name beside 继教, file types.
_LATIN_IN_CHINESE = {"jijiao", "pdf", "docx", "xlsx"}
# Names every reader meets as they are: the product's name (继教 jijiao), and the language
# switch, which names each language in itself (中文 / EN).
PROPER_NOUNS = {"继教", "中文"}


def _enum_values() -> set[str]:
    values: set[str] = set()
    for module in pkgutil.walk_packages(domain.__path__, "domain."):
        for item in vars(importlib.import_module(module.name)).values():
            if isinstance(item, type) and issubclass(item, enum.Enum) and item is not enum.Enum:
                values.update(str(member.value) for member in item if isinstance(member.value, str))
    return values


ENUM_VALUES = frozenset(value for value in _enum_values() if len(value) > 2)


def _bare(text: str, names: Iterable[str]) -> str:
    text = _URL.sub(" ", text)
    text = _FILE_NAME.sub(" ", text)
    text = _MIME_TYPE.sub(" ", text)
    for name in sorted({*names, *PROPER_NOUNS}, key=len, reverse=True):
        text = text.replace(name, " ")
    return _COMMAND.sub(" ", text)


def problems_in(text: str, language: str, names: Iterable[str] = ()) -> list[str]:
    """What a reader of `language` ("zh" or "en") must not meet in `text`."""
    bare = _bare(text, names)
    found = [f"internal code {match!r}" for match in _SNAKE_CASE.findall(bare)]
    found += [f"Python data {match!r}" for match in _REPR.findall(bare)]
    found += [f"locale tag {match!r}" for match in _LOCALE_TAG.findall(bare)]
    if language == "en":
        found += [f"Chinese {match!r}" for match in _CHINESE.findall(bare)]
    else:
        found += [f"half-width {match!r}" for match in _HALF_WIDTH.findall(bare)]
        words = {word for word in _ENGLISH_WORD.findall(bare) if word not in _LATIN_IN_CHINESE}
        found += [
            f"enum value {word!r}" if word in ENUM_VALUES else f"English {word!r}"
            for word in sorted(words)
        ]
    return found


def message_text(message: dict[str, Any]) -> str:
    """A chat message as its reader sees it: its text or caption and every button's label."""
    parts = [message.get("text") or "", message.get("caption") or ""]
    markup = message.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []) + markup.get("keyboard", []):
        parts += [button["text"] if isinstance(button, dict) else str(button) for button in row]
    document = message.get("document") or {}
    parts.append(document.get("file_name") or "")
    return "\n".join(part for part in parts if part)


@dataclass
class Witness:
    journey: str
    person: str
    language: str  # "zh" or "en"
    names: set[str] = field(default_factory=set)
    seen: list[tuple[str, str]] = field(default_factory=list)  # (where, text)
    shots: int = 0

    def saw_message(self, message: dict[str, Any]) -> dict[str, Any]:
        self.seen.append((f"message {message.get('message_id')}", message_text(message)))
        return message

    def saw_messages(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for message in messages:
            self.saw_message(message)
        return messages

    async def saw_page(self, page: Any, step: str, *, frame: Any = None) -> str:
        """The page's visible text (or an iframe's, for a Mini App in the chat), and a shot."""
        await page.wait_for_load_state("load")
        text = await (frame or page).locator("body").inner_text()
        self.seen.append((f"page {step} {page.url}", text))
        await self.screenshot(page, step)
        return str(text)

    async def screenshot(self, page: Any, step: str) -> Path:
        self.shots += 1
        folder = SCREENSHOTS / self.journey
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.person}-{self.shots:02d}-{step}.png"
        # A photo still loading shows as a grey box: the shot waits for the page's pictures
        # (a picture that never loads is then seen as broken, as a person would see it).
        with contextlib.suppress(Exception):
            await page.evaluate(
                "() => Promise.race([new Promise(done => setTimeout(done, 10000)), Promise.all("
                "Array.from(document.images).map(i => i.decode().catch(() => null)))])"
            )
        await page.screenshot(path=str(path), full_page=True)
        return path

    def problems(self) -> list[str]:
        return [
            f"{where}: {problem} in {text[:160]!r}"
            for where, text in self.seen
            for problem in problems_in(text, self.language, self.names)
        ]

    def assert_clean(self) -> None:
        found = self.problems()
        assert not found, f"{self.person} ({self.language}) met:\n" + "\n".join(found)
