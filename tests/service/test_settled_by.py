"""Who settled and who reversed each settlement (``settled_by``, ``reversed_by``), on both
databases: the supervision of reversal rates per institution and per cashier reads them. On
PostgreSQL a batch's settlements are written by the server function ``settle_write`` (0015)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import select, text

from gongji.service import commands as c
from gongji.service.uow import run
from gongji.store import models as m
from gongji.store.db import alembic_config, make_engine
from tests.service.helpers import family, service, statements_sent, visit
from tests.service.test_reimburse import claim


def who(engine) -> dict[str, tuple]:
    """setl_id → (settled_by, reversed_by, state)."""
    S = m.Settlement
    rows = run(engine, lambda uow: uow.session.execute(
        select(S.id, S.settled_by, S.reversed_by, S.state)).all(), write=False)
    return {m.setl_id_of(id_): (by, rev, state) for id_, by, rev, state in rows}


def test_each_settlement_of_a_batch_records_its_own_actor_and_a_reversal_its_reverser(engine, monkeypatch) -> None:
    svc = service(engine)
    b1, b2 = family(svc, "3000.00", beneficiaries=2)
    with statements_sent(monkeypatch) as sent:
        outcomes = svc.settle_batch([("k1", visit(b1, "120.00"), "institution:C1/li"),
                                     ("k2", visit(b2, "80.00"), "institution:C1"),
                                     ("k1", visit(b1, "120.00"), "institution:C1/wang")])  # a repeat: the first stands
    if engine.dialect.name == "postgresql":  # the rows went through the server function, not an insert of ours
        assert sum("settle_write" in q for q, _ in sent) == 1
        assert not any("INSERT INTO settlements" in q for q, _ in sent)
    first, second, repeat = (o[0]["setl_id"] for o in outcomes)
    assert repeat == first
    assert who(engine) == {first: ("institution:C1/li", None, "settled"), second: ("institution:C1", None, "settled")}

    svc.reverse(first, "rev-1", actor="staff:sup1")
    svc.reverse(first, "rev-1", actor="staff:other")  # the same reversal retried: its reverser stays
    assert who(engine)[first] == ("institution:C1/li", "staff:sup1", "reversed")
    assert who(engine)[second] == ("institution:C1", None, "settled")
    one = svc.settle("k3", visit(b2, "10.00"), actor="institution:C1/zhao")  # one at a time, the same path
    assert who(engine)[one["setl_id"]] == ("institution:C1/zhao", None, "settled")


def test_a_manual_reimbursement_is_settled_by_the_staff_who_entered_it(engine) -> None:
    svc = service(engine, "2025-06-20")
    svc.register_person(c.RegisterPerson(psn_no="B", insutype="390", insu_admdvs="652801"))
    out = svc.reimburse(claim(), actor="staff:clerk1")
    assert who(engine)[out["setl_id"]] == ("staff:clerk1", None, "settled")


def test_0015_downgrade_puts_back_0013s_settle_write(pg_engine, pg_url) -> None:
    def definition() -> str:
        with pg_engine.connect() as conn:
            return conn.execute(text("SELECT pg_get_functiondef('settle_write(jsonb)'::regprocedure)")).scalar_one()

    assert "psn_cash_pay, settled_by" in definition()
    engine = make_engine(pg_url)
    try:
        command.downgrade(alembic_config(engine), "0014")
        assert "settled_by" not in definition() and "psn_cash_pay)" in definition()
    finally:
        command.upgrade(alembic_config(engine), "head")
        engine.dispose()
    assert "psn_cash_pay, settled_by" in definition()
