"""Supervision flags put straight into the tables, as the engine would leave them, for the tests
of the review side (the engine is tested on its own)."""

from __future__ import annotations

from datetime import date

from gongji.service.uow import run
from gongji.store import models as m


def add_flag(engine, *, rule: str = "split_bills", severity: str = "high", subject: str = "person:B1",
             psn_nos: list[str] | None = None, admdvs: str | None = "652801", region: str = "652800",
             found_on: date = date(2025, 3, 3), amount: int = 160000, state: str = "open",
             reason: str = "同一天在同一机构结算 2 次,合计 1600.00 元,超过单次共济限额。",
             evidence: list[str] = (), fixmedins: str | None = "C1") -> int:
    """A flag and its evidence (settlement ids like ``S00000001``); its id."""
    def add(uow) -> int:
        row = m.SupervisionFlag(
            rule=rule, severity=severity, subject=subject,
            psn_nos=psn_nos if psn_nos is not None else [subject.partition(":")[2]],
            fixmedins=fixmedins, region=region, admdvs=admdvs, period_start=found_on, period_end=found_on,
            amount=amount, measure={"visits": 2}, reason=reason, state=state, found_on=found_on,
            updated_on=found_on)
        uow.session.add(row)
        uow.session.flush()
        for setl_id in evidence:
            uow.session.add(m.FlagEvidence(flag_id=row.id, settlement_id=m.settlement_pk(setl_id)))
        return row.id

    return run(engine, add)
