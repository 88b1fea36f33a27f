"""The driver-level statements of the settle path: several reads in one round trip, and writes
queued in a pipeline, behave as the same statements one after another would."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from gongji.store.raw import Raw


def _accounts(conn, db: Raw, names: list[str]) -> None:
    db.insert("accounts", ("name", "kind", "ledger"), [(n, "pool", "CNY") for n in names])


def test_many_answers_each_query_as_alone(engine) -> None:
    with engine.begin() as conn:
        db = Raw(conn)
        _accounts(conn, db, ["pool:A", "pool:B", "pool:C"])
        queries = [("SELECT name FROM accounts WHERE name IN ({}) ORDER BY name", (), [["pool:A", "pool:C"]]),
                   ("SELECT count(*) FROM accounts WHERE kind = ?", ("pool",), []),
                   ("SELECT name FROM accounts WHERE name = ?", ("nobody",), []),
                   ("SELECT name FROM accounts WHERE name IN ({})", (), [[]])]  # an empty list: no rows
        alone = [[tuple(r) for r in db.rows(t, *p, lists=ls)] for t, p, ls in queries]
        together = [[tuple(r) for r in rows] for rows in db.many(queries)]
        conn.rollback()
    assert together == alone == [[("pool:A",), ("pool:C",)], [(3,)], [], []]


def test_pipelined_writes_are_done_by_the_end_of_the_block(engine) -> None:
    with engine.begin() as conn:
        db = Raw(conn)
        with db.pipeline():
            _accounts(conn, db, ["pool:X"])
            db.run("UPDATE accounts SET ledger = ? WHERE name = ?", "QUOTA", "pool:X")
            seen = db.rows("SELECT ledger FROM accounts WHERE name = ?", "pool:X")  # a read sends what is queued
        after = db.one("SELECT ledger FROM accounts WHERE name = ?", "pool:X")
        conn.rollback()
    assert [tuple(r) for r in seen] == [("QUOTA",)] and tuple(after) == ("QUOTA",)


def test_a_queued_write_that_fails_fails_the_block(engine) -> None:
    """A refused write is not lost in the queue: it raises by the end of the block, and the
    transaction does not commit."""
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.UniqueViolation)) as caught:
        with engine.begin() as conn:
            db = Raw(conn)
            _accounts(conn, db, ["pool:Y"])
            with db.pipeline():
                _accounts(conn, db, ["pool:Y"])  # the name is unique
    assert "unique" in str(caught.value).lower()
    with engine.connect() as conn:
        assert Raw(conn).one("SELECT count(*) FROM accounts WHERE name = ?", "pool:Y")[0] == 0
