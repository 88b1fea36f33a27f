"""Preview, manual reimbursement, reverse, and read back; settling itself is ``settle_batch``.

A settlement reads the patient's and the bound holders' balances and year counters under their
row locks (``snapshot``), calculates with the pure domain, and writes the settlement, its ledger
entry and the counters in one transaction: no cap can be overrun by two settlements racing.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from math import gcd

from pydantic import BaseModel
from sqlalchemy import func, select, update

from gongji.calc_format import AMOUNT_FIELDS, output
from gongji.domain import situation as d
from gongji.domain.errors import DomainError
from gongji.domain.money import Ratio, format_yuan
from gongji.domain.settlement import calculate
from gongji.service import four_eyes, ledger, scope, snapshot
from gongji.service.commands import VisitRef
from gongji.service.common import Ctx, usage
from gongji.service.uow import UnitOfWork
from gongji.store import models as m
from gongji.store.models import settlement_pk


def ratio_text(r: Ratio) -> str:
    g = gcd(r.num, r.den) or 1
    return f"{r.num // g}/{r.den // g}"


def request_hash(v: VisitRef) -> str:
    """Same visit, same hash: amounts in fen and ratios as reduced fractions, so "100" and
    "100.00" are one request. The hash is of the visit's fields as sorted-key compact JSON
    (``_reference_request_hash``, kept for the tests, builds that text through ``model_dump``);
    the same text is written here directly, field by field, a few times faster."""
    return hashlib.sha256(_canonical(v).encode()).hexdigest()


_str = json.encoder.encode_basestring  # as json.dumps(ensure_ascii=False) writes a string


def _other(value) -> str:
    """A value of no type below (no field holds one today): as the reference writes it, or its
    error."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# how json.dumps writes each field's value, by its exact type (subclasses go through _other)
_ENCODE = {str: _str, int: int.__repr__, bool: lambda b: "true" if b else "false",
           type(None): lambda _: "null", Ratio: lambda r: _str(ratio_text(r))}


def _fields(model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """The model's fields in sorted order, each with its ``"key":`` text."""
    return tuple((k, f'"{k}":') for k in sorted(model.model_fields))


_FIELDS: dict[type, tuple[tuple[str, str], ...]] = {}


def _object(model: BaseModel) -> str:
    keys = _FIELDS.get(type(model))
    if keys is None:
        keys = _FIELDS[type(model)] = _fields(type(model))
    values = model.__dict__
    encode = _ENCODE.get
    parts = []
    for k, head in keys:
        value = values[k]
        if type(value) is list:  # the items (models); a list of plain values would be written as they are
            parts.append(head + "[" + ",".join(_object(x) if isinstance(x, BaseModel) else encode(type(x), _other)(x)
                                               for x in value) + "]")
        else:
            parts.append(head + encode(type(value), _other)(value))
    return "{" + ",".join(parts) + "}"


_canonical = _object


def _reference_request_hash(v: VisitRef) -> str:
    """The request hash as first written (settlements stored since carry it): the tests hold
    ``request_hash`` to it."""
    doc = v.model_dump(mode="python")
    doc["items"] = [dict(it, selfpay_prop=ratio_text(item.selfpay_prop))
                    for it, item in zip(doc["items"], v.items, strict=False)]
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _situation(uow: UnitOfWork, ctx: Ctx, v: VisitRef, lock: bool, extra_filings=()):
    snap = snapshot.load(uow.session.connection(), [v], ctx.day.year, lock)
    return snapshot.situation(ctx, snap, v, extra_filings)


def preview(uow: UnitOfWork, ctx: Ctx, v: VisitRef) -> dict:
    situation, terms, _ = _situation(uow, ctx, v, lock=False)
    return output(calculate(situation, terms))


def reimburse(uow: UnitOfWork, ctx: Ctx, cmd) -> dict:
    """What the policy pays for a remote bill paid in cash: the pooled fund's share, as if the
    visit had been filed (that is what manual reimbursement is for), without the personal
    account or mutual-aid, which pay only in real time. Recorded once per claim number."""
    from dataclasses import replace

    from gongji.service.people import register_institution

    s = uow.session
    if cmd.visit_on > ctx.day:
        raise DomainError("INVALID_INPUT", "就诊日期不能晚于今天", "visit_on")
    if s.get(m.Institution, cmd.institution.code) is None:
        register_institution(uow, ctx, cmd.institution)
        s.flush()
    visit = cmd.visit.model_copy(update={"fixmedins": cmd.institution.code, "acct_used_flag": "0"})
    digest = request_hash(visit)
    first = _existing(uow, visit.fixmedins, f"manual:{cmd.claim_no}")
    if first is not None:
        if first.request_hash != digest:
            raise DomainError("IDEMPOTENCY_CONFLICT", f"报销单号 {cmd.claim_no} 已用于另一笔报销", "claim_no")
        return reimbursed_output(first)
    inst = s.get_one(m.Institution, visit.fixmedins)  # registered above when new
    filed = d.Filing(visit.psn_no, inst.admdvs, d.Period(cmd.visit_on, cmd.visit_on))
    situation, terms, _ = _situation(uow, replace(ctx, day=cmd.visit_on), visit, True, (filed,))
    r = calculate(situation, terms)
    earlier = _same_visit_claims(uow, visit, cmd.visit_on, digest)  # under the patient's lock, taken above
    explain = list(r.explain) + [f"⑧ 手工报销:统筹基金应付 {format_yuan(r.hifp_pay)} 元,由参保地经办机构支付给参保人;"
                                 "个人账户与家庭共济只能在就医时实时支付,手工报销不使用"]
    above = ctx.registry.find(situation.region).value("reimburse_approval_above", ctx.day)
    needs_second = r.hifp_pay + earlier > above
    if needs_second:
        so_far = f",连同同一就诊已登记的 {format_yuan(earlier)} 元" if earlier else ""
        explain.append(f"⑨ 统筹应付{so_far}超过 {format_yuan(above)} 元:"
                       "须由录入人以外的另一名主管复核后支付")
    row = m.Settlement(
        fixmedins=inst.code, idem_key=f"manual:{cmd.claim_no}", request_hash=digest, psn_no=visit.psn_no,
        region=situation.region, setl_date=cmd.visit_on, med_type=visit.med_type, dise_codg=visit.dise_codg,
        external_rx=visit.external_rx, acct_used_flag="0", channel="manual",
        codes=[code for code in r.codes if code != "ACCOUNT_NOT_USED"], explain=explain,
        state=PENDING if needs_second else "settled", entered_by=ctx.actor, settled_by=ctx.actor,
        **{k: getattr(r, k) for k in AMOUNT_FIELDS})
    s.add(row)
    s.flush()
    _record_items(s, row, visit)
    if row.state == "settled":
        _pay_out(s, ctx.day, row)
    s.flush()
    s.refresh(row)
    return reimbursed_output(row)


PENDING = "pending_approval"  # a manual reimbursement waiting for its second person (m.PENDING_APPROVAL)


def _same_visit_claims(uow: UnitOfWork, visit: VisitRef, on: date, digest: str) -> int:
    """The pooled fund already claimed (pending or paid) for the same visit, a patient's day at one
    institution. The same bill under a new claim number is refused; a bill split over several
    claims counts as one against the four-eyes threshold."""
    S = m.Settlement
    rows = uow.session.execute(select(S.idem_key, S.request_hash, S.hifp_pay).where(
        S.channel == "manual", S.psn_no == visit.psn_no, S.fixmedins == visit.fixmedins, S.setl_date == on,
        S.state != "rejected")).all()
    for key, earlier_hash, _ in rows:
        if earlier_hash == digest:
            raise DomainError("IDEMPOTENCY_CONFLICT", f"同一张票据已以报销单号 {key.removeprefix('manual:')} 登记,"
                              "不能重复报销", "claim_no")
    return sum(hifp for *_, hifp in rows)


def _pay_out(s, day: date, row: m.Settlement) -> None:
    ledger.post(s, "reimburse", day,
                [(ledger.account(s, f"pool:{row.region}", "pool"), -row.hifp_pay),
                 (ledger.account(s, f"payout:{row.psn_no}", "payout"), row.hifp_pay)], settlement_id=row.id)


def reimbursed_output(row: m.Settlement) -> dict:
    """A manual reimbursement: its split, its state, and the decision on it, if any."""
    return settled_output(row) | {"state": row.state,
                                  "decided_on": row.decided_on.isoformat() if row.decided_on else None}


def approve_reimbursement(uow: UnitOfWork, ctx: Ctx, setl_id: str) -> dict:
    """A second supervisor approves: the pooled fund pays now, in this transaction."""
    return _decide(uow, ctx, setl_id, "settled")


def reject_reimbursement(uow: UnitOfWork, ctx: Ctx, setl_id: str) -> dict:
    """A second supervisor rejects: nothing is paid, and the claim number stays used."""
    return _decide(uow, ctx, setl_id, "rejected")


def _decide(uow: UnitOfWork, ctx: Ctx, setl_id: str, state: str) -> dict:
    row = find(uow, setl_id)
    if row.channel != "manual":
        raise DomainError("NOT_PENDING", f"结算 {row.setl_id} 不是手工报销", "setl_id")
    four_eyes.check_approver(uow.session, ctx.actor, row.entered_by)
    uow.lock([row.psn_no])
    uow.session.refresh(row)  # decided while we waited for the lock?
    if row.state != PENDING:
        if row.state == state and row.decided_by == ctx.actor:
            return reimbursed_output(row)  # the same decision, retried
        raise DomainError("NOT_PENDING", f"手工报销 {row.setl_id} 不在待复核状态", "setl_id")
    row.state, row.decided_by, row.decided_on = state, ctx.actor, ctx.day
    if state == "settled":
        _pay_out(uow.session, ctx.day, row)
    return reimbursed_output(row)


def pending_reimbursements(uow: UnitOfWork, limit: int = 50, offset: int = 0, area: str = scope.NATIONAL) -> dict:
    """The manual reimbursements waiting for a second person, oldest first; staff of an area see
    those of its patients."""
    q = select(m.Settlement).where(m.PENDING_APPROVAL, scope.person_filter(area, m.Settlement.psn_no))
    total = uow.session.scalar(select(func.count()).select_from(q.subquery()))
    rows = uow.session.scalars(q.order_by(m.Settlement.id).limit(limit).offset(offset))
    return {"total": total, "items": [
        {"setl_id": r.setl_id, "claim_no": r.idem_key.removeprefix("manual:"), "psn_no": r.psn_no,
         "region": r.region, "setl_date": r.setl_date.isoformat(), "hifp_pay": format_yuan(r.hifp_pay),
         "entered_by": r.entered_by} for r in rows]}


def _existing(uow: UnitOfWork, fixmedins: str, key: str) -> m.Settlement | None:
    return uow.session.scalar(select(m.Settlement).where(
        m.Settlement.fixmedins == fixmedins, m.Settlement.idem_key == key))


ITEM_COLUMNS = ("settlement_id", "seq", "code", "name", "list_class", "category", "amount", "selfpay_prop",
                "overlmt", "classified_by")


def item_row(seq: int, it) -> tuple:
    """A visit item as a ``settlement_items`` row, but its settlement id."""
    return (seq, it.code, it.name, it.list_class, it.category, it.amount, ratio_text(it.selfpay_prop),
            it.overlmt_amt, it.classified_by)


def _record_items(s, row: m.Settlement, visit: VisitRef) -> None:
    for i, it in enumerate(visit.items):
        s.add(m.SettlementItem(**dict(zip(ITEM_COLUMNS, (row.id, *item_row(i, it)), strict=True))))


def _move(uow: UnitOfWork, day: date, row: m.Settlement, payers: list[tuple[str, int]],
          sign: int, kind: str) -> None:
    """The ledger entry of a settlement (sign 1; ``settle_batch`` writes those set-based) or of
    its reversal (sign −1), and the counters."""
    s = uow.session
    lines = [(ledger.personal(s, no), -sign * amt) for no, amt in payers if amt]
    lines.append((ledger.account(s, f"pool:{row.region}", "pool"), -sign * row.hifp_pay))
    lines.append((ledger.account(s, f"institution:{row.fixmedins}", "institution"),
                  sign * (row.hifp_pay + row.acct_pay + row.acct_mulaid_pay)))
    ledger.post(s, kind, day, lines, settlement_id=row.id)
    year = row.setl_date.year
    if row.acct_mulaid_pay:
        usage(s, row.psn_no, year).mulaid_received += sign * row.acct_mulaid_pay
    for no, amt in payers[1:]:
        usage(s, no, year).mulaid_paid += sign * amt


def settled_output(row: m.Settlement) -> dict:
    """A stored settlement's answer, as a retry of its request gets it."""
    out = output(row, [(p.holder, p.amount) for p in row.mulaid])
    return answer(out, row.setl_id, row.state, row.reversed_on)


def answer(out: dict, setl_id: str, state: str = "settled", reversed_on: date | None = None) -> dict:
    """What settling answers, the first time and on every retry (REST, pages, replay, NHSA): the
    calc output, the id, and the settlement's state now. A retry after a reversal says
    ``reversed`` and when, so a client retrying after a timeout is not told the account paid."""
    return out | {"setl_id": setl_id, "state": state, "reversed_on": reversed_on.isoformat() if reversed_on else None}


def find(uow: UnitOfWork, setl_id: str) -> m.Settlement:
    pk = settlement_pk(setl_id)
    row = uow.session.get(m.Settlement, pk) if pk is not None else None
    if row is None:
        raise DomainError("UNKNOWN_SETTLEMENT", f"查无此结算 {setl_id}", "setl_id")
    return row


def find_by_key(uow: UnitOfWork, key: str, fixmedins: str | None = None) -> m.Settlement:
    q = select(m.Settlement).where(m.Settlement.idem_key == key)
    if fixmedins:
        q = q.where(m.Settlement.fixmedins == fixmedins)
    rows = list(uow.session.scalars(q.limit(2)))
    if len(rows) != 1:
        why = "查无此结算" if not rows else "多个机构使用了该请求号,请指定机构"
        raise DomainError("UNKNOWN_SETTLEMENT", f"{why}:{key}", "key")
    return rows[0]


def reverse(uow: UnitOfWork, ctx: Ctx, setl_id: str, key: str | None = None) -> dict:
    """Undo a settlement: every posting negated in a new entry, the counters given back."""
    row = find(uow, setl_id)
    if row.channel == "manual":
        raise DomainError("INVALID_INPUT", "手工报销不能冲正,请联系经办机构更正", "setl_id")
    if row.state == "reversed":
        if key is not None and row.reverse_key == key:
            return reversed_output(row)
        raise DomainError("ALREADY_REVERSED", f"结算 {row.setl_id} 已于 {row.reversed_on} 冲正", "setl_id")
    payers = [(row.psn_no, row.acct_pay)] + [(p.holder, p.amount) for p in row.mulaid]
    uow.lock(no for no, _ in payers)
    uow.session.refresh(row)
    if row.state == "reversed":  # reversed while we waited for the lock
        raise DomainError("ALREADY_REVERSED", f"结算 {row.setl_id} 已冲正", "setl_id")
    _move(uow, ctx.day, row, payers, sign=-1, kind="reverse")
    row.state, row.reversed_on, row.reverse_key, row.reversed_by = "reversed", ctx.day, key, ctx.actor
    # its national-interface fee lines go with it (they stay with the batch, cancelled)
    uow.session.execute(update(m.NhsaFeeLine).where(m.NhsaFeeLine.settlement_id == row.id).values(state="cancelled"))
    return reversed_output(row)


def reversed_output(row: m.Settlement) -> dict:
    return {"setl_id": row.setl_id, "state": row.state, "reversed_on": row.reversed_on.isoformat() if row.reversed_on else None,
            "restored": {"acct_pay": format_yuan(row.acct_pay),
                         "acct_mulaid_pay": format_yuan(row.acct_mulaid_pay),
                         "hifp_pay": format_yuan(row.hifp_pay),
                         "mulaid_detail": [{"holder": p.holder, "amount": format_yuan(p.amount)}
                                           for p in row.mulaid]}}
