"""Databases for the store tests: every such test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``GONGJI_TEST_PG`` (a server URL; CI sets it). A database is created for
the session on that server and dropped at the end; each test starts from empty tables. Unset, the
local server (127.0.0.1:5432, user postgres) is tried. In CI (``CI`` set) an unreachable server
fails the run: PostgreSQL tests never skip there."""

from __future__ import annotations

import logging
import logging.config
import os
import secrets
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from gongji.logs import ID_CARD, PHONE, UVICORN_LOGGING, MaskingFormatter, configure_structlog
from gongji.store.db import database_url, make_engine, migrate
from gongji.store.models import Base

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


class _Capture(logging.Handler):
    """Every log line of the whole suite, formatted as production formats it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(MaskingFormatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


CAPTURE = _Capture()


def pytest_configure(config) -> None:
    configure_structlog()
    logging.config.dictConfig(UVICORN_LOGGING)  # as `gongji serve` does: uvicorn's lines reach the root
    logging.getLogger().addHandler(CAPTURE)
    logging.getLogger("gongji").setLevel(logging.DEBUG)


def pytest_sessionfinish(session, exitstatus) -> None:
    """No unmasked ID-card number or phone in any log line of the suite's flows, uvicorn's and
    the libraries' included (every logger must reach the root, where CAPTURE listens); and the
    flows did log such values (masked), so this check has something to bite on."""
    leaks = [line for line in CAPTURE.lines if ID_CARD.search(line) or PHONE.search(line)]
    probes = [line for line in CAPTURE.lines if "note=" in line]  # test_security's PII probe
    unmasked_probe = probes and not any("652801********1238" in p and "139****5678" in p for p in probes)
    aside = _loggers_aside()
    if leaks or unmasked_probe or aside:
        print("\nPersonal data in log lines:" if leaks else "\nThe PII probe was not logged masked" if unmasked_probe
              else f"\nLoggers whose lines bypass the masking root handler: {aside}")
        for line in leaks[:10]:
            print("  ", line[:200])
        session.exitstatus = 1


def _loggers_aside() -> list[str]:
    """Loggers that keep their lines from the root logger or write them through a handler of
    their own that does not mask (uvicorn's default configuration does both)."""
    out = []
    for name, logger in logging.Logger.manager.loggerDict.items():
        if not isinstance(logger, logging.Logger):
            continue
        unmasked = [h for h in logger.handlers
                    if not isinstance(h, logging.NullHandler) and not isinstance(h.formatter, MaskingFormatter)]
        if not logger.propagate or unmasked:
            out.append(name)
    return sorted(out)


@pytest.fixture(scope="session")
def pg_url():
    given = os.environ.get("GONGJI_TEST_PG")
    in_ci = bool(os.environ.get("CI"))
    if in_ci and not given:
        pytest.fail("CI must set GONGJI_TEST_PG: the PostgreSQL tests may not skip")
    admin = make_engine(given or LOCAL_PG, isolation_level="AUTOCOMMIT")
    name = f"gongji_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        with admin.connect() as c:
            c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError as e:
        if given or in_ci:
            pytest.fail(f"PostgreSQL unreachable at GONGJI_TEST_PG: {e.orig}")
        pytest.skip("no PostgreSQL at 127.0.0.1:5432 and GONGJI_TEST_PG not set")
    url = make_url(database_url(given or LOCAL_PG)).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    yield url
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "gongji.db"
    engine = make_engine(str(path))
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """An engine on a migrated, empty database of each kind. After the test, ``verify`` must be
    clean, unless the test damages the database on purpose (marked ``tampers``)."""
    yield from _empty_engine(request.param, request, tmp_path)


@pytest.fixture
def pg_engine(request, tmp_path):
    """The PostgreSQL one alone, for what only PostgreSQL has (query plans)."""
    yield from _empty_engine("postgresql", request, tmp_path)


def _empty_engine(kind: str, request, tmp_path):
    if kind == "sqlite":
        path = tmp_path / "gongji.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        eng = make_engine(str(path))
    else:
        eng = make_engine(request.getfixturevalue("pg_url"))
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with eng.begin() as c:
            c.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield eng
    if request.node.get_closest_marker("tampers") is None:
        from gongji.service.facade import Service
        assert Service(eng).verify() == [], "the test left the database inconsistent"
    eng.dispose()
