"""The settlement hot path's statements, run on the driver's own cursor.

Measured on this project's machine: a prebuilt SQLAlchemy Core select costs about 90 µs of Python
per execution, the same statement on the sqlite3 cursor 7 µs. A batch runs some twenty of them,
so the settle path (``service.snapshot``, ``service.settle_batch``, ``service.audit``) writes
plain SQL here, in the transaction of the caller's SQLAlchemy connection; everything else keeps
the ORM. SQL is written with ``?`` and turned into ``%s`` for psycopg; ``IN ({})`` takes a list.
Dates cross as ISO text on SQLite (as SQLAlchemy stores them) and as dates on PostgreSQL.
"""

from __future__ import annotations

import json
from collections import namedtuple
from datetime import date
from functools import lru_cache
from typing import Any, Iterable, Sequence

from sqlalchemy import Connection


@lru_cache(maxsize=None)
def _sql(text: str, pg: bool, sizes: tuple[int, ...]) -> str:
    for n in sizes:
        text = text.replace("{}", ",".join("?" * n), 1)
    return text.replace("?", "%s") if pg else text


class Raw:
    statements = 0  # calls to the driver, all threads; read by bench.settle to size its floor

    def __init__(self, conn: Connection) -> None:
        self.pg = conn.dialect.name == "postgresql"
        self.cur = conn.connection.driver_connection.cursor()

    def sql(self, text: str, lists: Sequence[Sequence[Any]] = ()) -> str:
        return _sql(text, self.pg, tuple(len(x) for x in lists))

    def rows(self, text: str, *params: Any, lists: Sequence[Sequence[Any]] = (), shape=None) -> list:
        """Rows of a select; ``lists`` fill the ``IN ({})`` places first, then ``params``."""
        args = [a for x in lists for a in x] + list(params)
        Raw.statements += 1
        self.cur.execute(self.sql(text, lists), args)
        out = self.cur.fetchall()
        return [shape._make(r) for r in out] if shape else out

    def one(self, text: str, *params: Any):
        Raw.statements += 1
        self.cur.execute(self.sql(text), params)
        return self.cur.fetchone()

    def run(self, text: str, *params: Any) -> None:
        Raw.statements += 1
        self.cur.execute(self.sql(text), params)

    def many(self, text: str, rows: list[Sequence[Any]]) -> None:
        if rows:
            Raw.statements += 1
            self.cur.executemany(self.sql(text), rows)

    def insert_returning(self, table: str, columns: Sequence[str], rows: list[Sequence[Any]],
                         returning: str) -> list[tuple]:
        """One multi-row insert; the rows it made as (id, ``returning``...), matched by the caller
        on a unique column, since neither database promises RETURNING's order."""
        if not rows:
            return []
        one = "(" + ",".join("?" * len(columns)) + ")"
        Raw.statements += 1
        text = f"INSERT INTO {table} ({','.join(columns)}) VALUES {','.join([one] * len(rows))} RETURNING id, {returning}"
        self.cur.execute(_sql(text, self.pg, ()), [v for r in rows for v in r])
        return self.cur.fetchall()

    def date(self, d: date | None):
        return d.isoformat() if d is not None and not self.pg else d

    def read_date(self, v) -> date | None:
        return date.fromisoformat(v) if isinstance(v, str) else v

    @staticmethod
    def json(value: Any) -> str:
        return json.dumps(value)  # as SQLAlchemy's JSON type writes it


def shape(name: str, fields: str):
    return namedtuple(name, fields)


def quoted(names: Iterable[str]) -> str:
    return ",".join(f'"{n}"' for n in names)
