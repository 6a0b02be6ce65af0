"""The message catalogs, for the composition root: see texts/i18n.py."""

from __future__ import annotations

from texts.i18n import CATALOGS, Catalogs, compile_catalogs

__all__ = ["Catalogs", "compile_catalogs", "make_i18n"]


def make_i18n() -> Catalogs:
    CATALOGS.gettext("")  # compiles and loads them now, not on the first message
    return CATALOGS
