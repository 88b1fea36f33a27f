"""Migration 0012 (PostgreSQL): the idempotency key leads its index, and the tables updated in
place at every settlement leave room for HOT updates; exactly what ``gongji db tune --print``
shows as SQL."""

from __future__ import annotations

import re

import psycopg
from alembic import command

from gongji.store import tune
from gongji.store.db import alembic_config, make_engine
from tests.service.helpers import family, service, statements_sent, visit


def _index(conn) -> str:
    return conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'one_settlement_per_key'").fetchone()[0]


def _fillfactors(conn) -> dict[str, str]:
    rows = conn.execute("SELECT relname, option FROM pg_class, unnest(reloptions) AS option"
                        " WHERE relname IN ('accounts', 'year_usage', 'audit_head')").fetchall()
    return {name: option for name, option in rows}


def test_the_schema_is_what_db_tune_prints_and_it_goes_back(pg_url) -> None:
    libpq = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        assert "(idem_key, fixmedins)" in _index(conn)
        printed = {m.group(1): f"fillfactor={m.group(2)}" for sql, _ in tune.STORAGE
                   if (m := re.fullmatch(r"ALTER TABLE (\w+) SET \(fillfactor = (\d+)\)", sql))}
        assert _fillfactors(conn) == printed and printed
        constraint = conn.execute("SELECT contype FROM pg_constraint WHERE conname = 'one_settlement_per_key'").fetchone()
        assert constraint == ("u",)
    engine = make_engine(pg_url)
    try:
        command.downgrade(alembic_config(engine), "0011")  # to before 0012
        with psycopg.connect(libpq) as conn:
            assert "(fixmedins, idem_key)" in _index(conn) and _fillfactors(conn) == {}
        command.upgrade(alembic_config(engine), "head")
        with psycopg.connect(libpq) as conn:
            assert "(idem_key, fixmedins)" in _index(conn)
    finally:
        engine.dispose()


def test_a_batch_finds_its_keys_by_the_index_whatever_the_statistics(pg_engine, pg_url, monkeypatch) -> None:
    """Statistics that know nothing of the institution (ANALYZEd before its settlements came)
    estimate one row for it: on (fixmedins, idem_key) the planner then matched the institution
    alone and filtered the keys, reading every settlement of it."""
    svc = service(pg_engine)
    children = family(svc, "900.00", beneficiaries=2)
    libpq = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("ANALYZE settlements")
    svc.settle_batch([(f"early{i}", visit(children[i % 2], "1.00"), "test") for i in range(60)])
    with statements_sent(monkeypatch) as sent:
        svc.settle_batch([(f"k{i}", visit(b, "1.00"), "test") for i, b in enumerate(children)])
    # the batch's read is one call (settle_read); its key lookup is this statement inside it
    [params] = [p for q, p in sent if "settle_read(" in q]
    codes, keys = params[2], params[3]
    assert keys == ["k0", "k1"]
    query = "SELECT id FROM settlements WHERE idem_key = ANY (%s) AND fixmedins = ANY (%s)"
    with psycopg.connect(libpq) as conn:
        assert "FROM settlements WHERE idem_key = ANY (p_keys) AND fixmedins = ANY (p_codes)" in " ".join(conn.execute("SELECT prosrc FROM pg_proc WHERE proname = 'settle_read'").fetchone()[0].split())
        conn.execute("SET enable_seqscan = off")  # a test's table is small; a region's is not
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + query, (keys, codes)))
    assert "Filter" not in plan and re.search(r"Index Cond: .*idem_key", plan), plan
