"""Migration 0009 takes balances out of the explanations stored before it (issue 12, item 6)."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import text

from gongji.service import commands as c
from gongji.store.db import alembic_config
from tests.service.helpers import service, visit

OLD = [
    "① 分类:…",
    "⑤ 本人账户:余额 8765.43,支付 100.00",
    "⑥ 共济:需 50.00;单次限额剩余 2000.00(settlement_cap);主账户年度限额 5000.00(annual_cap_holder);"
    "可用 12345.67 → 50.00(A 付 50.00)",
]


def test_stored_explanations_lose_every_balance(engine) -> None:
    svc = service(engine)
    svc.register_institution(c.RegisterInstitution(code="C1", level=1, admdvs="652801", kind="hospital"))
    svc.register_person(c.RegisterPerson(psn_no="P", insutype="310", insu_admdvs="652801", balance="500"))
    setl_id = svc.settle("k1", visit("P", "10"))["setl_id"]
    with engine.begin() as conn:  # as the code before 0009 wrote it
        conn.execute(text("UPDATE settlements SET explain = :e" if engine.dialect.name == "sqlite"
                          else "UPDATE settlements SET explain = CAST(:e AS JSON)"),
                     {"e": json.dumps(OLD, ensure_ascii=False)})
    command.downgrade(alembic_config(engine), "0008")
    command.upgrade(alembic_config(engine), "head")
    with engine.connect() as conn:
        stored = json.loads(conn.execute(text("SELECT CAST(explain AS TEXT) FROM settlements")).scalar_one())
    assert stored == [
        "① 分类:…",
        "⑤ 本人账户:支付 100.00",
        "⑥ 共济:需 50.00;单次限额(settlement_cap);主账户年度限额 5000.00(annual_cap_holder) → 50.00(A 付 50.00)",
    ]
    text_now = json.dumps(stored, ensure_ascii=False)
    for secret in ("8765.43", "12345.67", "2000.00"):
        assert secret not in text_now
    assert svc.read(lambda uow: uow.session.execute(text("SELECT count(*) FROM settlements")).scalar()) == 1
    assert setl_id.startswith("S")
