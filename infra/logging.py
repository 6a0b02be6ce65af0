"""Structured logs that never carry a full ID number or phone (PIPL)."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

from domain.masking import redact_text

# Which Telegram update or web request a log line belongs to: set where each starts (the bot's
# and the web view's outermost middleware), read by every line logged while it runs, in any
# module. Ids only: no name, phone or ID number.
UPDATE_ID: ContextVar[int | None] = ContextVar("update_id", default=None)
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


class RedactingFilter(logging.Filter):
    """The message, and the traceback too: an exception's text may quote the input."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = redact_text(_TRACEBACKS.formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


_TRACEBACKS = logging.Formatter()


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, var in (("update_id", UPDATE_ID), ("request_id", REQUEST_ID)):
            value = var.get()
            if value is not None and not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("update_id", "user_id", "request_id", "order_id"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = redact_text(self.formatException(record.exc_info))
        elif record.exc_text:  # already formatted (and redacted) by RedactingFilter
            entry["exc"] = redact_text(record.exc_text)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str = "INFO", fmt: str = "text", stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.addFilter(ContextFilter())
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # No line per request or per update (aiogram's "Update id=… is handled"): the metrics count
    # both with their durations, and failures are logged all the same.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
