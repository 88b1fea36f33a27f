"""Every journal entry sums to zero per ledger: checked in Python with an explicit error (not an
``assert``, which ``python -O`` drops), and on PostgreSQL by a constraint trigger deferred to
COMMIT, so SQL that bypasses the service cannot write an unbalanced entry either."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bench.world import World
from gongji.service import commands as c
from gongji.service import ledger
from tests.service.helpers import service

ACCOUNTS = ("INSERT INTO accounts (id, name, kind, ledger, balance) VALUES"
            " (1, 'contributions', 'contributions', 'CNY', NULL), (2, 'pool:652800', 'pool', 'CNY', NULL),"
            " (3, 'quota:received:P1:2025', 'quota', 'QUOTA', NULL), (4, 'quota:forfeited', 'quota', 'QUOTA', NULL)")


def _entry(conn, jid: int, lines: list[tuple[int, int]]) -> None:
    conn.execute(text("INSERT INTO journal (id, kind, \"on\", created_at) VALUES (:j, 'credit', '2025-03-01',"
                      " CURRENT_TIMESTAMP)"), {"j": jid})
    for account, amount in lines:
        conn.execute(text("INSERT INTO postings (journal_id, account_id, amount) VALUES (:j, :a, :n)"),
                     {"j": jid, "a": account, "n": amount})


def _commit_refused(engine, *statements) -> str:
    """Run the statements in one transaction: each is accepted, the COMMIT is refused."""
    conn = engine.connect()
    try:
        conn.execute(text(ACCOUNTS))
        for step in statements:
            step(conn)
        with pytest.raises(DBAPIError) as refused:
            conn.commit()
        return str(refused.value.orig)
    finally:
        conn.close()


def _count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_an_unbalanced_entry_written_in_raw_sql_is_refused_at_commit(pg_engine) -> None:
    message = _commit_refused(pg_engine, lambda conn: _entry(conn, 1, [(1, -100), (2, 99)]))
    assert "journal entry 1 does not balance: its CNY postings sum to -1" in message
    assert _count(pg_engine, "postings") == _count(pg_engine, "journal") == 0


def test_a_balanced_entry_in_raw_sql_commits(pg_engine) -> None:
    with pg_engine.begin() as conn:
        conn.execute(text(ACCOUNTS))
        _entry(conn, 1, [(1, -100), (2, 60), (2, 40)])
        _entry(conn, 2, [(3, -5), (4, 5), (1, -7), (2, 7)])
    assert _count(pg_engine, "postings") == 7


@pytest.mark.parametrize("lines", [[(1, -100), (3, 100)], [(1, -100), (2, 100), (3, -5), (4, 4)]],
                         ids=["zero overall, not per ledger", "CNY balanced, QUOTA not"])
def test_each_ledger_of_an_entry_must_balance(pg_engine, lines) -> None:
    message = _commit_refused(pg_engine, lambda conn: _entry(conn, 1, lines))
    assert "does not balance" in message


@pytest.mark.parametrize("change", [
    "UPDATE postings SET amount = amount + 1 WHERE id = (SELECT min(id) FROM postings)",
    "DELETE FROM postings WHERE id = (SELECT max(id) FROM postings)",
    "UPDATE postings SET journal_id = 2 WHERE id = (SELECT min(id) FROM postings)",
    "UPDATE accounts SET ledger = 'QUOTA' WHERE id = 2",
])
def test_a_later_change_that_unbalances_an_entry_is_refused(pg_engine, change: str) -> None:
    with pg_engine.begin() as conn:
        conn.execute(text(ACCOUNTS))
        _entry(conn, 1, [(1, -100), (2, 100)])
        _entry(conn, 2, [(1, -50), (2, 50)])
    with pg_engine.connect() as conn:
        conn.execute(text(change))
        with pytest.raises(DBAPIError, match="does not balance"):
            conn.commit()
    assert _count(pg_engine, "postings") == 4


def test_an_entry_checked_early_is_checked_again_after_a_later_write(pg_engine) -> None:
    """An entry found balanced mid-transaction (constraints made immediate) and unbalanced
    afterwards is still refused: a check remembered for speed never hides a later write."""
    def early_check_then_break(conn) -> None:
        _entry(conn, 1, [(1, -100), (2, 100)])
        conn.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
        conn.execute(text("SET CONSTRAINTS ALL DEFERRED"))
        conn.execute(text("INSERT INTO postings (journal_id, account_id, amount) VALUES (1, 2, 1)"))
    assert "journal entry 1 does not balance" in _commit_refused(pg_engine, early_check_then_break)


def test_the_python_check_holds_under_python_dash_o(tmp_path) -> None:
    """``python -O`` drops ``assert``; the ledger's own checks must still refuse."""
    script = textwrap.dedent("""
        from datetime import date
        from sqlalchemy import create_engine
        from sqlalchemy.orm import Session
        from gongji.domain.errors import LedgerError
        from gongji.service import ledger
        from gongji.store import models as m

        try:
            assert False
        except AssertionError:
            raise SystemExit("assertions are on: not run with -O")
        engine = create_engine("sqlite://")
        m.Base.metadata.create_all(engine)
        refused = []
        with Session(engine) as s:
            pool = ledger.account(s, "pool:652800", "pool")
            quota = ledger.account(s, "quota:forfeited", "quota", ledger.QUOTA)
            person = m.Person(psn_no="P1", insutype="310", insu_admdvs="652801", registered_on=date(2025, 1, 1))
            s.add(person)
            mine = ledger.personal(s, "P1")
            for why, call in [
                ("unbalanced", lambda: ledger.post(s, "credit", date(2025, 1, 1), [(pool, -100), (mine, 99)])),
                ("across ledgers", lambda: ledger.post(s, "credit", date(2025, 1, 1), [(quota, -100), (mine, 100)])),
                ("below zero", lambda: ledger.post(s, "credit", date(2025, 1, 1), [(pool, 100), (mine, -100)])),
                ("batch unbalanced", lambda: ledger.post_many(None, date(2025, 1, 1), [("settle", 1, [(1, -5), (2, 4)])])),
                ("bulk unbalanced", lambda: ledger.check_balanced([(1, 1, -5), (1, 2, 5), (2, 1, -5), (2, 2, 4)])),
            ]:
                try:
                    call()
                except LedgerError:
                    refused.append(why)
        print(",".join(refused))
    """)
    out = subprocess.run([sys.executable, "-O", "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "unbalanced,across ledgers,below zero,batch unbalanced,bulk unbalanced"


def test_a_broken_invariant_is_a_plain_500_and_rolls_back(engine, monkeypatch) -> None:
    """A bug that posts across ledgers: the API answers 500 without internals, nothing is kept."""
    api = World(engine)
    api.service.register_person(c.RegisterPerson(psn_no="P1", insutype="310", insu_admdvs="652801"))
    api.service.credit(c.Credit(psn_no="P1", amount="100.00"))
    right = ledger.account
    monkeypatch.setattr(ledger, "account", lambda s, name, kind, _=ledger.CNY: right(s, "bug", kind, ledger.QUOTA))
    r = api.supervisor.post("/api/v1/accounts/P1/credits", json={"amount": "50.00"})
    assert r.status_code == 500 and r.json()["code"] == "INTERNAL"
    assert "QUOTA" not in r.text and "unbalanced" not in r.text
    monkeypatch.setattr(ledger, "account", right)
    assert service(engine).read(lambda uow: ledger.balance(uow.session, "P1")) == 10000
    assert _count(engine, "journal") == 1 and _count(engine, "accounts") == 2


def test_settling_through_the_service_passes_the_database_check(engine) -> None:
    """The ORM path, the settle batch's plain SQL and a reversal all commit under the trigger."""
    from tests.service.helpers import family, visit
    svc = service(engine)
    family(svc, "1000.00", beneficiaries=1)
    first = svc.settle("k1", visit("B1", "120.00"))
    svc.settle("k2", visit("A", "80.00"))
    svc.reverse(first["setl_id"])
    svc.credit(c.Credit(psn_no="A", amount="10.00"))
    assert svc.verify() == []
