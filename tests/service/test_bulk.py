"""The bulk demo loader: what it writes is what gongji would write, and verify passes."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from gongji.bulk import BulkError, fill
from gongji.service.facade import Service
from gongji.service.uow import run
from gongji.store import models as m


def test_fill_writes_consistent_families_and_settlements(engine) -> None:
    seen: list[int] = []
    counts = fill(engine, persons=16, settlements=150, today=date(2026, 11, 25), progress=seen.append)
    assert counts == {"persons": 16, "families": 4, "settlements": 150}
    assert seen[-1] == 150

    def totals(uow):
        s = uow.session
        n = lambda model: s.scalar(select(func.count()).select_from(model))  # noqa: E731
        return (n(m.Person), n(m.Binding), n(m.Settlement), n(m.MulaidPayment),
                s.scalar(select(func.sum(m.Settlement.acct_mulaid_pay))),
                s.scalar(select(func.sum(m.MulaidPayment.amount))))

    persons, bindings, settlements, mulaid_rows, mulaid, detail = run(engine, totals, write=False)
    assert (persons, bindings, settlements) == (16, 12, 150)
    assert mulaid_rows > 0 and mulaid == detail
    assert Service(engine).verify() == []  # ledger, balances, counters, caps and the audit chain
    with engine.connect() as c:  # the planner knows the tables are no longer empty
        if engine.dialect.name == "postgresql":
            analyzed = c.exec_driver_sql("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables"
                                         " WHERE relname = 'settlements'").scalar_one()
        else:
            analyzed = c.exec_driver_sql("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'settlements'").scalar_one()
        assert analyzed


def test_a_settlement_after_the_fill_goes_on_from_the_loaded_ids(engine) -> None:
    from gongji.service import commands as c
    fill(engine, persons=8, settlements=20, today=date(2026, 11, 25))
    svc = Service(engine)
    out = svc.settle("after-fill", c.VisitRef(psn_no="Q000000001", fixmedins="BULK652800", med_type="11", items=[
        {"code": "X", "name": "检查", "list_class": "A", "category": "exam", "amount": "60.00"}]))
    assert out["setl_id"] == "S00000021"
    assert svc.verify() == []


@pytest.mark.parametrize("persons, settlements, words", [(6, 10, "multiple of 4"), (8, 161, "at most 20")])
def test_impossible_sizes_are_refused_before_writing(tmp_path, persons, settlements, words) -> None:
    from gongji.store.db import make_engine, migrate
    engine = make_engine(str(tmp_path / "x.db"))
    migrate(engine)
    with pytest.raises(BulkError, match=words):
        fill(engine, persons=persons, settlements=settlements, today=date(2026, 11, 25))
    assert run(engine, lambda uow: uow.session.scalar(select(func.count()).select_from(m.Person)), write=False) == 0


def test_the_background_is_varied_and_makes_no_supervision_flag(engine) -> None:
    from gongji.service.supervise.engine import supervise
    fill(engine, persons=400, settlements=3000, today=date(2026, 11, 25))
    with engine.connect() as c:
        kinds = set(c.exec_driver_sql("SELECT i.kind, i.level, s.med_type FROM settlements s"
                                      " JOIN institutions i ON i.code = s.fixmedins GROUP BY i.kind, i.level, s.med_type"))
        items = {n for (n,) in c.exec_driver_sql("SELECT COUNT(*) FROM settlement_items GROUP BY settlement_id")}
        regions = c.exec_driver_sql("SELECT COUNT(DISTINCT region) FROM settlements").scalar_one()
    assert {("hospital", lv, t) for lv in (1, 2, 3) for t in ("11", "14")} | {("pharmacy", 1, "41")} == kinds
    assert items == {2, 3, 4} and regions == 4
    assert supervise(engine, today=date(2026, 11, 25))["new"] == 0  # none of the patterns by construction
