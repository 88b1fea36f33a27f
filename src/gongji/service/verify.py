"""``gongji verify``: the ledger's and the counters' invariants, checked on any database.

Each check reads what it needs in bulk and reports every violation it finds, in plain words; an
empty list means the database is sound."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from gongji.calc_format import AMOUNT_FIELDS
from gongji.domain.money import format_yuan as y
from gongji.policy.loader import Registry
from gongji.store import models as m


def verify(session: Session, registry: Registry) -> list[str]:
    out: list[str] = []
    for check in (_entries_balance, _balances, _never_negative, _settlements_add_up,
                  _settlement_entries, _counters, _caps):
        out.extend(check(session, registry))
    return out


def _entries_balance(s: Session, _r) -> Iterator[str]:
    q = (select(m.Posting.journal_id, m.Account.ledger, func.sum(m.Posting.amount), func.count())
         .join(m.Account, m.Account.id == m.Posting.account_id)
         .group_by(m.Posting.journal_id, m.Account.ledger))
    seen = set()
    for jid, ledger, total, n in s.execute(q):
        seen.add(jid)
        if total != 0:
            yield f"分录 {jid} 不平({ledger} 合计 {y(int(total))}) / journal entry does not sum to zero"
        if n < 2:
            yield f"分录 {jid} 只有 {n} 行 / journal entry with a single posting"
    for (jid,) in s.execute(select(m.Journal.id)):
        if jid not in seen:
            yield f"分录 {jid} 没有记账行 / journal entry without postings"


def _balances(s: Session, _r) -> Iterator[str]:
    sums = dict(s.execute(select(m.Posting.account_id, func.sum(m.Posting.amount))
                          .group_by(m.Posting.account_id)).all())
    for a in s.scalars(select(m.Account).where(m.Account.kind == "personal")):
        posted = int(sums.get(a.id) or 0)
        if a.balance != posted:
            yield f"{a.name} 余额 {y(a.balance)} ≠ 记账合计 {y(posted)} / balance differs from its postings"
        if a.balance < 0:
            yield f"{a.name} 余额为负 {y(a.balance)} / negative balance"


def _never_negative(s: Session, _r) -> Iterator[str]:
    """The running balance of every personal account, in posting order, never dips below zero."""
    q = (select(m.Account.name, m.Posting.id, m.Posting.amount)
         .join(m.Account, m.Account.id == m.Posting.account_id)
         .where(m.Account.kind == "personal").order_by(m.Account.id, m.Posting.id))
    running: dict[str, int] = defaultdict(int)
    reported = set()
    for name, pid, amount in s.execute(q):
        running[name] += amount
        if running[name] < 0 and name not in reported:
            reported.add(name)
            yield f"{name} 在记账行 {pid} 后余额为负 {y(running[name])} / went below zero"


def _settlements_add_up(s: Session, _r) -> Iterator[str]:
    items = dict(s.execute(select(m.SettlementItem.settlement_id, func.sum(m.SettlementItem.amount))
                           .group_by(m.SettlementItem.settlement_id)).all())
    detail = dict(s.execute(select(m.MulaidPayment.settlement_id, func.sum(m.MulaidPayment.amount))
                            .group_by(m.MulaidPayment.settlement_id)).all())
    for r in s.scalars(select(m.Settlement)):
        who = f"结算 {r.setl_id}"
        if any(getattr(r, k) < 0 for k in AMOUNT_FIELDS):
            yield f"{who} 有负数金额 / a negative amount"
        if r.medfee_sumamt != r.fulamt_ownpay_amt + r.preselfpay_amt + r.inscp_scp_amt:
            yield f"{who} 总额 ≠ 全自费 + 先行自付 + 符合范围 / medfee_sumamt does not add up"
        if r.medfee_sumamt != r.hifp_pay + r.acct_pay + r.acct_mulaid_pay + r.psn_cash_pay:
            yield f"{who} 总额 ≠ 统筹 + 账户 + 共济 + 现金 / payments do not add up"
        if r.act_pay_dedc > r.inscp_scp_amt:
            yield f"{who} 起付线超过符合范围金额 / deductible above the in-scope amount"
        if int(items.get(r.id) or 0) != r.medfee_sumamt:
            yield f"{who} 明细合计 ≠ 总额 / items do not sum to medfee_sumamt"
        if int(detail.get(r.id) or 0) != r.acct_mulaid_pay:
            yield f"{who} 共济明细合计 ≠ 共济支付 / mulaid_detail does not sum to acct_mulaid_pay"


def _settlement_entries(s: Session, _r) -> Iterator[str]:
    """Each settlement has exactly its ledger entry; a reversed one also the exact opposite."""
    per: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    count: dict[tuple[int, str], int] = defaultdict(int)
    for jid, sid, kind in s.execute(select(m.Journal.id, m.Journal.settlement_id, m.Journal.kind)
                                    .where(m.Journal.settlement_id.is_not(None))):
        count[(sid, kind)] += 1
    q = (select(m.Journal.settlement_id, m.Journal.kind, m.Account.name, m.Posting.amount)
         .join(m.Posting, m.Posting.journal_id == m.Journal.id)
         .join(m.Account, m.Account.id == m.Posting.account_id)
         .where(m.Journal.settlement_id.is_not(None)))
    for sid, kind, name, amount in s.execute(q):
        per[(sid, kind)][name] += amount
    for r in s.scalars(select(m.Settlement).options(selectinload(m.Settlement.mulaid))):
        if r.channel == "manual":
            want = {k: v for k, v in {f"pool:{r.region}": -r.hifp_pay, f"payout:{r.psn_no}": r.hifp_pay}.items() if v}
            if r.acct_pay or r.acct_mulaid_pay or count[(r.id, "reimburse")] > 1 \
                    or dict(per[(r.id, "reimburse")]) != want:
                yield f"手工报销 {r.setl_id} 的记账与报销金额不符 / manual reimbursement entry differs"
            continue
        want: dict[str, int] = defaultdict(int)
        want[f"personal:{r.psn_no}"] -= r.acct_pay
        for p in r.mulaid:
            want[f"personal:{p.holder}"] -= p.amount
        want[f"pool:{r.region}"] -= r.hifp_pay
        want[f"institution:{r.fixmedins}"] += r.hifp_pay + r.acct_pay + r.acct_mulaid_pay
        want = {k: v for k, v in want.items() if v}
        if count[(r.id, "settle")] > 1 or (want and dict(per[(r.id, "settle")]) != want):
            yield f"结算 {r.setl_id} 的记账与结算金额不符 / ledger entry differs from the settlement"
        reversed_ = {k: -v for k, v in per[(r.id, "reverse")].items()}
        if r.state == "reversed" and (count[(r.id, "reverse")] > 1 or reversed_ != want):
            yield f"结算 {r.setl_id} 的冲正记账不是原记账的反向 / reversal is not the exact opposite"
        if r.state != "reversed" and count[(r.id, "reverse")]:
            yield f"结算 {r.setl_id} 未冲正却有冲正记账 / reversal entry for a settlement not reversed"


def _settled(s: Session):
    return s.scalars(select(m.Settlement).where(m.Settlement.state == "settled")
                     .options(selectinload(m.Settlement.mulaid)))


def _counters(s: Session, _r) -> Iterator[str]:
    received: dict[tuple[str, int], int] = defaultdict(int)
    paid: dict[tuple[str, int], int] = defaultdict(int)
    for r in _settled(s):
        year = r.setl_date.year
        if r.acct_mulaid_pay:
            received[(r.psn_no, year)] += r.acct_mulaid_pay
        for p in r.mulaid:
            paid[(p.holder, year)] += p.amount
    zeroed = {name: -int(total) for name, total in s.execute(
        select(m.Account.name, func.sum(m.Posting.amount))
        .join(m.Posting, m.Posting.account_id == m.Account.id)
        .where(m.Account.kind == "quota").group_by(m.Account.name))}
    rows = {(u.psn_no, u.year): u for u in s.scalars(select(m.YearUsage))}
    for key in sorted(set(received) | set(paid) | set(rows)):
        u = rows.get(key)
        who = f"{key[0]} {key[1]} 年"
        got = (u.mulaid_received, u.mulaid_paid) if u else (0, 0)
        if got != (received[key], paid[key]):
            yield (f"{who} 计数器(收 {y(got[0])} 付 {y(got[1])})≠ 结算合计(收 {y(received[key])}"
                   f" 付 {y(paid[key])}) / usage counter differs from its settlements")
        if u and (u.zeroed_received != zeroed.get(f"quota:received:{key[0]}:{key[1]}", 0)
                  or u.zeroed_paid != zeroed.get(f"quota:paid:{key[0]}:{key[1]}", 0)):
            yield f"{who} 清零额度与额度分录不符 / zeroed quota differs from its QUOTA entries"


def _caps(s: Session, registry: Registry) -> Iterator[str]:
    """No settlement above its per-settlement cap; no year total above the highest cap that
    applied to any of that year's settlements (a sound bound even when caps change mid-year)."""
    ben_cap: dict[tuple[str, int], int | None] = {}
    holder_cap: dict[tuple[str, int], int | None] = {}
    received: dict[tuple[str, int], int] = defaultdict(int)
    paid: dict[tuple[str, int], int] = defaultdict(int)
    insutype = dict(s.execute(select(m.Person.psn_no, m.Person.insutype)).all())
    for r in _settled(s):
        terms = registry.find(r.region).at(r.setl_date)
        if terms.settlement_cap is not None and r.acct_mulaid_pay > terms.settlement_cap:
            yield f"结算 {r.setl_id} 共济 {y(r.acct_mulaid_pay)} 超过单次限额 {y(terms.settlement_cap)}"
        key = (r.psn_no, r.setl_date.year)
        cap = terms.annual_cap_beneficiary.get(insutype[r.psn_no])
        if cap is not None and r.med_type == "14" and terms.chronic_extra_quota is not None \
                and terms.is_chronic(r.dise_codg):
            cap += terms.chronic_extra_quota
        if r.acct_mulaid_pay:
            received[key] += r.acct_mulaid_pay
            ben_cap[key] = None if cap is None or ben_cap.get(key, 0) is None else max(cap, ben_cap.get(key, 0))
        for p in r.mulaid:
            hk = (p.holder, r.setl_date.year)
            paid[hk] += p.amount
            hc = terms.annual_cap_holder
            holder_cap[hk] = None if hc is None or holder_cap.get(hk, 0) is None else max(hc, holder_cap.get(hk, 0))
    for key, total in received.items():
        if ben_cap[key] is not None and total > ben_cap[key]:
            yield f"{key[0]} {key[1]} 年受益 {y(total)} 超过被绑定人年度限额 {y(ben_cap[key])}"
    for key, total in paid.items():
        if holder_cap[key] is not None and total > holder_cap[key]:
            yield f"{key[0]} {key[1]} 年支出 {y(total)} 超过主账户年度限额 {y(holder_cap[key])}"
