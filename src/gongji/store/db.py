"""Engines for SQLite (WAL, the embedded default) and PostgreSQL, and migrations by Alembic.

Writers on SQLite take the database lock up front (``BEGIN IMMEDIATE``), so a read-then-write
transaction can never be overtaken between its read and its write. On PostgreSQL the service locks
the person rows it will change, in ``psn_no`` order (see ``service.uow``).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

DEFAULT_DB = "gongji.db"
MIGRATIONS = Path(__file__).with_name("migrations")


def database_url(url: str | None = None) -> str:
    """A URL, or a file path meaning SQLite; default ``$GONGJI_DB`` or ``./gongji.db``."""
    url = url or os.environ.get("GONGJI_DB") or DEFAULT_DB
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + _hosts_as_query(url.split("://", 1)[1])
    if "://" not in url:
        return f"sqlite:///{url}"
    return url


def _hosts_as_query(rest: str) -> str:
    """libpq's multi-host form ``user@h1:p1,h2:p2/db?x=1`` (a Patroni cluster: the client finds the
    primary, ``target_session_attrs``) as SQLAlchemy reads it: ``user@/db?x=1&host=h1:p1&host=h2:p2``."""
    auth, at, tail = rest.rpartition("@")
    hosts, slash, path = tail.partition("/")
    if "," not in hosts:
        return rest
    db, q, query = path.partition("?")
    extra = "&".join(f"host={h}" for h in hosts.split(","))
    return f"{auth}{at}/{db}?{query + '&' if query else ''}{extra}"


def make_engine(url: str | None = None, **kw) -> Engine:
    url = database_url(url)
    # a database error's text never carries the statement's values (password hashes, secrets,
    # ID-card numbers): it reaches logs and tracebacks
    kw.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, **kw)
        _sqlite_setup(engine)
        # Writers of this process queue on a lock instead of SQLite's busy handler, which polls
        # with sleeps of up to 100 ms; other processes still meet the busy timeout.
        engine.gongji_write_lock = threading.RLock()
        return engine
    # 20 kept open: under 32 signed settlements at once a pool of 10 opened and closed an overflow
    # connection for most requests (measured on bench.http). Up to 50 a process: several worker
    # processes need max_connections (100 by default) raised, or pgbouncer (docs/deploy.md).
    engine = create_engine(url, pool_size=20, max_overflow=30, **kw)
    _pg_setup(engine)
    return engine


IDLE_BEFORE_PING = 1.0  # seconds


def _pg_setup(engine: Engine) -> None:
    """A pooled connection is pinged before use only when it sat idle for a while: a ping per
    checkout (``pool_pre_ping``) was a round trip of every settlement batch. A connection in use a
    moment ago is alive, or its failure shows on the batch's first statement, which is retried
    with its idempotency key (``service.uow.run(..., idempotent=True)``). A connection the settle path put in autocommit mode (to send its
    BEGIN with its first reads, ``store.raw``) is put back before the pool lends it again."""

    from psycopg.pq import TransactionStatus

    from gongji.store.raw import AUTOCOMMIT_SET

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn, record, _proxy) -> None:
        if dbapi_conn.broken or dbapi_conn.closed:  # known dead: the pool makes a new one
            raise DisconnectionError()
        if time.monotonic() - record.info.get("returned", 0.0) > IDLE_BEFORE_PING:
            try:
                engine.dialect.do_ping(dbapi_conn)
            except Exception as e:  # noqa: BLE001 - the pool replaces the connection and tries again
                raise DisconnectionError() from e

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_conn, record) -> None:
        if dbapi_conn is None:
            return
        record.info["returned"] = time.monotonic()
        if record.info.pop(AUTOCOMMIT_SET, False):
            try:
                if dbapi_conn.info.transaction_status != TransactionStatus.IDLE:
                    dbapi_conn.rollback()
                dbapi_conn.autocommit = False
            except Exception as e:  # noqa: BLE001 - a broken connection: closed, never lent again
                record.invalidate(e)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        write = conn.get_execution_options().get("gongji_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (a fresh database gets every table)."""
    command.upgrade(alembic_config(engine), "head")


def is_empty(engine: Engine) -> bool:
    return not inspect(engine).get_table_names()


def redacted(url: str) -> str:
    return make_url(database_url(url)).render_as_string(hide_password=True)
