"""Four eyes, on both databases: money enters an account only by a supervisor (or the system), and
a large manual reimbursement pays only when a second supervisor approves it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gongji.domain.errors import DomainError
from gongji.service import commands as c
from gongji.service import security
from gongji.service.credits import CreditsFileError
from gongji.service.settlements import pending_reimbursements
from gongji.service.uow import run
from gongji.store import models as m
from tests.service.helpers import service, statements_sent
from tests.service.test_reimburse import claim

CLERK, SUP, SUP2, ADMIN = "staff:clerk1", "staff:sup1", "staff:sup2", "staff:admin1"


def staffed(engine, day: str = "2025-06-20"):
    svc = service(engine, day)
    for name, role in (("clerk1", "clerk"), ("sup1", "supervisor"), ("sup2", "supervisor"), ("admin1", "admin")):
        svc.secure(security.add_staff, name, role)
    return svc


def count(engine, what) -> int:
    return run(engine, lambda uow: uow.session.scalar(select(func.count()).select_from(what)), write=False)


def refused(fn, code: str) -> DomainError:
    with pytest.raises(DomainError) as e:
        fn()
    assert e.value.code == code
    return e.value


def test_only_a_supervisor_opens_an_account_with_money(engine) -> None:
    svc = staffed(engine)
    huge = c.RegisterPerson(psn_no="A", insutype="310", insu_admdvs="652801", balance="999999999999.99")
    for actor in (CLERK, ADMIN, "person:A", "institution:C1"):
        e = refused(lambda actor=actor: svc.register_person(huge, actor=actor), "FORBIDDEN")
        assert e.status == 403 and "主管" in e.message
    assert count(engine, m.Person) == count(engine, m.Journal) == count(engine, m.Account) == 0

    # a clerk still registers with a zero balance; a supervisor (or the system) opens with money
    svc.register_person(c.RegisterPerson(psn_no="Z", insutype="310", insu_admdvs="652801"), actor=CLERK)
    assert count(engine, m.Journal) == 0
    e = refused(lambda: svc.register_person(huge, actor=SUP), "INVALID_INPUT")
    assert e.field == "balance" and "500000.00" in e.message
    out = svc.register_person(c.RegisterPerson(psn_no="A", insutype="310", insu_admdvs="652801",
                                               balance="1200.00"), actor=SUP)
    assert out["balance"] == "1200.00"

    def opening(uow):
        return sorted((j.kind, a.name, p.amount) for j, p, a in uow.session.execute(
            select(m.Journal, m.Posting, m.Account).join(m.Posting, m.Posting.journal_id == m.Journal.id)
            .join(m.Account, m.Account.id == m.Posting.account_id).where(m.Account.name.in_(
                ("personal:A", "contributions")))))

    assert run(engine, opening, write=False) == [("opening", "contributions", -120000), ("opening", "personal:A", 120000)]
    svc.register_person(c.RegisterPerson(psn_no="S", insutype="310", insu_admdvs="652801", balance="5.00"))  # the system: loaders, replay
    # a manual credit follows the same rule
    refused(lambda: svc.credit(c.Credit(psn_no="A", amount="1.00"), actor=CLERK), "FORBIDDEN")
    refused(lambda: svc.credit(c.Credit(psn_no="A", amount="500000.01"), actor=SUP), "INVALID_INPUT")
    assert svc.credit(c.Credit(psn_no="A", amount="500000.00"), actor=SUP)["balance"] == "501200.00"
    assert svc.verify() == []


def test_a_credits_file_row_above_the_maximum_is_refused(engine) -> None:
    svc = staffed(engine)
    svc.register_person(c.RegisterPerson(psn_no="A", insutype="310", insu_admdvs="652801"))
    with pytest.raises(CreditsFileError) as e:
        svc.import_credits(b"psn_no,amount,period\nA,500000.01,2025-06\n", "big.csv")
    assert e.value.problems == ["第 2 行:金额有误 amount: 单笔不得超过 500000.00 元 / above the per-credit maximum"]
    assert count(engine, m.Journal) == 0


def reimbursement_entries(engine) -> list:
    def read(uow):
        return sorted((j.settlement_id, a.name, p.amount) for j, p, a in uow.session.execute(
            select(m.Journal, m.Posting, m.Account).join(m.Posting, m.Posting.journal_id == m.Journal.id)
            .join(m.Account, m.Account.id == m.Posting.account_id).where(m.Journal.kind == "reimburse")))
    return run(engine, read, write=False)


def big(no: str):
    # resident, level 2, Bayingolin: (20000 − 100) × 50% = 9950 from the pooled fund, above 5000
    return claim(no, amount="20000.00")


def test_a_large_reimbursement_waits_for_a_second_supervisor(engine) -> None:
    svc = staffed(engine)
    svc.register_person(c.RegisterPerson(psn_no="B", insutype="390", insu_admdvs="652801"))
    small = svc.reimburse(claim("BX1", amount="300.00"), actor=CLERK)  # 100.00: pays at once
    assert small["state"] == "settled" and small["hifp_pay"] == "100.00"
    assert reimbursement_entries(engine) == [(1, "payout:B", 10000), (1, "pool:652800", -10000)]

    pending = svc.reimburse(big("BX2"), actor=SUP)
    assert (pending["state"], pending["hifp_pay"], pending["decided_on"]) == ("pending_approval", "9950.00", None)
    assert "另一名主管复核" in pending["explain"][-1]
    assert len(reimbursement_entries(engine)) == 2  # no money moved
    assert svc.reimburse(big("BX2"), actor=CLERK) == pending  # a retry: the same pending state
    assert svc.verify() == []
    listed = svc.read(pending_reimbursements)
    assert listed["total"] == 1 and listed["items"][0]["entered_by"] == SUP

    sid = pending["setl_id"]
    for who in (SUP, CLERK, ADMIN, "system"):  # the one who entered it, and anyone not a supervisor
        e = refused(lambda who=who: svc.approve_reimbursement(sid, actor=who), "FORBIDDEN")
        assert e.status == 403
    refused(lambda: svc.reject_reimbursement(sid, actor=SUP), "FORBIDDEN")
    assert len(reimbursement_entries(engine)) == 2

    svc.clock.day = svc.clock.day.replace(day=23)
    paid = svc.approve_reimbursement(sid, actor=SUP2)
    assert (paid["state"], paid["decided_on"], paid["hifp_pay"]) == ("settled", "2025-06-23", "9950.00")
    assert reimbursement_entries(engine)[2:] == [(2, "payout:B", 995000), (2, "pool:652800", -995000)]
    assert svc.approve_reimbursement(sid, actor=SUP2) == paid  # the same decision, retried
    assert svc.reimburse(big("BX2"), actor=CLERK) == paid
    refused(lambda: svc.reject_reimbursement(sid, actor=SUP2), "NOT_PENDING")
    refused(lambda: svc.approve_reimbursement(small["setl_id"], actor=SUP2), "NOT_PENDING")
    assert svc.verify() == []

    def trail(uow):
        return [(a.actor, a.action) for a in uow.session.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id))
                if "reimburs" in a.action]
    assert run(engine, trail, write=False) == [(CLERK, "reimburse"), (SUP, "reimburse"), (CLERK, "reimburse"),
                                                (SUP2, "approve_reimbursement"), (SUP2, "approve_reimbursement"),
                                                (CLERK, "reimburse")]


def test_a_rejected_reimbursement_pays_nothing(engine) -> None:
    svc = staffed(engine)
    svc.register_person(c.RegisterPerson(psn_no="B", insutype="390", insu_admdvs="652801"))
    sid = svc.reimburse(big("BX3"), actor=CLERK)["setl_id"]
    out = svc.reject_reimbursement(sid, actor=SUP)
    assert (out["state"], out["decided_on"]) == ("rejected", "2025-06-20")
    assert svc.reimburse(big("BX3"), actor=CLERK) == out
    refused(lambda: svc.approve_reimbursement(sid, actor=SUP2), "NOT_PENDING")
    assert reimbursement_entries(engine) == []
    assert svc.verify() == []


@pytest.mark.tampers
def test_verify_finds_a_reimbursement_paid_without_its_approval(engine) -> None:
    svc = staffed(engine)
    svc.register_person(c.RegisterPerson(psn_no="B", insutype="390", insu_admdvs="652801"))
    sid = svc.reimburse(big("BX4"), actor=CLERK)["setl_id"]
    svc.approve_reimbursement(sid, actor=SUP)

    def tamper(uow):
        uow.session.get(m.Settlement, 1).state = "pending_approval"
    run(engine, tamper)
    assert svc.verify() == [f"手工报销 {sid} 未经复核通过却已记账 / paid before approval (pending_approval)"]

    def same_person(uow):
        row = uow.session.get(m.Settlement, 1)
        row.state, row.decided_by = "settled", CLERK
    run(engine, same_person)
    assert svc.verify() == [f"手工报销 {sid} 由录入人本人复核 / approved by the person who entered it"]


def test_the_pending_queue_is_read_through_its_partial_index(pg_engine, pg_url, monkeypatch) -> None:
    import psycopg
    svc = staffed(pg_engine)
    svc.register_person(c.RegisterPerson(psn_no="B", insutype="390", insu_admdvs="652801"))
    svc.reimburse(big("BX5"), actor=CLERK)
    with statements_sent(monkeypatch) as sent:
        assert svc.read(pending_reimbursements)["total"] == 1
    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("SET enable_seqscan = off")  # small tables: price scans out, as test_settle_plans does
        plans = ["\n".join(r[0] for r in conn.execute("EXPLAIN " + query, params))
                 for query, params in sent if query.lstrip().upper().startswith("SELECT")]
    assert len(plans) == 2 and all("settlements_pending_approval" in p for p in plans), plans


def test_one_visit_is_reimbursed_once_and_counts_whole_against_the_threshold(engine) -> None:
    """The same bill under a new claim number pays nothing more; a bill split over claims is one
    visit for the four-eyes threshold (a clerk alone could otherwise pay it twice, or in parts)."""
    svc = staffed(engine)
    svc.register_person(c.RegisterPerson(psn_no="B", insutype="390", insu_admdvs="652801"))
    first = svc.reimburse(claim("S1", amount="9000.00"), actor=CLERK)  # (9000 − 100) × 50% = 4450: at once
    assert (first["state"], first["hifp_pay"]) == ("settled", "4450.00")
    e = refused(lambda: svc.reimburse(claim("S1-again", amount="9000.00"), actor=CLERK), "IDEMPOTENCY_CONFLICT")
    assert "S1" in e.message and e.field == "claim_no"
    second = svc.reimburse(claim("S2", amount="2000.00"), actor=CLERK)  # 950 more: 5400 for the visit
    assert (second["state"], second["hifp_pay"]) == ("pending_approval", "950.00")
    assert "4450.00" in second["explain"][-1]
    assert reimbursement_entries(engine) == [(1, "payout:B", 445000), (1, "pool:652800", -445000)]
    other_day = svc.reimburse(claim("S3", amount="2000.00", on="2025-06-04"), actor=CLERK)
    assert other_day["state"] == "settled"  # another visit


def test_a_claim_number_fits_the_key_it_is_kept_in() -> None:
    from pydantic import ValidationError
    assert claim("C" * 57).claim_no == "C" * 57  # "manual:" + 57 = the key's 64 characters
    with pytest.raises(ValidationError):
        claim("C" * 58)
