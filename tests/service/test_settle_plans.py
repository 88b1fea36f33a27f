"""Every statement a settlement sends finds its rows through an index (PostgreSQL).

On a test database every table is small and the planner scans them all, so the plans are asked
for with sequential scans priced out of reach (``enable_seqscan = off``): a statement that still
scans has no index it can use, and on a region's database of millions of rows it would grow with
the number of insured persons. (``bench.scale`` found one such lookup, by account kind.)"""

from __future__ import annotations

import psycopg

from tests.service.helpers import family, service, statements_sent, visit


def test_every_statement_of_a_settlement_uses_an_index(pg_engine, pg_url, monkeypatch) -> None:
    svc = service(pg_engine)
    children = family(svc, "900.00", beneficiaries=2)
    with statements_sent(monkeypatch) as sent:
        outcomes = svc.settle_batch([(f"k{i}", visit(b, "120.00"), "test") for i, b in enumerate(children * 2)])
    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    reads = [(q, p) for q, p in sent if q.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE"))]
    assert len(reads) >= 10  # the batch's reads, its updates and the audit head
    scans = []
    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("SET enable_seqscan = off")
        for query, params in reads:
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + query, params))
            if "Seq Scan" in plan:
                scans.append(f"{query}\n{plan}")
    assert scans == [], "\n\n".join(scans)


def test_statements_inside_the_server_functions_use_an_index(pg_engine, pg_url) -> None:
    """The batch's writes and audit chain run inside ``settle_write`` and ``audit_append``, where
    the test above cannot ask for a plan: ``auto_explain`` reports every plan the server runs for
    the batch's connection, nested ones included, as notices to the client."""
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
    nested = [p for p in plans if "settle_write" in p or "jsonb_populate_recordset" in p or "audit_head" in p]
    assert any("UPDATE accounts" in p for p in plans) and any("audit_head" in p for p in plans), plans[:3]
    assert nested
    scans = [p for p in plans if "Seq Scan" in p]
    assert scans == [], "\n\n".join(scans)
