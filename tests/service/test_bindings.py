"""Bindings through the service layer, on SQLite and PostgreSQL: review, withdraw and unbind act
on the row named by its id and no other; what an insured person may do to a binding; what a
person applying online is told about the other person."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from gongji.domain.errors import DomainError
from gongji.service import commands as c
from gongji.service.uow import run
from gongji.store import models as m
from tests.service.helpers import service


def rows(engine) -> dict:
    """Every binding as stored, and the audit trail (its length and its last hash)."""
    def read(uow):
        s = uow.session
        bindings = [(x.id, x.state, x.decided_on, x.approved_on, x.unbind_requested_on, x.reviewer, x.reason)
                    for x in s.scalars(select(m.Binding).order_by(m.Binding.id))]
        audit = (s.scalar(select(func.count()).select_from(m.AuditEntry)),
                 s.scalar(select(m.AuditEntry.hash).order_by(m.AuditEntry.id.desc()).limit(1)))
        return {"bindings": bindings, "audit": audit}
    return run(engine, read, write=False)


def refused(call, code: str) -> DomainError:
    with pytest.raises(DomainError) as e:
        call()
    assert e.value.code == code, e.value
    return e.value


def people(svc, *beneficiaries: tuple[str, str]) -> None:
    """Holder A (Bayingolin employee) and the named others (psn_no, insu_admdvs), residents."""
    svc.register_person(c.RegisterPerson(psn_no="A", insutype="310", insu_admdvs="652801", balance="3000.00"))
    for no, admdvs in beneficiaries:
        svc.register_person(c.RegisterPerson(psn_no=no, insutype="390", insu_admdvs=admdvs))


def apply(svc, beneficiary: str = "B", holder: str = "A", **kw) -> int:
    return svc.apply(c.Apply(holder=holder, beneficiary=beneficiary, relation="child", channel="online"), **kw)["id"]


def test_an_old_binding_id_changes_no_newer_row(engine) -> None:
    svc = service(engine, "2025-03-03")
    people(svc, ("B", "652801"))
    first = apply(svc)
    svc.review(c.Review(binding_id=first, decision="reject", reason="材料不全"))
    second = apply(svc)  # the holder applies again
    before = rows(engine)
    for call in (lambda: svc.review(c.Review(binding_id=first, decision="approve")),
                 lambda: svc.review(c.Review(binding_id=first, decision="reject")),
                 lambda: svc.withdraw(c.BindingRef(binding_id=first))):
        assert "未通过" in refused(call, "NOT_PENDING").message
        assert rows(engine) == before, "a refusal on the old id changed a row or wrote to the audit trail"
    refused(lambda: svc.unbind(c.BindingRef(binding_id=first)), "NO_SUCH_BINDING")
    assert rows(engine) == before

    assert svc.review(c.Review(binding_id=second, decision="approve"))["state"] == "approved"
    svc.clock.day = date(2025, 3, 10)
    assert svc.unbind(c.BindingRef(binding_id=second))["state"] == "unbound"
    svc.clock.day = date(2025, 3, 11)
    third = apply(svc)
    before = rows(engine)
    refused(lambda: svc.unbind(c.BindingRef(binding_id=second)), "NO_SUCH_BINDING")  # already unbound
    refused(lambda: svc.withdraw(c.BindingRef(binding_id=second)), "NOT_PENDING")
    refused(lambda: svc.review(c.Review(binding_id=second, decision="reject")), "NOT_PENDING")
    refused(lambda: svc.review(c.Review(binding_id=999, decision="approve")), "NO_SUCH_BINDING")
    assert rows(engine) == before
    assert [b[1] for b in before["bindings"]] == ["rejected", "unbound", "pending"]
    assert svc.withdraw(c.BindingRef(binding_id=third))["id"] == third


def test_a_refusal_after_the_change_and_its_audit_row_keeps_neither(engine, monkeypatch) -> None:
    """The audit row is written in the use case's transaction: a refusal raised even after both
    were written rolls both back."""
    from gongji.service import audit

    svc = service(engine, "2025-03-03")
    people(svc, ("B", "652801"))
    pending = apply(svc)
    before = rows(engine)
    written = audit.append

    def append_then_refuse(uow, *args) -> None:
        written(uow, *args)
        uow.session.flush()
        raise DomainError("NOT_PENDING", "refused at the last moment")

    monkeypatch.setattr(audit, "append", append_then_refuse)
    refused(lambda: svc.review(c.Review(binding_id=pending, decision="approve")), "NOT_PENDING")
    assert rows(engine) == before
    monkeypatch.undo()
    assert svc.review(c.Review(binding_id=pending, decision="approve"))["state"] == "approved"
    assert rows(engine)["audit"][0] == before["audit"][0] + 1


def test_an_insured_person_withdraws_and_unbinds_only_their_own(engine) -> None:
    svc = service(engine, "2025-03-03")
    people(svc, ("B", "652801"), ("C", "652801"), ("X", "652801"))
    bound = apply(svc, "C")
    svc.review(c.Review(binding_id=bound, decision="approve"))
    pending = apply(svc, "B")
    before = rows(engine)
    for who in ("B", "X"):  # the beneficiary, a stranger
        refused(lambda who=who: svc.withdraw(c.BindingRef(binding_id=pending), by_person=who), "FORBIDDEN")
    refused(lambda: svc.unbind(c.BindingRef(binding_id=bound), by_person="X"), "FORBIDDEN")
    refused(lambda: svc.apply(c.Apply(holder="A", beneficiary="X", relation="child", channel="online"),
                              by_person="X"), "FORBIDDEN")
    assert rows(engine) == before
    assert svc.withdraw(c.BindingRef(binding_id=pending), by_person="A")["state"] == "withdrawn"
    assert svc.unbind(c.BindingRef(binding_id=bound), by_person="C")["state"] == "unbound"  # either party


def test_an_applicant_learns_nothing_of_the_other_persons_state(engine) -> None:
    svc = service(engine, "2025-03-03")
    people(svc, ("DEAD", "652801"), ("TAKEN", "652801"), ("FAR", "532601"), ("OK", "652801"))
    svc.register_person(c.RegisterPerson(psn_no="H2", insutype="310", insu_admdvs="652801"))
    svc.review(c.Review(binding_id=apply(svc, "TAKEN", holder="H2"), decision="approve"))
    svc.change_status(c.StatusChange(psn_no="DEAD", status="deceased"))
    precise = {"NOBODY": "UNKNOWN_PERSON", "DEAD": "PERSON_DECEASED", "TAKEN": "ALREADY_BOUND",
               "FAR": "BENEFICIARY_REGION"}
    before = rows(engine)
    answers = set()
    for no, code in precise.items():
        refused(lambda no=no: apply(svc, no), code)  # staff: the precise reason
        e = refused(lambda no=no: apply(svc, no, by_person="A"), "BINDING_REFUSED")
        answers.add((e.code, e.message, e.field))
    assert answers == {("BINDING_REFUSED", "无法为该人员办理绑定,请核对后到经办机构窗口办理", "beneficiary")}
    assert rows(engine) == before
    # the applicant's own refusals stay precise, whoever is named
    for no in ("NOBODY", "OK"):
        refused(lambda no=no: svc.apply(c.Apply(holder="A", beneficiary=no, relation="sibling", channel="online"),
                                        by_person="A"), "RELATION_NOT_ALLOWED")
    refused(lambda: apply(svc, "A", by_person="A"), "RELATION_NOT_ALLOWED")  # oneself
    assert apply(svc, "OK", by_person="A")
    refused(lambda: apply(svc, "OK", by_person="A"), "ALREADY_BOUND")  # the applicant's own application
    for i in range(3):
        svc.register_person(c.RegisterPerson(psn_no=f"K{i}", insutype="390", insu_admdvs="652801"))
        apply(svc, f"K{i}", by_person="A")
    for no in ("NOBODY", "DEAD", "FAR"):
        refused(lambda no=no: apply(svc, no, by_person="A"), "MEMBER_LIMIT")  # A's own limit comes first
