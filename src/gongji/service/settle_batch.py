"""Settle a batch of visits in one transaction, each keeping its own outcome.

Every settlement is checked and calculated in arrival order against one snapshot (so the second
of two bills against one holder sees the first's spending), then all of them are written at once:
one multi-row insert per table, one update per changed balance and counter. The statements per
batch do not grow with the batch, which is what lets many settlements share one commit.

A refused settlement (``DomainError``) is refused before anything is written, and only it. The
same institution and key twice, in the database or earlier in the batch, answer the first
result, or ``IDEMPOTENCY_CONFLICT`` when the request differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from gongji.calc_format import AMOUNT_FIELDS, output
from gongji.domain.errors import DomainError
from gongji.domain.settlement import Settlement as Result
from gongji.domain.settlement import calculate
from gongji.policy.loader import Registry
from gongji.service import ledger, snapshot
from gongji.service.commands import VisitRef
from gongji.service.common import Ctx
from gongji.service.settlements import ratio_text, request_hash, settled_output
from gongji.store import models as m

ST, IT, MP = m.Settlement.__table__, m.SettlementItem.__table__, m.MulaidPayment.__table__
A, U = m.Account.__table__, m.YearUsage.__table__


@dataclass
class _Made:
    key: str
    visit: VisitRef
    request_hash: str
    region: str
    result: Result
    id: int = 0


def _stored(conn: Connection, requests: list[tuple[str, VisitRef, str]]) -> dict[tuple[str, str], Any]:
    """Settlements already made under these keys (by institution and key)."""
    codes = {v.fixmedins for _, v, _ in requests}
    keys = {k for k, _, _ in requests}
    rows = conn.execute(select(ST.c.id, ST.c.fixmedins, ST.c.idem_key, ST.c.request_hash).where(
        ST.c.fixmedins.in_(codes), ST.c.idem_key.in_(keys)))
    return {(r.fixmedins, r.idem_key): r for r in rows}


def _conflict(key: str, setl_id: str) -> DomainError:
    return DomainError("IDEMPOTENCY_CONFLICT", f"请求号 {key} 已用于另一笔结算 {setl_id},内容不同", "key")


def settle_many(uow, registry: Registry, day: date,
                requests: list[tuple[str, VisitRef, str]]) -> list[tuple[dict, bool] | DomainError]:
    """``requests``: (key, visit, actor). One entry per request: (output, made now) or the refusal."""
    uow.session.flush()
    conn = uow.session.connection()
    stored = _stored(conn, requests)
    fresh = [v for k, v, _ in requests if (v.fixmedins, k) not in stored]
    snap = snapshot.load(conn, fresh, day.year, lock=True) if fresh else None
    made: dict[tuple[str, str], _Made] = {}
    plan: list[Any] = []  # per request: a DomainError, a stored row, or (_Made, made now)
    for key, v, actor in requests:
        k, digest = (v.fixmedins, key), request_hash(v)
        first = stored.get(k) or made.get(k)
        if first is not None:
            plan.append(("conflict", key, first) if first.request_hash != digest else
                        (first, False) if isinstance(first, _Made) else first)
            continue
        try:
            situation, terms, _ = snapshot.situation(Ctx(registry, day, actor), snap, v)
            r = calculate(situation, terms)
        except DomainError as e:
            plan.append(e)
            continue
        snapshot.spend(snap, v.psn_no, r.acct_pay, r.acct_mulaid_pay, list(r.mulaid_detail))
        made[k] = _Made(key, v, digest, situation.region, r)
        plan.append((made[k], True))
    if made:
        _write(conn, day, snap, list(made.values()))
    return [_answer(uow, p) for p in plan]


def _answer(uow, p) -> tuple[dict, bool] | DomainError:
    if isinstance(p, DomainError):
        return p
    if isinstance(p, tuple) and p[0] == "conflict":
        first = p[2]
        return _conflict(p[1], m.setl_id_of(first.id))
    if isinstance(p, tuple):
        x, now = p
        return output(x.result) | {"setl_id": m.setl_id_of(x.id)}, now
    return settled_output(uow.session.get(m.Settlement, p.id)), False


def _write(conn: Connection, day: date, snap: snapshot.Snapshot, made: list[_Made]) -> None:
    rows = [dict(fixmedins=x.visit.fixmedins, idem_key=x.key, request_hash=x.request_hash, psn_no=x.visit.psn_no,
                 region=x.region, setl_date=day, med_type=x.visit.med_type, dise_codg=x.visit.dise_codg,
                 external_rx=x.visit.external_rx, acct_used_flag=x.visit.acct_used_flag,
                 codes=list(x.result.codes), explain=list(x.result.explain), state="settled", channel="direct",
                 **{f: getattr(x.result, f) for f in AMOUNT_FIELDS}) for x in made]
    ids = conn.execute(insert(ST).returning(ST.c.id, sort_by_parameter_order=True), rows).scalars().all()
    for x, id_ in zip(made, ids, strict=True):
        x.id = id_
    conn.execute(insert(IT), [
        dict(settlement_id=x.id, seq=i, code=it.code, name=it.name, list_class=it.list_class,
             category=it.category, amount=it.amount, selfpay_prop=ratio_text(it.selfpay_prop))
        for x in made for i, it in enumerate(x.visit.items)])
    mulaid = [dict(settlement_id=x.id, seq=i, holder=h, amount=a)
              for x in made for i, (h, a) in enumerate(x.result.mulaid_detail)]
    if mulaid:
        conn.execute(insert(MP), mulaid)
    _post(conn, day, snap, made)
    _counters(conn, snap)


def _post(conn: Connection, day: date, snap: snapshot.Snapshot, made: list[_Made]) -> None:
    """The ledger entries (as ``service.settlements._move`` writes one) and the new balances."""
    counters = ledger.counter_ids(conn, {f"pool:{x.region}": "pool" for x in made}
                                  | {f"institution:{x.visit.fixmedins}": "institution" for x in made})
    entries = []
    for x in made:
        r = x.result
        payers = [(x.visit.psn_no, r.acct_pay)] + list(r.mulaid_detail)
        lines = [(snap.accounts[no][0], -amt) for no, amt in payers if amt]
        lines.append((counters[f"pool:{x.region}"], -r.hifp_pay))
        lines.append((counters[f"institution:{x.visit.fixmedins}"], r.hifp_pay + r.acct_pay + r.acct_mulaid_pay))
        entries.append(("settle", x.id, lines))
    ledger.post_many(conn, day, entries)
    spent = {no for x in made for no, amt in [(x.visit.psn_no, x.result.acct_pay)] + list(x.result.mulaid_detail)
             if amt}
    if spent:
        conn.execute(update(A).where(A.c.id == bindparam("aid")).values(balance=bindparam("bal")),
                     [{"aid": snap.accounts[no][0], "bal": snap.accounts[no][1]} for no in sorted(spent)])


def _counters(conn: Connection, snap: snapshot.Snapshot) -> None:
    changed = sorted((no, u) for no, u in snap.usage.items() if u.changed)
    old = [{"pno": no, "yr": snap.year, **{f"v_{k}": getattr(u, k) for k in snapshot.COUNTERS}}
           for no, u in changed if u.stored]
    new = [{"psn_no": no, "year": snap.year, **{k: getattr(u, k) for k in snapshot.COUNTERS}}
           for no, u in changed if not u.stored]
    if old:
        conn.execute(update(U).where(U.c.psn_no == bindparam("pno"), U.c.year == bindparam("yr"))
                     .values({k: bindparam(f"v_{k}") for k in snapshot.COUNTERS}), old)
    if new:
        conn.execute(insert(U), new)
    for _, u in changed:
        u.stored, u.changed = True, False
