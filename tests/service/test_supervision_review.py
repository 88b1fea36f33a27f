"""The review side of supervision on SQLite and PostgreSQL: flags listed by severity and age within
the staff member's area, one flag with its evidence, a clerk's decision and its refusals, a
confirmed flag turned into a real sanction in one step, the weekly counts and the export."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from gongji.domain.errors import DomainError
from gongji.service import commands as c
from gongji.service import scope
from gongji.service.supervise import review
from gongji.service.uow import run
from gongji.store import models as m
from tests.service.flags import add_flag
from tests.service.helpers import family, service, visit


@pytest.fixture
def svc(engine):
    s = service(engine, "2025-03-10")
    family(s, "3000.00", beneficiaries=2)
    s.register_person(c.RegisterPerson(psn_no="W", insutype="390", insu_admdvs="532601"))  # 文山
    return s


def test_list_orders_by_severity_then_age_filters_and_keeps_to_the_area(svc, engine) -> None:
    low = add_flag(engine, severity="low", found_on=date(2025, 3, 1))
    new_high = add_flag(engine, severity="high", found_on=date(2025, 3, 8))
    old_high = add_flag(engine, severity="high", found_on=date(2025, 3, 2), rule="quota_sweep")
    medium = add_flag(engine, severity="medium", found_on=date(2025, 3, 5), rule="high_frequency")
    far = add_flag(engine, subject="person:W", admdvs="532601", severity="high", found_on=date(2025, 3, 1))
    add_flag(engine, state="excluded")

    listed = svc.flags()
    assert [f["id"] for f in listed["items"]] == [far, old_high, new_high, medium, low] and listed["total"] == 5
    assert listed["items"][1]["rule_name"] == "绑定即用尽" and listed["items"][1]["age_days"] == 8
    assert listed["items"][1]["amount"] == "1600.00" and listed["items"][1]["severity_zh"] == "高"
    assert [f["id"] for f in svc.flags(area="6528")["items"]] == [old_high, new_high, medium, low]
    assert [f["id"] for f in svc.flags(area="5326")["items"]] == [far]
    assert [f["id"] for f in svc.flags(rule="quota_sweep")["items"]] == [old_high]
    assert [f["id"] for f in svc.flags(severity="medium")["items"]] == [medium]
    assert svc.flags(state="excluded")["total"] == 1 and svc.flags(state=None)["total"] == 6
    with pytest.raises(DomainError) as e:
        svc.flag(far, area="6528")
    assert e.value.code == "UNKNOWN_FLAG" and "查无此监管线索" in e.value.message
    with pytest.raises(scope.OutOfArea):
        svc.read(review.act_on_flag, "6528", far)


def test_one_flag_shows_its_evidence_family_and_year(svc, engine) -> None:
    first = svc.settle("k1", visit("B1", "300.00"))
    second = svc.settle("k2", visit("B1", "500.00"))
    fid = add_flag(engine, subject="family:A", psn_nos=["B1"], evidence=[first["setl_id"], second["setl_id"]])
    f = svc.flag(fid, area="6528")
    assert [s["setl_id"] for s in f["evidence"]] == [first["setl_id"], second["setl_id"]]
    assert f["evidence"][0]["items"][0]["name"] == "检查"
    assert f["evidence"][0]["mulaid_detail"] and f["evidence"][0]["mulaid_detail"][0]["holder"] == "A"
    assert {(b["holder"], b["beneficiary"]) for b in f["bindings"]} == {("A", "B1"), ("A", "B2")}
    usage = {u["psn_no"]: u for u in f["usage"]}
    assert set(usage) == {"A", "B1", "B2"} and usage["B1"]["received"] == usage["A"]["paid"] != "0.00"
    assert f["sanction_to"] == ["A"] and f["usage_year"] == 2025


def test_decide_and_its_refusals(svc, engine) -> None:
    fid = add_flag(engine)
    for reason, words in (("", "请填写处理理由"), ("  ", "请填写处理理由"), ("理" * 201, "不能超过 200 个字")):
        with pytest.raises(DomainError) as e:
            svc.decide_flag(c.FlagDecision(flag_id=fid, decision="confirm", reason=reason), actor="staff:clerk1")
        assert e.value.code == "INVALID_INPUT" and words in e.value.message
    with pytest.raises(DomainError) as e:
        svc.decide_flag(c.FlagDecision(flag_id=fid + 99, decision="confirm", reason="核实"))
    assert e.value.code == "UNKNOWN_FLAG" and "查无此监管线索" in e.value.message
    done = svc.decide_flag(c.FlagDecision(flag_id=fid, decision="exclude", reason="家属慢病,就诊属实"),
                           actor="staff:clerk1")
    assert done["state"] == "excluded"
    f = svc.flag(fid)
    assert (f["state"], f["decided_by"], f["decided_on"], f["decision_reason"]) == \
        ("excluded", "staff:clerk1", "2025-03-10", "家属慢病,就诊属实")
    with pytest.raises(DomainError) as e:
        svc.decide_flag(c.FlagDecision(flag_id=fid, decision="confirm", reason="再看"))
    assert e.value.code == "NOT_PENDING" and "已处理(已排除)" in e.value.message
    actions = [tuple(a) for a in _audit(engine)]
    assert ("staff:clerk1", "decide_flag", f"flag:{fid}", "652801") in actions


def _audit(engine) -> list[tuple]:
    return run(engine, lambda uow: list(uow.session.execute(
        select(m.AuditEntry.actor, m.AuditEntry.action, m.AuditEntry.target, m.AuditEntry.admdvs)
        .order_by(m.AuditEntry.id)).all()), write=False)


def test_a_confirmed_flag_becomes_a_real_sanction_in_one_step(svc, engine) -> None:
    fid = add_flag(engine, subject="family:A", psn_nos=["B1", "B2"], region="652800")
    with pytest.raises(DomainError) as e:
        svc.sanction_flag(c.FlagSanction(flag_id=fid), actor="staff:supervisor1")
    assert e.value.code == "NOT_PENDING" and "须先确认" in e.value.message
    svc.decide_flag(c.FlagDecision(flag_id=fid, decision="confirm", reason="核实为套现"), actor="staff:clerk1")
    terms = review.sanction_terms(svc.registry, svc.flag(fid), date(2025, 3, 10))
    assert terms["psn_nos"] == ["A"] and terms["reason"] == "套现" and terms["to"] == "2026-03-09"
    out = svc.sanction_flag(c.FlagSanction(flag_id=fid), actor="staff:supervisor1")
    assert out["state"] == "sanctioned" and out["psn_no"] == "A" and out["reason"] == "套现"
    sanction = run(engine, lambda uow: uow.session.execute(select(m.Sanction.id, m.Sanction.psn_no, m.Sanction.start,
                                                                  m.Sanction.end)).one(), write=False)
    assert tuple(sanction) == (out["sanction_id"], "A", date(2025, 3, 10), date(2026, 3, 9))
    f = svc.flag(fid)
    assert f["state"] == "sanctioned" and f["sanction_id"] == out["sanction_id"]
    actions = [tuple(a) for a in _audit(engine)]
    assert ("staff:supervisor1", "sanction", "A", "652801") in actions
    assert ("staff:supervisor1", "sanction_flag", f"flag:{fid}", "652801") in actions
    with pytest.raises(DomainError) as e:
        svc.sanction_flag(c.FlagSanction(flag_id=fid), actor="staff:supervisor1")
    assert e.value.code == "NOT_PENDING"
    # the sanction is in force: B1's next visit gets no mutual aid from A
    assert svc.settle("k9", visit("B1", "100.00"))["acct_mulaid_pay"] == "0.00"


def test_a_sanction_that_fails_leaves_the_flag_confirmed(svc, engine) -> None:
    inst = add_flag(engine, subject="institution:C1", psn_nos=[], state="confirmed")
    with pytest.raises(DomainError) as e:
        svc.sanction_flag(c.FlagSanction(flag_id=inst))
    assert e.value.code == "INVALID_INPUT" and "机构" in e.value.message
    fid = add_flag(engine, state="confirmed")
    with pytest.raises(DomainError) as e:
        svc.sanction_flag(c.FlagSanction.model_validate({"flag_id": fid, "from": "2025-03-10", "to": "2025-03-01"}))
    assert e.value.code == "INVALID_INPUT"
    assert svc.flag(fid)["state"] == "confirmed"
    assert run(engine, lambda uow: uow.session.scalars(select(m.Sanction)).all(), write=False) == []


def test_weekly_counts_per_rule(svc, engine) -> None:
    for day, rule in ((date(2025, 3, 10), "split_bills"), (date(2025, 3, 3), "split_bills"),
                      (date(2025, 3, 4), "quota_sweep"), (date(2025, 3, 9), "quota_sweep"),
                      (date(2024, 1, 1), "quota_sweep")):
        add_flag(engine, rule=rule, found_on=day, state="excluded")
    weeks = svc.flag_weeks(weeks=3)
    assert weeks["weeks"] == ["2025-02-24", "2025-03-03", "2025-03-10"]
    assert [(r["rule"], r["name"], r["counts"]) for r in weeks["rules"]] == [
        ("split_bills", "拆分结算", [0, 1, 1]), ("quota_sweep", "绑定即用尽", [0, 2, 0])]
    assert svc.flag_weeks(area="5326", weeks=3)["rules"] == []


def test_the_export_has_every_flag_listed(svc, engine) -> None:
    add_flag(engine, amount=123456)
    add_flag(engine, severity="low", reason="=HYPERLINK(\"x\")")
    add_flag(engine, subject="person:W", admdvs="532601")
    out = io.BytesIO()
    svc.flags_xlsx(out, area="6528")
    rows = list(load_workbook(io.BytesIO(out.getvalue())).active.iter_rows(values_only=True))
    assert rows[0][:4] == ("编号", "规则", "风险等级", "对象") and len(rows) == 3
    assert rows[1][1] == "拆分结算" and rows[1][9] == "1234.56" and rows[1][11] == "待处理"
    assert rows[2][10] == "=HYPERLINK(\"x\")" and rows[2][2] == "低"  # text, not a formula


def test_sanctioning_asks_the_person_be_of_the_area_too(svc, engine) -> None:
    mixed = add_flag(engine, subject="person:W", admdvs="532601,652801", state="confirmed")
    svc.read(review.act_on_flag, "6528", mixed)  # the flag names the area
    with pytest.raises(scope.OutOfArea):
        svc.read(review.sanction_flag_in, "6528", mixed)  # but W is insured in 文山
    svc.read(review.sanction_flag_in, "5326", mixed)
