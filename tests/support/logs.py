"""The errors some loggers wrote during a block: what the fuzzers judge a bot update or a web
request by."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar


class ErrorRecords(logging.Handler):
    """Keeps every record at ERROR or above."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


Collector = TypeVar("Collector", bound=ErrorRecords)


@contextmanager
def collecting(handler: Collector, logger_names: Iterable[str]) -> Iterator[Collector]:
    """`handler` on the named loggers until the block ends."""
    loggers = [logging.getLogger(name) for name in logger_names]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
