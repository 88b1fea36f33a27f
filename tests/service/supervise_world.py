"""A small Wenshan world for the supervision rules: pharmacies P1..P6 and hospitals H1..H9 in
county 532601, families (a holder with a balance and resident relatives bound on day 0), and
settlements made by the real service on the days asked. In Wenshan nothing is pooled for these
visits, so a relative's bill is paid wholly by mutual-aid: amounts are exact."""

from __future__ import annotations

import json
from datetime import date, timedelta
from itertools import count

from sqlalchemy import text

from gongji.service import commands as c
from gongji.service.clock import FixedClock
from gongji.service.facade import Service

DAY0 = date(2025, 3, 3)
COUNTY = "532601"


class World:
    def __init__(self, engine) -> None:
        self.engine = engine
        self.clock = FixedClock(DAY0)
        self.svc = Service(engine, clock=self.clock)
        self.keys = count(1)
        for i in range(1, 7):
            self.institution(f"P{i}", "pharmacy")
        for i in range(1, 10):
            self.institution(f"H{i}", "hospital")

    def institution(self, code: str, kind: str) -> None:
        self.svc.register_institution(c.RegisterInstitution(code=code, level=1, admdvs=COUNTY, kind=kind))

    def person(self, psn: str, balance: str | None = None) -> str:
        extra = {"balance": balance} if balance else {}
        self.svc.register_person(c.RegisterPerson(psn_no=psn, insutype="310" if balance else "390",
                                                  insu_admdvs=COUNTY, **extra))
        return psn

    def family(self, holder: str, balance: str, relatives: int, on: int = 0) -> list[str]:
        """The holder and ``relatives`` bound to them, approved on day ``on``."""
        self.at(on)
        self.person(holder, balance)
        out = []
        for k in range(1, relatives + 1):
            rel = self.person(f"{holder}{k}")
            applied = self.svc.apply(c.Apply(holder=holder, beneficiary=rel, relation="child", channel="offline"))
            self.svc.review(c.Review(binding_id=applied["id"], decision="approve"))
            out.append(rel)
        return out

    def at(self, day: int) -> date:
        self.clock.day = DAY0 + timedelta(days=day)
        return self.clock.day

    def settle(self, psn: str, inst: str, amount: str | list[tuple[str, str]], day: int,
               actor: str = "system") -> dict:
        self.at(day)
        items = [("X", amount)] if isinstance(amount, str) else amount
        visit = c.VisitRef(psn_no=psn, fixmedins=inst, med_type="41" if inst.startswith("P") else "11",
                           items=[{"code": code, "name": "药品", "list_class": "A", "category": "drug", "amount": a}
                                  for code, a in items])
        return self.svc.settle(f"k{next(self.keys)}", visit, actor=actor)

    def reverse(self, setl_id: str, day: int, actor: str = "system") -> None:
        self.at(day)
        self.svc.reverse(setl_id, f"r-{setl_id}", actor=actor)

    def flags(self, rule: str | None = None) -> list[dict]:
        sql = "SELECT * FROM supervision_flags" + (" WHERE rule = :rule" if rule else "") + " ORDER BY id"
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(text(sql), {"rule": rule} if rule else {})]
            for r in rows:
                r["evidence"] = sorted(x for (x,) in conn.execute(
                    text("SELECT settlement_id FROM supervision_evidence WHERE flag_id = :f"), {"f": r["id"]}))
                if isinstance(r["psn_nos"], str):  # SQLite's JSON read as text
                    r["psn_nos"] = json.loads(r["psn_nos"])
                r["period_start"] = str(r["period_start"])
                r["period_end"] = str(r["period_end"])
        return rows

    def subjects(self, rule: str) -> set[str]:
        return {f["subject"] for f in self.flags(rule)}
