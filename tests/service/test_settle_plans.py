"""Every statement a settlement sends finds its rows through an index (PostgreSQL).

On a test database every table is small and the planner scans them all, so the plans are asked
for with sequential scans priced out of reach (``enable_seqscan = off``): a statement that still
scans has no index it can use, and on a region's database of millions of rows it would grow with
the number of insured persons. (``bench.scale`` found one such lookup, by account kind.)"""

from __future__ import annotations

from tests.service.helpers import family, service, visit


def test_every_statement_of_a_settlement_uses_an_index(pg_engine, pg_url) -> None:
    """A batch's reads and writes run inside ``settle_read``, ``settle_write`` and
    ``audit_append`` (migrations 0011, 0013), where EXPLAIN of the call shows nothing:
    ``auto_explain`` reports every plan the server runs for the batch's connection, nested ones
    included, as notices to the client."""
    from sqlalchemy import event

    from gongji.store.db import make_engine

    engine = make_engine(pg_url)  # beside pg_engine, which emptied the database
    plans: list[str] = []

    @event.listens_for(engine, "connect")
    def _explain_everything(dbapi_conn, _record) -> None:
        dbapi_conn.add_notice_handler(lambda d: plans.append(d.message_primary or ""))
        for setting in ("LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 0",
                        "SET auto_explain.log_nested_statements = on", "SET auto_explain.log_level = notice",
                        "SET enable_seqscan = off"):
            dbapi_conn.execute(setting)
        dbapi_conn.commit()

    svc = service(engine)
    children = family(svc, "900.00", beneficiaries=2)
    plans.clear()
    outcomes = svc.settle_batch([(f"k{i}", visit(b, "120.00"), "test") for i, b in enumerate(children * 2)])
    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    engine.dispose()
    for seen in ("FROM persons", "FROM bindings", "FROM accounts", "FROM year_usage", "FROM settlements",
                 "FROM sanctions", "FROM filings", "UPDATE accounts", "UPDATE year_usage", "FROM audit_head"):
        assert any(seen in p for p in plans), f"no plan seen for {seen}"
    scans = [p for p in plans if "Seq Scan" in p]
    assert scans == [], "\n\n".join(scans)
