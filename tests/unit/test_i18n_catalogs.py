from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from texts.i18n import LOCALES_DIR

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)s")


def _catalog(locale: str):
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=locale)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> set[str]:
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "__",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as file:
        ids = {message.id for message in read_po(file) if message.id}
    assert "📝 Enrol" in ids and "Page not found" in ids, "extraction missed code or templates"
    return ids


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_message_in_the_code_is_translated(locale: str, extracted: set[str]):
    catalog = _catalog(locale)
    translated = {
        message.id for message in catalog if message.id and message.string and not message.fuzzy
    }
    missing = sorted(extracted - translated)
    assert not missing, f"{locale} lacks translations (run `make i18n`, then translate): {missing}"


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_translations_keep_every_placeholder(locale: str):
    for message in _catalog(locale):
        if message.id:
            assert sorted(PLACEHOLDER.findall(message.id)) == sorted(
                PLACEHOLDER.findall(message.string)
            ), message.id


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_template_translations_survive_jinjas_percent_formatting(locale: str):
    """Jinja's newstyle gettext applies `%` to every translation used in a template, so a
    literal percent sign there must be written `%%` (a lone one breaks the page)."""
    folder = Path(__file__).resolve().parents[2] / "webview" / "templates"
    templates = "".join(path.read_text(encoding="utf-8") for path in folder.glob("*.html"))
    broken = [
        (message.id, message.string)
        for message in _catalog(locale)
        if isinstance(message.id, str)
        and message.id
        and message.id in templates
        and re.search(r"%(?![(%])", str(message.string).replace("%%", ""))
    ]
    assert not broken, broken


# Half-width , : ; ? ! ( ) touching a Chinese character ("考试: …", "(多选)", "口; 电梯"): Chinese
# text takes full-width punctuation (，：；？！（）). Placeholders are blanked first, so
# "%(name)s" never counts; "10:02" and "https://…" touch no Chinese character.
_CHINESE = "[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]"
_HALF_WIDTH_BY_CHINESE = re.compile(rf"(?<={_CHINESE})[,:;?!()]|[,:;?!()](?={_CHINESE})")


def _half_width_by_chinese(text: str) -> bool:
    return bool(_HALF_WIDTH_BY_CHINESE.search(PLACEHOLDER.sub("\u25a1", text)))


def test_the_check_sees_half_width_punctuation_by_chinese_text():
    assert _half_width_by_chinese("考试: %(title)s")
    assert _half_width_by_chinese("(多选)")
    assert _half_width_by_chinese("楼梯口; 电梯井口")
    assert not _half_width_by_chinese("考试：%(title)s（多选），10:02 https://example.org/a?b=1")


def test_chinese_messages_use_full_width_punctuation():
    offending = [
        message.string
        for message in _catalog("zh_CN")
        if message.id and isinstance(message.string, str) and _half_width_by_chinese(message.string)
    ]
    assert not offending, f"use ，：；？！（） next to Chinese text: {offending}"


def test_chinese_course_and_exam_content_uses_full_width_punctuation():
    """Questions, options and lesson titles reach trainees as they are written in content/."""
    import json

    def strings(value: object) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            return [text for item in value.values() for text in strings(item)]
        if isinstance(value, list):
            return [text for item in value for text in strings(item)]
        return []

    offending = [
        (path.name, text)
        for path in sorted((ROOT / "content").rglob("*.json"))
        for text in strings(json.loads(path.read_text(encoding="utf-8")))
        if _half_width_by_chinese(text)
    ]
    assert not offending, f"use ，：；？！（） next to Chinese text: {offending}"
