"""Manual reimbursement (手工报销) of a remote bill paid in cash, on both databases."""

from __future__ import annotations

import pytest

from gongji.domain.errors import DomainError
from gongji.service import commands as c
from gongji.service.uow import run
from gongji.store import models as m
from tests.service.helpers import service, visit


def claim(no: str = "BX1", amount: str = "300.00", on: str = "2025-06-03") -> c.Reimburse:
    return c.Reimburse(claim_no=no, visit_on=on,
                       institution={"code": "BJ01", "level": 2, "admdvs": "110105", "kind": "hospital",
                                    "name": "北京某医院"},
                       visit=visit("B", amount, fixmedins="BJ01"))


def test_pays_the_pooled_share_once_and_never_the_accounts(engine) -> None:
    svc = service(engine, "2025-06-20")
    svc.register_person(c.RegisterPerson(psn_no="A", insutype="310", insu_admdvs="652801", balance="1000.00"))
    svc.register_person(c.RegisterPerson(psn_no="B", insutype="390", insu_admdvs="652801"))
    applied = svc.apply(c.Apply(holder="A", beneficiary="B", relation="parent", channel="online"))
    svc.review(c.Review(binding_id=applied["id"], decision="approve"))
    out = svc.reimburse(claim())
    # resident, level 2: (300 − 100) × 50% = 100 from the pooled fund; no account, no mutual-aid
    assert (out["hifp_pay"], out["acct_pay"], out["acct_mulaid_pay"], out["psn_cash_pay"]) == (
        "100.00", "0.00", "0.00", "200.00")
    assert "手工报销" in out["explain"][-1]
    assert svc.reimburse(claim()) == out
    with pytest.raises(DomainError) as e:
        svc.reimburse(claim(amount="301.00"))
    assert e.value.code == "IDEMPOTENCY_CONFLICT"
    with pytest.raises(DomainError) as e:
        svc.reverse(out["setl_id"])
    assert e.value.code == "INVALID_INPUT"
    with pytest.raises(DomainError) as e:
        svc.reimburse(claim("BX2", on="2025-07-01"))
    assert e.value.code == "INVALID_INPUT"

    def entries(uow):
        return sorted((a.name, p.amount) for p, a in uow.session.query(m.Posting, m.Account)
                      .filter(m.Posting.account_id == m.Account.id, m.Account.kind.in_(("pool", "payout"))))

    assert run(engine, entries, write=False) == [("payout:B", 10000), ("pool:652800", -10000)]
    assert svc.verify() == []
