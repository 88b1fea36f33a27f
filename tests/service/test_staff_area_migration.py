"""Migration 0008 on a database that already has staff and an audit trail: the staff serve the
whole country (so the deployment keeps working) and the old audit entries get their areas."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from gongji.service import commands as c
from gongji.service import security
from gongji.store.db import alembic_config
from tests.service.helpers import service


def test_existing_staff_become_national_and_old_entries_get_their_area(engine) -> None:
    svc = service(engine)
    svc.register_person(c.RegisterPerson(psn_no="X1", insutype="310", insu_admdvs="532801", balance="10.00"))
    svc.register_person(c.RegisterPerson(psn_no="W2", insutype="390", insu_admdvs="532601"))
    svc.apply(c.Apply(holder="X1", beneficiary="W2", relation="child", channel="online"))
    svc.secure(security.add_staff, "old", "clerk", "5326")
    cfg = alembic_config(engine)
    command.downgrade(cfg, "0007")  # as a database of before this migration
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT area FROM staff WHERE username = 'old'")).scalar_one() == ""
        areas = dict(conn.execute(text("SELECT target, admdvs FROM audit")).all())
    assert areas["X1"] == "532801" and areas["W2"] == "532601" and areas["X1->W2"] == "532801 532601"
    assert areas[next(t for t in areas if t.startswith("old:"))] is None
