"""Refusals with the codes of shared/spec/calc-format.md and story-format.md."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal: nothing is settled or changed. ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field
