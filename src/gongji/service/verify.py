"""``gongji verify``: the ledger's and the counters' invariants, checked on any database.

Each check reports every violation it finds, in plain words; an empty list means the database is
sound. Sums and comparisons run in SQL and only the violations come back; what needs the policy
(caps) or a per-settlement picture streams in order or in id ranges, so memory stays flat and the
check finishes on a database of tens of millions of rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from itertools import groupby

from sqlalchemy import Connection, Integer, cast, exists, extract, func, literal, or_, select, union_all

from gongji.calc_format import AMOUNT_FIELDS
from gongji.domain.money import format_yuan as y
from gongji.policy.loader import Registry
from gongji.service import audit
from gongji.store import models as m

Tick = Callable[[int, int], None]  # (done, total) within one check
Progress = Callable[[str, int, int], None]  # (check label, done, total)
CHUNK = 20_000  # settlements per id range
STREAM = {"yield_per": 10_000}  # server-side cursor on PostgreSQL, batches of rows on SQLite
S, P, A, J = m.Settlement, m.Posting, m.Account, m.Journal


def verify(conn: Connection, registry: Registry, progress: Progress | None = None) -> list[str]:
    out: list[str] = []
    if conn.dialect.name == "postgresql":  # cursors here are read to the end: plan for all rows
        conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
    for label, check in CHECKS:
        def tick(done: int, total: int, label: str = label) -> None:
            if progress:
                progress(label, done, total)
        tick(0, 1)
        out.extend(check(conn, registry, tick))
        tick(1, 1)
    return out


def _entries_balance(c: Connection, _r, _t) -> Iterator[str]:
    total, n = func.sum(P.amount), func.count()
    q = (select(P.journal_id, A.ledger, total, n).join(A, A.id == P.account_id)
         .group_by(P.journal_id, A.ledger).having(or_(total != 0, n < 2)).order_by(P.journal_id))
    for jid, ledger, amount, rows in c.execute(q):
        if amount != 0:
            yield f"分录 {jid} 不平({ledger} 合计 {y(int(amount))}) / journal entry does not sum to zero"
        if rows < 2:
            yield f"分录 {jid} 只有 {rows} 行 / journal entry with a single posting"
    for (jid,) in c.execute(select(J.id).where(~exists().where(P.journal_id == J.id)).order_by(J.id)):
        yield f"分录 {jid} 没有记账行 / journal entry without postings"


def _balances(c: Connection, _r, _t) -> Iterator[str]:
    sums = select(P.account_id, func.sum(P.amount).label("total")).group_by(P.account_id).subquery()
    posted = func.coalesce(sums.c.total, 0)
    q = (select(A.name, A.balance, posted).outerjoin(sums, sums.c.account_id == A.id)
         .where(A.kind == "personal", or_(A.balance != posted, A.balance < 0)).order_by(A.id))
    for name, balance, total in c.execute(q):
        if balance != total:
            yield f"{name} 余额 {y(balance)} ≠ 记账合计 {y(int(total))} / balance differs from its postings"
        if balance < 0:
            yield f"{name} 余额为负 {y(balance)} / negative balance"


def _never_negative(c: Connection, _r, _t) -> Iterator[str]:
    """The running balance of every personal account, in posting order, never dips below zero."""
    running = func.sum(P.amount).over(partition_by=P.account_id, order_by=P.id).label("running")
    walk = (select(P.account_id, P.id, running).join(A, A.id == P.account_id)
            .where(A.kind == "personal").subquery())
    q = (select(A.name, walk.c.id, walk.c.running).join(A, A.id == walk.c.account_id)
         .where(walk.c.running < 0).order_by(walk.c.account_id, walk.c.id))
    for name, rows in groupby(c.execution_options(**STREAM).execute(q), key=lambda r: r[0]):
        _, pid, balance = next(rows)
        yield f"{name} 在记账行 {pid} 后余额为负 {y(int(balance))} / went below zero"


def _settlements(c: Connection, _r, tick: Tick) -> Iterator[str]:
    """Per settlement, in id ranges: its amounts add up, and its ledger entries match them."""
    low, high = c.execute(select(func.min(S.id), func.max(S.id))).one()
    if low is None:
        return
    ranges = range(low, high + 1, CHUNK)
    for done, lo in enumerate(ranges):
        yield from _settlement_range(c, lo, lo + CHUNK)
        tick(done + 1, len(ranges))


def _settlement_range(c: Connection, lo: int, hi: int) -> Iterator[str]:
    yield from _sums_in_range(c, lo, hi)
    mulaid: dict[int, list[tuple[str, int]]] = defaultdict(list)
    MP = m.MulaidPayment
    for sid, holder, amount in c.execute(select(MP.settlement_id, MP.holder, MP.amount)
                                         .where(MP.settlement_id >= lo, MP.settlement_id < hi)).all():
        mulaid[sid].append((holder, amount))
    count: dict[tuple[int | None, str], int] = defaultdict(int)
    for jsid, kind, n in c.execute(select(J.settlement_id, J.kind, func.count())
                                   .where(J.settlement_id >= lo, J.settlement_id < hi)
                                   .group_by(J.settlement_id, J.kind)):
        count[(jsid, kind)] = n
    per: dict[tuple[int | None, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for psid, kind, name, amount in c.execute(
            select(J.settlement_id, J.kind, A.name, P.amount).join(P, P.journal_id == J.id)
            .join(A, A.id == P.account_id).where(J.settlement_id >= lo, J.settlement_id < hi)).all():
        per[(psid, kind)][name] += amount
    cols = (S.id, S.channel, S.state, S.region, S.psn_no, S.fixmedins, S.hifp_pay, S.acct_pay, S.acct_mulaid_pay,
            S.entered_by, S.decided_by)
    for r in c.execute(select(*cols).where(S.id >= lo, S.id < hi).order_by(S.id)).all():
        yield from _entries_match(r, mulaid[r.id], count, per)


def _sums_in_range(c: Connection, lo: int, hi: int) -> Iterator[str]:
    """The settlements whose own amounts, items or mutual-aid detail do not add up: each rule is
    one SQL condition, selected as a column, so only the settlements that break one come back."""
    def summed(table):
        return (select(table.settlement_id, func.sum(table.amount).label("total"))
                .where(table.settlement_id >= lo, table.settlement_id < hi).group_by(table.settlement_id).subquery())
    items, detail = summed(m.SettlementItem), summed(m.MulaidPayment)
    rules = [
        (or_(*(getattr(S, k) < 0 for k in AMOUNT_FIELDS)), "有负数金额 / a negative amount"),
        (S.medfee_sumamt != S.fulamt_ownpay_amt + S.overlmt_selfpay + S.preselfpay_amt + S.inscp_scp_amt,
         "总额 ≠ 全自费 + 超限价 + 先行自付 + 符合范围 / medfee_sumamt does not add up"),
        (S.medfee_sumamt != S.hifp_pay + S.acct_pay + S.acct_mulaid_pay + S.psn_cash_pay,
         "总额 ≠ 统筹 + 账户 + 共济 + 现金 / payments do not add up"),
        (S.act_pay_dedc > S.inscp_scp_amt, "起付线超过符合范围金额 / deductible above the in-scope amount"),
        (func.coalesce(items.c.total, 0) != S.medfee_sumamt, "明细合计 ≠ 总额 / items do not sum to medfee_sumamt"),
        (func.coalesce(detail.c.total, 0) != S.acct_mulaid_pay,
         "共济明细合计 ≠ 共济支付 / mulaid_detail does not sum to acct_mulaid_pay"),
    ]
    q = (select(S.id, *(rule for rule, _ in rules)).outerjoin(items, items.c.settlement_id == S.id)
         .outerjoin(detail, detail.c.settlement_id == S.id)
         .where(S.id >= lo, S.id < hi, or_(*(rule for rule, _ in rules))).order_by(S.id))
    for sid, *broken in c.execute(q):
        yield from (f"结算 {m.setl_id_of(sid)} {words}" for hit, (_, words) in zip(broken, rules, strict=False) if hit)


def _entries_match(r, mulaid, count, per) -> Iterator[str]:
    """Each settlement has exactly its ledger entry; a reversed one also the exact opposite."""
    who = lambda: m.setl_id_of(r.id)  # noqa: E731
    if r.channel == "manual":  # paid once settled (at once, or when approved); never before
        paid = {k: v for k, v in {f"pool:{r.region}": -r.hifp_pay, f"payout:{r.psn_no}": r.hifp_pay}.items() if v}
        if r.state != "settled" and count[(r.id, "reimburse")]:
            yield f"手工报销 {who()} 未经复核通过却已记账 / paid before approval ({r.state})"
        elif r.acct_pay or r.acct_mulaid_pay or count[(r.id, "reimburse")] > 1 \
                or dict(per[(r.id, "reimburse")]) != (paid if r.state == "settled" else {}):
            yield f"手工报销 {who()} 的记账与报销金额不符 / manual reimbursement entry differs"
        if r.decided_by is not None and r.decided_by == r.entered_by:
            yield f"手工报销 {who()} 由录入人本人复核 / approved by the person who entered it"
        return
    want: dict[str, int] = defaultdict(int)
    want[f"personal:{r.psn_no}"] -= r.acct_pay
    for holder, amount in mulaid:
        want[f"personal:{holder}"] -= amount
    want[f"pool:{r.region}"] -= r.hifp_pay
    want[f"institution:{r.fixmedins}"] += r.hifp_pay + r.acct_pay + r.acct_mulaid_pay
    want = {k: v for k, v in want.items() if v}
    if count[(r.id, "settle")] > 1 or (want and dict(per[(r.id, "settle")]) != want):
        yield f"结算 {who()} 的记账与结算金额不符 / ledger entry differs from the settlement"
    reversed_ = {k: -v for k, v in per[(r.id, "reverse")].items()}
    if r.state == "reversed" and (count[(r.id, "reverse")] > 1 or reversed_ != want):
        yield f"结算 {who()} 的冲正记账不是原记账的反向 / reversal is not the exact opposite"
    if r.state != "reversed" and count[(r.id, "reverse")]:
        yield f"结算 {who()} 未冲正却有冲正记账 / reversal entry for a settlement not reversed"


def _counters(c: Connection, _r, _t) -> Iterator[str]:
    """Each person-year's usage row equals the sums of that year's settled mutual aid."""
    year, zero, U = cast(extract("year", S.setl_date), Integer), literal(0), m.YearUsage
    MP = m.MulaidPayment
    parts = union_all(
        select(S.psn_no.label("psn"), year.label("yr"), func.sum(S.acct_mulaid_pay).label("rec"),
               zero.label("paid"), zero.label("urec"), zero.label("upaid"))
        .where(S.state == "settled", S.acct_mulaid_pay != 0).group_by(S.psn_no, year),
        select(MP.holder, year, zero, func.sum(MP.amount), zero, zero).join(S, S.id == MP.settlement_id)
        .where(S.state == "settled").group_by(MP.holder, year),
        select(U.psn_no, U.year, zero, zero, U.mulaid_received, U.mulaid_paid),
    ).subquery()
    rec, paid, urec, upaid = (func.sum(getattr(parts.c, k)) for k in ("rec", "paid", "urec", "upaid"))
    q = (select(parts.c.psn, parts.c.yr, urec, upaid, rec, paid).group_by(parts.c.psn, parts.c.yr)
         .having(or_(rec != urec, paid != upaid)).order_by(parts.c.psn, parts.c.yr))
    for psn, yr, got_r, got_p, want_r, want_p in c.execution_options(**STREAM).execute(q):
        yield (f"{psn} {yr} 年 计数器(收 {y(int(got_r))} 付 {y(int(got_p))})≠ 结算合计(收 {y(int(want_r))}"
               f" 付 {y(int(want_p))}) / usage counter differs from its settlements")
    # quota forfeited at death: rare, so both sides fit in memory
    zeroed = {name: -int(total) for name, total in c.execute(
        select(A.name, func.sum(P.amount)).join(P, P.account_id == A.id)
        .where(A.kind == "quota").group_by(A.name))}
    keys = {tuple(k.split(":")[2:]) for k in zeroed if k.count(":") == 3}  # not quota:forfeited
    rows = c.execute(select(U.psn_no, U.year, U.zeroed_received, U.zeroed_paid)
                     .where(or_(U.zeroed_received != 0, U.zeroed_paid != 0,
                                U.psn_no.in_(sorted({psn for psn, _ in keys}))))).all()
    for psn, yr, zr, zp in sorted(rows):
        if (zr, zp) != (zeroed.get(f"quota:received:{psn}:{yr}", 0), zeroed.get(f"quota:paid:{psn}:{yr}", 0)):
            yield f"{psn} {yr} 年 清零额度与额度分录不符 / zeroed quota differs from its QUOTA entries"


def _caps(c: Connection, registry: Registry, tick: Tick) -> Iterator[str]:
    """No settlement above its per-settlement cap; no year total above the highest cap that
    applied to any of that year's settlements (a sound bound even when caps change mid-year).
    Streams in person order, so only one person-year is held at a time."""
    yield from _beneficiary_caps(c, registry)
    tick(1, 2)
    yield from _holder_caps(c, registry)


def _terms(registry: Registry, r):
    return registry.find(r.region).at(r.setl_date)  # cached per span


def _beneficiary_caps(c: Connection, registry: Registry) -> Iterator[str]:
    q = (select(S.id, S.psn_no, S.region, S.setl_date, S.med_type, S.dise_codg, S.acct_mulaid_pay,
                m.Person.insutype).join(m.Person, m.Person.psn_no == S.psn_no)
         .where(S.state == "settled", S.acct_mulaid_pay > 0).order_by(S.psn_no, S.setl_date, S.id))
    for (psn, yr), rows in groupby(c.execution_options(**STREAM).execute(q),
                                   key=lambda r: (r.psn_no, r.setl_date.year)):
        total, cap = 0, 0  # type: int, int | None
        for r in rows:
            t = _terms(registry, r)
            if t.settlement_cap is not None and r.acct_mulaid_pay > t.settlement_cap:
                yield f"结算 {m.setl_id_of(r.id)} 共济 {y(r.acct_mulaid_pay)} 超过单次限额 {y(t.settlement_cap)}"
            this = t.annual_cap_beneficiary.get(r.insutype)
            if this is not None and r.med_type == "14" and t.chronic_extra_quota is not None \
                    and t.is_chronic(r.dise_codg):
                this += t.chronic_extra_quota
            total += r.acct_mulaid_pay
            cap = _widest(cap, this)
        if cap is not None and total > cap:
            yield f"{psn} {yr} 年受益 {y(total)} 超过被绑定人年度限额 {y(cap)}"


def _holder_caps(c: Connection, registry: Registry) -> Iterator[str]:
    MP = m.MulaidPayment
    q = (select(MP.holder, S.region, S.setl_date, MP.amount).join(S, S.id == MP.settlement_id)
         .where(S.state == "settled").order_by(MP.holder, S.setl_date))
    for (holder, yr), rows in groupby(c.execution_options(**STREAM).execute(q),
                                      key=lambda r: (r.holder, r.setl_date.year)):
        total, cap = 0, 0  # type: int, int | None
        for r in rows:
            this = _terms(registry, r).annual_cap_holder
            total += r.amount
            cap = _widest(cap, this)
        if cap is not None and total > cap:
            yield f"{holder} {yr} 年支出 {y(total)} 超过主账户年度限额 {y(cap)}"


def _widest(cap: int | None, this: int | None) -> int | None:
    """The highest cap so far; none (no cap) once any settlement had none."""
    return None if this is None or cap is None else max(cap, this)


def _fee_lines(c: Connection, _r, _t) -> Iterator[str]:
    """National-interface fee lines agree with their settlement: its lines sum to its total, a
    settled line belongs to a settlement in force, a cancelled one to a cancelled settlement."""
    L = m.NhsaFeeLine
    sums = (select(L.settlement_id, func.sum(L.amount).label("total")).where(L.settlement_id.is_not(None))
            .group_by(L.settlement_id).subquery())
    q = (select(S.id, S.medfee_sumamt, sums.c.total).join(sums, sums.c.settlement_id == S.id)
         .where(sums.c.total != S.medfee_sumamt).order_by(S.id))
    for id_, total, lines in c.execute(q):
        yield (f"结算 {m.setl_id_of(id_)} 的费用明细合计 {y(int(lines))} ≠ 医疗费总额 {y(total)}"
               " / fee lines do not sum to medfee_sumamt")
    wrong = (select(L.id, L.state, S.id, S.state).join(S, S.id == L.settlement_id)
             .where(or_((L.state == "settled") & (S.state != "settled"), (L.state == "cancelled") & (S.state != "reversed"),
                        L.state.in_(("unsettled", "withdrawn")))).order_by(L.id))
    for line, line_state, id_, state in c.execute(wrong):
        yield (f"费用明细 {line}({line_state})与结算 {m.setl_id_of(id_)}({state})状态不符"
               " / a fee line's state disagrees with its settlement")
    orphan = select(L.id).where(L.state.in_(("settled", "cancelled")), L.settlement_id.is_(None)).order_by(L.id)
    for (line,) in c.execute(orphan):
        yield f"费用明细 {line} 已结算却没有结算记录 / a settled fee line without its settlement"


CHECKS: tuple[tuple[str, Callable[[Connection, Registry, Tick], Iterator[str]]], ...] = (
    ("分录平衡 journal entries balance", _entries_balance),
    ("余额 = 记账合计 balances", _balances),
    ("余额从未为负 running balances", _never_negative),
    ("结算与记账 settlements and their entries", _settlements),
    ("国家接口费用明细 national-interface fee lines", _fee_lines),
    ("年度计数器 usage counters", _counters),
    ("限额 caps", _caps),
    ("审计链 audit chain", lambda c, _r, tick: iter(audit.verify_chain(c, tick))),
)
