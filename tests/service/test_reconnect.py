"""A settlement after the server dropped every connection (a restart, a failover): the batch
runs again on new connections and is booked once."""

from __future__ import annotations

import psycopg

from gongji.service import settlements
from gongji.service.uow import run
from tests.service.helpers import family, service, visit


def test_a_settlement_survives_the_server_dropping_its_connections(pg_engine, pg_url) -> None:
    svc = service(pg_engine)
    children = family(svc, "900.00", beneficiaries=1)
    first = svc.settle("k1", visit(children[0], "120.00"))
    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
        killed = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                               " WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
    assert killed >= 1  # the pooled connection the next settlement would take, used a moment ago
    second = svc.settle("k2", visit(children[0], "120.00"))
    assert second["setl_id"] != first["setl_id"] and second["state"] == "settled"
    assert svc.settle("k2", visit(children[0], "120.00")) == second  # booked once
    stored = run(pg_engine, lambda uow: settlements.find(uow, second["setl_id"]).idem_key, write=False)
    assert stored == "k2"
