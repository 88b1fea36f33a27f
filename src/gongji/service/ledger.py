"""Double-entry postings. Every movement is one ``Journal`` entry whose lines sum to zero per
ledger, written in the same transaction as the event that caused it. The personal balance is
updated with the posting and asserted never negative here, before the database's CHECK would."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from gongji.store import models as m

CNY, QUOTA = "CNY", "QUOTA"
CONTRIBUTIONS = "contributions"  # where monthly credits and opening balances come from
FORFEITED = "quota:forfeited"


def _cache(session: Session) -> dict[str, m.Account]:
    """Accounts already loaded in this transaction, by name (the session holds them)."""
    return session.info.setdefault("accounts", {})


def preload(session: Session, psn_nos: list[str]) -> dict[str, m.Account]:
    """The personal accounts of these people, loaded once and kept for this transaction."""
    found = {a.psn_no: a for a in session.scalars(select(m.Account).where(m.Account.psn_no.in_(psn_nos)))}
    _cache(session).update({a.name: a for a in found.values()})
    return found


def personal(session: Session, psn_no: str) -> m.Account:
    acct = _cache(session).get(f"personal:{psn_no}")
    if acct is None:
        acct = session.scalar(select(m.Account).where(m.Account.psn_no == psn_no))
    if acct is None:
        acct = m.Account(name=f"personal:{psn_no}", kind="personal", psn_no=psn_no, balance=0)
        session.add(acct)
        session.flush()
    _cache(session)[acct.name] = acct
    return acct


def account(session: Session, name: str, kind: str, ledger: str = CNY) -> m.Account:
    """A counter-account (no stored balance), made on first use."""
    acct = _cache(session).get(name) or session.scalar(select(m.Account).where(m.Account.name == name))
    if acct is None:
        acct = m.Account(name=name, kind=kind, ledger=ledger, balance=None)
        session.add(acct)
        session.flush()
    _cache(session)[name] = acct
    return acct


def post(session: Session, kind: str, on: date, lines: list[tuple[m.Account, int]], *,
         settlement_id: int | None = None, ref: str | None = None) -> m.Journal | None:
    """Write one journal entry. Zero lines are dropped; an entry with no line is not written."""
    lines = [(a, amt) for a, amt in lines if amt]
    if not lines:
        return None
    by_ledger: dict[str, int] = {}
    for a, amt in lines:
        by_ledger[a.ledger] = by_ledger.get(a.ledger, 0) + amt
    assert all(v == 0 for v in by_ledger.values()), f"unbalanced entry {kind}: {by_ledger}"
    entry = m.Journal(kind=kind, on=on, settlement_id=settlement_id, ref=ref)
    session.add(entry)
    session.flush()
    for a, amt in lines:
        if a.balance is not None:
            a.balance += amt
            assert a.balance >= 0, f"{a.name} would go below zero"
        session.add(m.Posting(journal_id=entry.id, account_id=a.id, amount=amt))
    return entry


def balance(session: Session, psn_no: str) -> int:
    acct = session.scalar(select(m.Account.balance).where(m.Account.psn_no == psn_no))
    return acct or 0


def counter_ids(conn: Connection, wanted: dict[str, str]) -> dict[str, int]:
    """Ids of counter-accounts by name (``wanted``: name → kind), made on first use."""
    t = m.Account.__table__
    found = {r.name: r.id for r in conn.execute(select(t.c.name, t.c.id).where(t.c.name.in_(wanted)))}
    for name in sorted(set(wanted) - set(found)):
        found[name] = conn.execute(insert(t).values(name=name, kind=wanted[name], ledger=CNY, balance=None)
                                   .returning(t.c.id)).scalar_one()
    return found


def post_many(conn: Connection, on: date, entries: list[tuple[str, int | None, list[tuple[int, int]]]]) -> None:
    """Journal entries (kind, settlement id, lines of (account id, amount)) in CNY, written with
    one insert per table. Balances of personal accounts are the caller's to update, under its
    locks. Zero lines are dropped; an entry with no line is not written."""
    entries = [(kind, sid, [(a, amt) for a, amt in lines if amt]) for kind, sid, lines in entries]
    entries = [e for e in entries if e[2]]
    for kind, sid, lines in entries:
        assert sum(amt for _, amt in lines) == 0, f"unbalanced entry {kind} of settlement {sid}"
    if not entries:
        return
    j, p = m.Journal.__table__, m.Posting.__table__
    ids = conn.execute(insert(j).returning(j.c.id, sort_by_parameter_order=True),
                       [{"kind": kind, "on": on, "settlement_id": sid} for kind, sid, _ in entries]).scalars().all()
    conn.execute(insert(p), [{"journal_id": jid, "account_id": a, "amount": amt}
                             for jid, (_, _, lines) in zip(ids, entries, strict=True) for a, amt in lines])
