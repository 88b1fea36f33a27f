"""Refusals with the codes of shared/spec/calc-format.md and story-format.md."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal: nothing is settled or changed. ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field


class LedgerError(Exception):
    """An invariant of the money broke: a bug, never a refusal. Raised explicitly (not ``assert``,
    which ``python -O`` drops); the transaction rolls back and the API answers a plain 500."""
