"""Gettext for every channel and page: the catalogs in locales/, and the reader's language for
the task at hand (a context variable, so concurrent updates each speak their own)."""

from __future__ import annotations

import contextlib
import gettext as stdlib_gettext
import os
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cached_property
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from domain.locales import DEFAULT_LOCALE, Locale

LOCALES_DIR = Path(__file__).resolve().parents[1] / "locales"
DOMAIN = "messages"

_current: ContextVar[str] = ContextVar("jijiao_locale", default=DEFAULT_LOCALE.value)


def compile_catalogs(locales_dir: Path = LOCALES_DIR) -> list[Path]:
    """The committed .po files compiled to .mo where the .mo is missing or older."""
    written = []
    for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parts[-3])
        # Written aside and renamed into place: instances starting at once from one tree
        # compile side by side, and one must never read another's half-written file.
        partial = mo_path.with_name(f"{mo_path.name}.{os.getpid()}.tmp")
        with partial.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        os.replace(partial, mo_path)
        written.append(mo_path)
    return written


class Catalogs:
    """The translations of every known locale; words in the current one."""

    def __init__(self, locales_dir: Path = LOCALES_DIR) -> None:
        self._dir = locales_dir
        self.default_locale = DEFAULT_LOCALE.value

    @cached_property
    def _translations(self) -> dict[str, stdlib_gettext.NullTranslations]:
        compile_catalogs(self._dir)
        found: dict[str, stdlib_gettext.NullTranslations] = {}
        for locale in Locale:
            mo_path = self._dir / locale.value / "LC_MESSAGES" / f"{DOMAIN}.mo"
            if mo_path.exists():
                with mo_path.open("rb") as mo_file:
                    found[locale.value] = stdlib_gettext.GNUTranslations(mo_file)
        return found

    @property
    def current_locale(self) -> str:
        return _current.get()

    def gettext(self, singular: str, plural: str | None = None, n: int = 1) -> str:
        translations = self._translations.get(_current.get())
        if translations is None:
            return singular if plural is None or n == 1 else plural
        if plural is None:
            return translations.gettext(singular)
        return translations.ngettext(singular, plural, n)

    @contextlib.contextmanager
    def use_locale(self, locale: str) -> Iterator[None]:
        token = _current.set(locale)
        try:
            yield
        finally:
            _current.reset(token)

    def switch_locale(self, locale: str) -> None:
        """The locale for the rest of the enclosing `use_locale` block: a request that learns
        its reader's language part-way (webview.middlewares.speak)."""
        _current.set(locale)

    @contextlib.contextmanager
    def context(self) -> Iterator[None]:
        """Kept for callers written for aiogram's I18n: the catalogs are always in context."""
        yield


CATALOGS = Catalogs()


def gettext(singular: str, plural: str | None = None, n: int = 1) -> str:
    return CATALOGS.gettext(singular, plural, n)


def use_locale(locale: str) -> contextlib.AbstractContextManager[None]:
    return CATALOGS.use_locale(locale)


def current_locale() -> str:
    return _current.get()
