"""Use cases through the service layer, on SQLite and PostgreSQL: refusals change nothing,
idempotency per institution, reversal with its own key, the review queue, ID-card checks."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from gongji.domain.errors import DomainError
from gongji.domain.workdays import add_working_days
from gongji.service import commands as c
from gongji.service.uow import run
from gongji.store import models as m
from tests.service.helpers import family, service, visit


def snapshot(engine) -> dict:
    """Row counts of every table and every stored balance and counter."""
    def read(uow):
        s = uow.session
        out = {t.name: s.scalar(select(func.count()).select_from(t)) for t in m.Base.metadata.sorted_tables}
        out["balances"] = sorted(s.execute(select(m.Account.name, m.Account.balance)).all())
        out["usage"] = sorted(s.execute(select(m.YearUsage.psn_no, m.YearUsage.mulaid_received,
                                               m.YearUsage.mulaid_paid)).all())
        out["states"] = sorted(s.execute(select(m.Binding.id, m.Binding.state)).all())
        return out
    return run(engine, read, write=False)


def test_refusals_change_nothing(engine) -> None:
    svc = service(engine)
    family(svc, "3000.00", beneficiaries=4)
    svc.register_person(c.RegisterPerson(psn_no="X", insutype="390", insu_admdvs="652801"))
    svc.settle("k1", visit("B1", "600.00"))
    before = snapshot(engine)
    refusals = [
        (lambda: svc.apply(c.Apply(holder="A", beneficiary="X", relation="child", channel="online")), "MEMBER_LIMIT"),
        (lambda: svc.settle("k1", visit("B1", "601.00")), "IDEMPOTENCY_CONFLICT"),
        (lambda: svc.settle("k2", visit("B1", "600.00", fixmedins="NOPE")), "UNKNOWN_INSTITUTION"),
        (lambda: svc.settle("k3", visit("NOPE", "600.00")), "UNKNOWN_PERSON"),
        (lambda: svc.reverse("S99999999"), "UNKNOWN_SETTLEMENT"),
        (lambda: svc.review(c.Review(binding_id=1, decision="approve")), "NOT_PENDING"),
        (lambda: svc.unbind(c.BindingRef(binding_id=99)), "NO_SUCH_BINDING"),
        (lambda: svc.register_person(c.RegisterPerson(psn_no="A", insutype="310", insu_admdvs="652801")),
         "ALREADY_REGISTERED"),
    ]
    for call, code in refusals:
        with pytest.raises(DomainError) as e:
            call()
        assert e.value.code == code
        assert snapshot(engine) == before, f"{code} changed something"
    assert svc.verify() == []


def test_idempotency_key_is_scoped_to_the_institution(engine) -> None:
    svc = service(engine)
    family(svc, "3000.00", beneficiaries=1)
    svc.register_institution(c.RegisterInstitution(code="C2", level=1, admdvs="652801", kind="hospital"))
    first = svc.settle("same", visit("B1", "600.00"))
    other = svc.settle("same", visit("B1", "600.00", fixmedins="C2"))
    assert first["setl_id"] != other["setl_id"]
    assert svc.settle("same", visit("B1", "600.00")) == first
    # "100" and "100.00" are the same request
    assert svc.settle("same", visit("B1", "600")) == first


def test_reversal_restores_and_its_key_makes_it_idempotent(engine) -> None:
    svc = service(engine)
    family(svc, "3000.00", beneficiaries=1)
    before = snapshot(engine)
    s = svc.settle("k", visit("B1", "600.00"))
    assert s["acct_mulaid_pay"] == "300.00"
    r = svc.reverse(s["setl_id"], key="rev-1")
    assert svc.reverse(s["setl_id"], key="rev-1") == r  # a retry of the same reversal
    with pytest.raises(DomainError) as e:
        svc.reverse(s["setl_id"], key="rev-2")
    assert e.value.code == "ALREADY_REVERSED"
    after = snapshot(engine)
    assert after["balances"] == sorted(before["balances"] + [("institution:C1", None), ("pool:652800", None)])
    assert [u[1:] for u in after["usage"]] == [(0, 0), (0, 0)]
    assert svc.verify() == []


def test_pending_queue_puts_overdue_first(engine) -> None:
    svc = service(engine, "2025-09-25")
    family(svc, "100.00", beneficiaries=0)
    for day, b in (("2025-09-25", "B1"), ("2025-09-30", "B2"), ("2025-09-26", "B3")):
        svc.clock.day = date.fromisoformat(day)
        svc.register_person(c.RegisterPerson(psn_no=b, insutype="390", insu_admdvs="652801"))
        svc.apply(c.Apply(holder="A", beneficiary=b, relation="child", channel="online"))
    svc.clock.day = date(2025, 10, 9)
    queue = svc.pending()
    assert [(q["beneficiary"], q["review_due"], q["overdue"]) for q in queue] == [
        ("B1", "2025-09-29", True), ("B3", "2025-09-30", True), ("B2", "2025-10-11", False)]
    # Sunday 28 September 2025 was a make-up working day
    assert svc.pending(region="532600") == []


def test_working_days_past_the_published_calendar_are_marked_estimates() -> None:
    assert add_working_days(date(2025, 9, 30), 3) == (date(2025, 10, 11), False)
    day, estimated = add_working_days(date(2031, 12, 31), 3)
    assert estimated and day == date(2032, 1, 5)  # Thu 1 Jan counted as a weekday: Thu, Fri, Mon


def test_id_card_numbers_are_checked() -> None:
    ok = c.RegisterPerson(psn_no="P", insutype="310", insu_admdvs="652801", certno="11010519491231002X")
    assert ok.certno == "11010519491231002X"
    with pytest.raises(ValidationError, match="不是有效的居民身份证号码"):
        c.RegisterPerson(psn_no="P", insutype="310", insu_admdvs="652801", certno="110105194912310021")


def test_masks_keep_area_and_last_digits_only() -> None:
    from gongji.service.queries import mask_certno, mask_name, mask_phone
    assert mask_certno("652801198001011238") == "652801********1238"
    assert mask_phone("13912345678") == "139****5678"
    assert mask_name("王建国") == "王**"
    assert mask_certno(None) is None


def test_log_lines_are_masked(caplog) -> None:
    import logging

    from gongji.logs import install_record_masking, mask
    install_record_masking()
    assert mask("证件 652801198001011238,电话 13912345678,结算 S00000001") == \
        "证件 652801********1238,电话 139****5678,结算 S00000001"
    with caplog.at_level(logging.INFO, logger="gongji.test"):
        logging.getLogger("gongji.test").info("applicant %s phone %s", "11010519491231002X", "13800000000")
    assert caplog.records[-1].getMessage() == "applicant 110105********002X phone 138****0000"
