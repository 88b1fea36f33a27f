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
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import date
from functools import cache, lru_cache
from typing import Any

from psycopg import ClientCursor
from psycopg.pq import TransactionStatus
from sqlalchemy import Connection

IDLE = TransactionStatus.IDLE
JSON_COLUMNS = {"codes", "explain"}  # JSON in the table: sent as JSON values, not as text, in a deferred write
AUTOCOMMIT_SET = "gongji_autocommit"  # in the pooled connection's info: Raw switched it on


@cache
def _sql(text: str, pg: bool, sizes: tuple[int, ...]) -> str:
    for n in sizes:  # an empty list matches nothing, as IN () would if SQL allowed it
        text = text.replace("{}", ",".join("?" * n) or "NULL", 1)
    return text.replace("?", "%s") if pg else text


@lru_cache(maxsize=256)
def _values(width: int, count: int) -> str:
    return ",".join(["(" + ",".join("?" * width) + ")"] * count)


@lru_cache(maxsize=256)
def _unnest(table: str, columns: tuple[str, ...]) -> str:
    """``unnest(?::type[], ...)`` for these columns, types from the models' metadata."""
    from sqlalchemy.dialects import postgresql

    from gongji.store.models import Base
    t = Base.metadata.tables[table]
    types = [t.c[c.strip('"')].type.compile(dialect=postgresql.dialect()) for c in columns]
    return "unnest(" + ", ".join(f"?::{ty}[]" for ty in types) + ")"


class Raw:
    statements = 0  # calls to the driver, all threads; read by bench.settle to size its floor

    def __init__(self, conn: Connection) -> None:
        self.pg = conn.dialect.name == "postgresql"
        self.doc: dict[str, Any] | None = None  # inside ``deferred`` on PostgreSQL: the parts gathered
        self.cur = conn.connection.driver_connection.cursor()
        self.info = conn.connection.info  # the pooled connection's: outlives this object

    def sql(self, text: str, lists: Sequence[Sequence[Any]] = ()) -> str:
        return _sql(text, self.pg, tuple(len(x) for x in lists))

    def rows(self, text: str, *params: Any, lists: Sequence[Sequence[Any]] = (), shape=None) -> list:
        """Rows of a select; ``lists`` fill the ``IN ({})`` places first, then ``params``."""
        args = [a for x in lists for a in x] + list(params)
        Raw.statements += 1
        self.cur.execute(self.sql(text, lists), args)
        out = self.cur.fetchall()
        return [shape._make(r) for r in out] if shape else out

    def many(self, queries: Sequence[tuple[str, Sequence[Any], Sequence[Sequence[Any]]]]) -> list[list]:
        """The rows of several independent selects, each (text, params, lists), one after another
        (SQLite; PostgreSQL's settle read is one call, ``call``)."""
        return [self.rows(text, *params, lists=lists) for text, params, lists in queries]

    def call(self, text: str, *params: Any, begin: bool = False, commit: bool = False) -> list:
        """PostgreSQL: one statement (a server function's call) as one simple-protocol query, its
        parameters bound on the client (psycopg quotes them), with ``begin`` the BEGIN of a
        transaction not yet open and with ``commit`` the COMMIT in the same query: one round trip.
        Measured here, two such queries cost a third of the CPU of the same work in pipeline mode
        (180-230 µs against 90 µs), and their round trips on loopback are some 25 µs each."""
        opened = begin and self._begin()
        sql = ("BEGIN; " if opened else "") + self.sql(text) + ("; COMMIT" if commit else "")
        Raw.statements += 1
        cur = ClientCursor(self.cur.connection)
        cur.execute(sql, params)
        if opened:
            cur.nextset()  # past the BEGIN's result
        return cur.fetchall() if cur.description else []

    def pipeline(self):
        """Within it, statements whose answer is not read (inserts without RETURNING, updates) are
        queued and sent with the next read or at the end: fewer round trips on PostgreSQL. A
        failure among them surfaces at that later point, still inside the same transaction."""
        return self.cur.connection.pipeline() if self.pg else nullcontext()

    def _begin(self) -> bool:
        """Whether the caller must send a BEGIN (with its first statement): no transaction is
        open yet. psycopg would send one by itself and wait for its answer, a round trip of its
        own; so the connection is put in autocommit mode until the transaction ends (``settled``,
        and ``store.db`` before the pool lends the connection again, whatever happened)."""
        conn = self.cur.connection
        if conn.info.transaction_status != IDLE:
            return False
        if not conn.autocommit:  # (already in autocommit mode: a BEGIN all the same, never none)
            conn.autocommit = True
            self.info[AUTOCOMMIT_SET] = True
        return True

    @contextmanager
    def deferred(self, commit: bool = False) -> Iterator[None]:
        """On PostgreSQL, the inserts without RETURNING and the updates made inside are gathered,
        one part per table, into one JSON document sent at the end as one call of
        ``settle_write`` (migration 0013), with ``commit`` followed by the COMMIT in the same
        query: one round trip, one parameter, instead of a statement and an array per column
        for each table (psycopg types every element of an array parameter: half the Python of a
        settlement batch, measured). The rows are the ones SQLite gets as statements; there this
        changes nothing (the unit of work commits)."""
        if not self.pg:
            yield
            return
        self.doc = {}
        try:
            yield
            doc = self.doc
        finally:
            self.doc = None
        if doc:
            self.call("SELECT settle_write(?::jsonb)", json.dumps(doc, ensure_ascii=False, default=str),
                      commit=commit and bool(self.info.get(AUTOCOMMIT_SET)))

    def defer(self, part: str, value: Any) -> bool:
        """Add ``part`` to the document being gathered; False when nothing is (then the caller
        sends the statement itself)."""
        if self.doc is None:
            return False
        if part in self.doc:
            raise ValueError(f"{part} twice in one deferred write")
        self.doc[part] = value
        return True

    def _rows_of(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[dict]:
        names = [c.strip('"') for c in columns]
        return [{n: json.loads(v) if n in JSON_COLUMNS and isinstance(v, str) else v for n, v in zip(names, r, strict=True)}
                for r in rows]

    def settled(self) -> None:
        """After a COMMIT sent by ``call``: psycopg back to beginning transactions itself."""
        conn = self.cur.connection
        if self.pg and self.info.get(AUTOCOMMIT_SET) and conn.info.transaction_status == IDLE:
            conn.autocommit = False
            del self.info[AUTOCOMMIT_SET]

    def one(self, text: str, *params: Any):
        Raw.statements += 1
        self.cur.execute(self.sql(text), params)
        return self.cur.fetchone()

    def run(self, text: str, *params: Any) -> None:
        Raw.statements += 1
        self.cur.execute(self.sql(text), params)

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
               returning: str | None = None) -> list[tuple]:
        """One multi-row insert (one statement for the server to plan, not one per row). With
        ``returning``: the rows made as (id, ``returning``...), for the caller to match on a
        unique column, since neither database promises RETURNING's order."""
        if not rows:
            return []
        if not returning and self.defer(f"insert:{table}", self._rows_of(columns, rows) if self.doc is not None else None):
            return []
        Raw.statements += 1
        if self.pg:  # one array per column: the text is the same for any number of rows, so prepared
            text = f"INSERT INTO {table} ({','.join(columns)}) SELECT * FROM {_unnest(table, tuple(columns))}"
            args = [list(col) for col in zip(*rows, strict=False)]
        else:
            text = f"INSERT INTO {table} ({','.join(columns)}) VALUES {_values(len(columns), len(rows))}"
            args = [v for r in rows for v in r]
        if returning:
            text += f" RETURNING id, {returning}"
        self.cur.execute(_sql(text, self.pg, ()), args)
        return self.cur.fetchall() if returning else []

    def update(self, table: str, key: Sequence[str], columns: Sequence[str], rows: list[Sequence[Any]]) -> None:
        """Set ``columns`` on many rows found by ``key``, in one ``UPDATE … FROM (VALUES …)``
        (PostgreSQL, and SQLite since 3.33); each row is key values then column values."""
        if not rows:
            return
        names = (*key, *columns)
        if self.doc is not None and self.defer(f"update:{table}", self._rows_of(names, rows)):
            return
        Raw.statements += 1
        if self.pg:
            source = f"{_unnest(table, names)} AS v({', '.join(names)})"
            args = [list(col) for col in zip(*rows, strict=False)]
        else:
            source = (f"(SELECT {', '.join(f'column{i + 1} AS {n}' for i, n in enumerate(names))} FROM "
                      f"(VALUES {_values(len(names), len(rows))}) AS t) AS v")
            args = [v for r in rows for v in r]
        text = (f"UPDATE {table} SET {', '.join(f'{c} = v.{c}' for c in columns)} FROM {source} WHERE "
                + " AND ".join(f"{table}.{k} = v.{k}" for k in key))
        self.cur.execute(_sql(text, self.pg, ()), args)

    def date(self, d: date | None):
        return d.isoformat() if d is not None and not self.pg else d

    def read_date(self, v) -> date | None:
        return date.fromisoformat(v) if isinstance(v, str) else v

    @staticmethod
    def json(value: Any) -> str:
        # UTF-8 rather than \u escapes: a third of the bytes, and far cheaper inside a PostgreSQL array
        return json.dumps(value, ensure_ascii=False)


def shape(name: str, fields: str):
    return namedtuple(name, fields)


def quoted(names: Iterable[str]) -> str:
    return ",".join(f'"{n}"' for n in names)
