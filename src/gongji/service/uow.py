"""Unit of work: one database transaction per use case, retried when the database asks.

A writer on SQLite holds the write lock from its first statement (``BEGIN IMMEDIATE``). On
PostgreSQL a writer locks the person rows whose money or quota it will touch, in ``psn_no`` order
(``lock``), so two settlements against one holder run one after the other and each sees the
other's result; a deadlock or serialization failure rolls back and runs the use case again.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from gongji.store import models as m

T = TypeVar("T")
RETRYABLE_PG = {"40001", "40P01"}  # serialization_failure, deadlock_detected
MAX_ATTEMPTS = 8


class Retry(Exception):
    """Raised inside a use case to roll back and run it again (e.g. a lost insert race)."""


class UnitOfWork:
    def __init__(self, engine: Engine, write: bool = True) -> None:
        self.engine = engine
        self.write = write
        self.sqlite = engine.dialect.name == "sqlite"

    def __enter__(self) -> UnitOfWork:
        self._queue = getattr(self.engine, "gongji_write_lock", None) if self.write else None
        if self._queue is not None:
            self._queue.acquire()
        bind = _writer(self.engine) if self.write and self.sqlite else self.engine
        self.session = Session(bind=bind, expire_on_commit=False, autoflush=True)
        return self

    def __exit__(self, exc_type, *_) -> None:
        try:
            if exc_type is None and self.write:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()
            if self._queue is not None:
                self._queue.release()

    def lock(self, psn_nos: Iterable[str]) -> dict[str, m.Person]:
        """The person rows, locked for this transaction (PostgreSQL: ``FOR UPDATE`` in psn_no order;
        SQLite: already exclusive)."""
        wanted = sorted(set(psn_nos))
        if not wanted:
            return {}
        q = (select(m.Person).where(m.Person.psn_no.in_(wanted)).order_by(m.Person.psn_no)
             .execution_options(populate_existing=True))
        if not self.sqlite:
            q = q.with_for_update()
        return {p.psn_no: p for p in self.session.scalars(q)}


def _writer(engine: Engine) -> Engine:
    """The engine whose transactions begin IMMEDIATE (SQLite), made once per engine: making it
    is a good part of a small transaction's Python."""
    writer = getattr(engine, "gongji_writer", None)
    if writer is None:
        writer = engine.gongji_writer = engine.execution_options(gongji_write=True)  # type: ignore[attr-defined]
    return writer


def _retryable(e: Exception) -> bool:
    """Also for the driver's own errors: the settle path runs statements on the driver's cursor
    (``store.raw``), where SQLAlchemy does not wrap them."""
    if isinstance(e, (Retry, IntegrityError, sqlite3.IntegrityError)):
        return True
    orig = e.orig if isinstance(e, DBAPIError) else e
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in RETRYABLE_PG or (code or "").startswith("23"):  # class 23: integrity constraint violation
        return True
    return "database is locked" in str(orig)


def _disconnected(e: Exception) -> bool:
    """The connection to the server was lost (a restart, a failover), as SQLAlchemy saw it or as
    the driver raised it on ``store.raw``'s statements."""
    if isinstance(e, DBAPIError) and e.connection_invalidated:
        return True
    orig = e.orig if isinstance(e, DBAPIError) else e
    code = getattr(orig, "sqlstate", None)
    return (type(orig).__module__.startswith("psycopg") and type(orig).__name__ == "OperationalError"
            and (code is None or code.startswith("57P")))  # 57P01-03: the server shut down, or cannot connect now


def run(engine: Engine, work: Callable[[UnitOfWork], T], write: bool = True, idempotent: bool = False) -> T:
    """Run ``work`` in a fresh unit of work, committing on success; retry what the database says
    may succeed on a second try. An ``IntegrityError`` is retried too (the retry sees the row the
    other transaction inserted) and re-raised after the last attempt. An ``idempotent`` use case
    (a settlement batch: its keys answer a retry with the first result, had the lost commit landed
    after all) is also retried when the connection was lost, on a new pool's connections."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with UnitOfWork(engine, write) as uow:
                return work(uow)
        except Exception as e:  # noqa: BLE001 - filtered just below
            lost = idempotent and _disconnected(e)
            if lost and attempt < MAX_ATTEMPTS:
                engine.dispose(close=False)  # the other pooled connections died with this one
            if attempt == MAX_ATTEMPTS or not (lost or _retryable(e)):
                raise
            time.sleep(random.uniform(0, 0.01 * attempt))  # jitter before the next try
    raise AssertionError("unreachable")
