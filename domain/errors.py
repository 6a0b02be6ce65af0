from __future__ import annotations


class DomainError(Exception):
    """A rule said no. `code` is stable; adapters turn it into words in the user's language."""

    code: str = "domain_error"

    def __init__(self, code: str | None = None, **params: object) -> None:
        self.code = code or self.code
        self.params = params
        super().__init__(self.code)
