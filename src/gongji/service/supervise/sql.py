"""The little SQL that differs between SQLite and PostgreSQL in the supervision scans.

SQLite keeps dates as ``YYYY-MM-DD`` text (compared as text, moved with ``date()``); PostgreSQL as
dates. Each helper gives the one expression for the connection's dialect, and ``param`` the
bound value of a date."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, text


class Dialect:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pg = conn.dialect.name == "postgresql"

    def plus(self, column: str, days: int) -> str:
        """``column`` + ``days`` days (``days`` is a checked int from the rules file, inlined)."""
        n = int(days)
        return f"({column} + {n})" if self.pg else f"date({column}, '{n:+d} days')"

    def ids(self, column: str) -> str:
        """The group's ids as one comma-separated text (NULLs left out)."""
        return f"string_agg(CAST({column} AS text), ',')" if self.pg else f"group_concat({column}, ',')"

    def distinct(self, column: str) -> str:
        """The group's distinct texts, comma-separated."""
        return f"string_agg(DISTINCT {column}, ',')" if self.pg else f"group_concat(DISTINCT {column})"

    def month(self, column: str) -> str:
        return f"CAST(date_trunc('month', {column}) AS date)" if self.pg else f"strftime('%Y-%m-01', {column})"

    def param(self, day: date) -> date | str:
        return day if self.pg else day.isoformat()

    def rows(self, sql: str, **params) -> list:
        return list(self.conn.execute(text(sql), params))


def day_of(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def id_list(value: str | None) -> list[int]:
    return sorted({int(x) for x in value.split(",")}) if value else []


def regions_sql(regions: list[str]) -> str:
    """An IN list of region codes; they are six digits, checked by the rules file and the registry."""
    if not regions or not all(r.isascii() and r.isdigit() and len(r) == 6 for r in regions):
        raise ValueError(f"bad region codes: {regions!r}")
    return "(" + ", ".join(f"'{r}'" for r in regions) + ")"
