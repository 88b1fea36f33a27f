"""Backup and restore: SQLite by its online backup API (safe while the server runs), PostgreSQL
by ``pg_dump`` / ``pg_restore`` (custom format). A restore refuses a database that has data."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from gongji.store.db import database_url, is_empty, make_engine


class BackupError(RuntimeError):
    pass


def _libpq(url: str) -> str:
    if url.startswith(("postgresql://", "postgres://")):  # libpq's own, multi-host (a Patroni cluster) included
        return url
    return make_url(database_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools")
    return path


def backup(url: str, file: Path) -> None:
    u = make_url(database_url(url))
    if u.drivername.startswith("sqlite"):
        if not u.database or not Path(u.database).exists():
            raise BackupError(f"no SQLite database at {u.database}")
        src = sqlite3.connect(u.database)
        dst = sqlite3.connect(file)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return
    run = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={file}", _libpq(url)],
                         capture_output=True, text=True)
    if run.returncode:
        raise BackupError(f"pg_dump: {run.stderr.strip().splitlines()[-1] if run.stderr.strip() else run.returncode}")


def restore(url: str, file: Path) -> None:
    if not file.exists():
        raise BackupError(f"no backup file {file}")
    u = make_url(database_url(url))
    if u.drivername.startswith("sqlite"):
        src = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
        dst = sqlite3.connect(u.database)
        try:
            if dst.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]:
                raise BackupError(f"{u.database} is not empty: restore into a new database")
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return
    engine = make_engine(url)
    try:
        if not is_empty(engine):
            raise BackupError(f"{u.database} is not empty: restore into a new database")
    finally:
        engine.dispose()
    run = subprocess.run([_tool("pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={_libpq(url)}", str(file)],
                         capture_output=True, text=True)
    if run.returncode:
        lines = run.stderr.strip().splitlines()
        raise BackupError(f"pg_restore: {lines[-1] if lines else run.returncode}")
