"""Settle a batch of visits in one transaction, each keeping its own outcome.

Every settlement is checked and calculated in arrival order against one snapshot (so the second
of two bills against one holder sees the first's spending), then all of them are written at once:
one multi-row insert per table, one update per changed balance and counter. The statements per
batch do not grow with the batch, which is what lets many settlements share one commit.

A refused settlement (``DomainError``) is refused before anything is written, and only it. The
same institution and key twice, in the database or earlier in the batch, answer the first
result as the settlement stands now (``settlements.answer``: reversed since, it says so), or
``IDEMPOTENCY_CONFLICT`` when the request differs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from gongji.calc_format import AMOUNT_FIELDS, output
from gongji.domain.errors import DomainError
from gongji.domain.settlement import Settlement as Result
from gongji.domain.settlement import calculate
from gongji.policy.loader import Registry
from gongji.service import audit, ledger, snapshot
from gongji.service.commands import VisitRef
from gongji.service.common import Ctx
from gongji.service.settlements import ITEM_COLUMNS, answer, item_row, request_hash, settled_output
from gongji.store import models as m
from gongji.store.raw import Raw


@dataclass
class _Made:
    key: str
    visit: VisitRef
    request_hash: str
    region: str
    result: Result
    actor: str  # settled_by: who asked (institution:CODE, or with /cashier or /opter)
    id: int = 0


def _conflict(key: str, first) -> Callable[[], DomainError]:
    return lambda: DomainError("IDEMPOTENCY_CONFLICT",
                               f"请求号 {key} 已用于另一笔结算 {m.setl_id_of(first.id)},内容不同", "key")


def settle_many(uow, registry: Registry, day: date, requests: Sequence[tuple[str, VisitRef, str]],
                audited: bool = False) -> list[tuple[dict, bool] | DomainError]:
    """``requests``: (key, visit, actor). One entry per request: (output, made now) or the refusal.

    With ``audited`` the batch also appends its audit entries (one per answered request, as any
    use case does) and, on PostgreSQL, commits: its reads went in one round trip with the BEGIN
    (``settle_read``), and its writes, the audit chain and the COMMIT go in one more
    (``settle_write``). The unit of work's own commit then finds nothing left to do."""
    uow.session.flush()
    conn = uow.session.connection()
    db = Raw(conn)
    # the counter-accounts any entry may name: the institutions', and every region's pool
    counters = [f"institution:{v.fixmedins}" for _, v, _ in requests] + [f"pool:{r.region}" for r in registry.regions]
    snap = snapshot.load(conn, [v for _, v, _ in requests], day.year, lock=True, keys=[k for k, _, _ in requests],
                         counters=counters, ids=True)
    stored = snap.stored
    made: dict[tuple[str, str], _Made] = {}
    plan: list[Any] = []  # per request: the refusal, or the settlement (made now or before) that answers
    for key, v, actor in requests:
        k, digest = (v.fixmedins, key), request_hash(v)
        first = made.get(k) or stored.get(k)
        if first is not None:
            plan.append(_conflict(key, first) if first.request_hash != digest else first)
            continue
        try:
            situation, terms, _ = snapshot.situation(Ctx(registry, day, actor), snap, v)
            r = calculate(situation, terms)
        except DomainError as e:
            plan.append(e)
            continue
        snapshot.spend(snap, v.psn_no, r.acct_pay, r.acct_mulaid_pay, list(r.mulaid_detail))
        made[k] = _Made(key, v, digest, situation.region, r, actor)
        plan.append(made[k])
    answered: set[int] = set()
    # a repeat of a settlement made before is read back now, before the writes are queued
    early = {i: _answer(uow, p, answered) for i, p in enumerate(plan) if isinstance(p, snapshot.Stored)}
    # on PostgreSQL the rows below go as one document (settle_write) with the COMMIT: one round trip
    with db.deferred(commit=audited):
        if made:
            _write(db, day, snap, list(made.values()))
        outcomes = [early[i] if i in early else _answer(uow, p, answered) for i, p in enumerate(plan)]
        if audited:
            audit.append_rows(db, [(actor, "settle", f"{v.fixmedins}:{v.psn_no}",
                                    {"args": [key, v.model_dump(mode="json", by_alias=True)], "result": out[0]},
                                    snap.people[v.psn_no].insu_admdvs)
                                   for (key, v, actor), out in zip(requests, outcomes, strict=True)
                                   if not isinstance(out, DomainError)])
    db.settled()
    return outcomes


def _answer(uow, p, answered: set[int]) -> tuple[dict, bool] | DomainError:
    """The output, and whether this request made the settlement (a repeat in the batch did not)."""
    if callable(p):  # a conflict, worded once the first settlement's id is known
        return p()
    if isinstance(p, DomainError):
        return p
    if isinstance(p, _Made):
        now = p.id not in answered
        answered.add(p.id)
        return answer(output(p.result), m.setl_id_of(p.id)), now
    return settled_output(uow.session.get(m.Settlement, p.id)), False


SETTLEMENT_COLUMNS = ("fixmedins", "idem_key", "request_hash", "psn_no", "region", "setl_date", "med_type",
                      "dise_codg", "external_rx", "acct_used_flag", "codes", "explain", "state", "channel",
                      *AMOUNT_FIELDS, "settled_by")


def _write(db: Raw, day: date, snap: snapshot.Snapshot, made: list[_Made]) -> None:
    on = db.date(day)
    rows = [(x.visit.fixmedins, x.key, x.request_hash, x.visit.psn_no, x.region, on, x.visit.med_type,
             x.visit.dise_codg, x.visit.external_rx, x.visit.acct_used_flag, db.json(list(x.result.codes)),
             db.json(list(x.result.explain)), "settled", "direct", *(getattr(x.result, f) for f in AMOUNT_FIELDS),
             x.actor)
            for x in made]
    if len(snap.ids) >= len(made):  # drawn with the reads (PostgreSQL): nothing to wait for
        for x, (id_, _) in zip(made, snap.ids, strict=False):
            x.id = id_
        db.insert("settlements", ("id", *SETTLEMENT_COLUMNS), [(x.id, *r) for x, r in zip(made, rows, strict=True)])
    else:
        ids = {(fix, key): id_ for id_, fix, key in
               db.insert("settlements", SETTLEMENT_COLUMNS, rows, "fixmedins, idem_key")}
        for x in made:
            x.id = ids[(x.visit.fixmedins, x.key)]
    db.insert("settlement_items", ITEM_COLUMNS, [(x.id, *item_row(i, it)) for x in made for i, it in enumerate(x.visit.items)])
    db.insert("settlement_mulaid", ("settlement_id", "seq", "holder", "amount"), [(x.id, i, h, a) for x in made for i, (h, a) in enumerate(x.result.mulaid_detail)])
    _post(db, day, snap, made)
    _counters(db, snap)


def _post(db: Raw, day: date, snap: snapshot.Snapshot, made: list[_Made]) -> None:
    """The ledger entries (as ``service.settlements._move`` writes one) and the new balances."""
    counters = ledger.counter_ids(db, {f"pool:{x.region}": "pool" for x in made}
                                  | {f"institution:{x.visit.fixmedins}": "institution" for x in made},
                                  snap.counter_accounts)
    entries = []
    for x in made:
        r = x.result
        payers = [(x.visit.psn_no, r.acct_pay)] + list(r.mulaid_detail)
        lines = [(snap.accounts[no][0], -amt) for no, amt in payers if amt]
        lines.append((counters[f"pool:{x.region}"], -r.hifp_pay))
        lines.append((counters[f"institution:{x.visit.fixmedins}"], r.hifp_pay + r.acct_pay + r.acct_mulaid_pay))
        entries.append(("settle", x.id, lines))
    ledger.post_many(db, day, entries, [j for _, j in snap.ids] if len(snap.ids) >= len(entries) else ())
    spent = {no for x in made for no, amt in [(x.visit.psn_no, x.result.acct_pay)] + list(x.result.mulaid_detail)
             if amt}
    db.update("accounts", ("id",), ("balance",), [tuple(snap.accounts[no]) for no in sorted(spent)])


def _counters(db: Raw, snap: snapshot.Snapshot) -> None:
    changed = sorted((no, u) for no, u in snap.usage.items() if u.changed)
    counters = lambda u: tuple(getattr(u, k) for k in snapshot.COUNTERS)  # noqa: E731
    db.update("year_usage", ("psn_no", "year"), snapshot.COUNTERS,
              [(no, snap.year, *counters(u)) for no, u in changed if u.stored])
    db.insert("year_usage", ("psn_no", "year", *snapshot.COUNTERS),
              [(no, snap.year, *counters(u)) for no, u in changed if not u.stored])
    for _, u in changed:
        u.stored, u.changed = True, False
