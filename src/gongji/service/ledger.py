"""Double-entry postings. Every movement is one ``Journal`` entry whose lines sum to zero per
ledger, written in the same transaction as the event that caused it. The personal balance is
updated with the posting and checked never negative here, before the database's CHECK would.
A broken rule raises ``LedgerError`` (a bug, not a refusal); on PostgreSQL a deferred constraint
trigger checks every entry's balance again at commit (migration 0005, docs/ledger.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongji.domain.errors import LedgerError
from gongji.store import models as m
from gongji.store.raw import Raw

CNY, QUOTA = "CNY", "QUOTA"
CONTRIBUTIONS = "contributions"  # where monthly credits and opening balances come from
FORFEITED = "quota:forfeited"


def _cache(session: Session) -> dict[str, m.Account]:
    """Accounts already loaded in this transaction, by name (the session holds them)."""
    return session.info.setdefault("accounts", {})


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
    if any(by_ledger.values()):
        raise LedgerError(f"unbalanced entry {kind}: {by_ledger}")
    entry = m.Journal(kind=kind, on=on, settlement_id=settlement_id, ref=ref)
    session.add(entry)
    session.flush()
    for a, amt in lines:
        if a.balance is not None:
            a.balance += amt
            if a.balance < 0:
                raise LedgerError(f"{a.name} would go below zero")
        session.add(m.Posting(journal_id=entry.id, account_id=a.id, amount=amt))
    return entry


def balance(session: Session, psn_no: str) -> int:
    acct = session.scalar(select(m.Account.balance).where(m.Account.psn_no == psn_no))
    return acct or 0


def counter_ids(db: Raw, wanted: dict[str, str], known: dict[str, int] | None = None) -> dict[str, int]:
    """Ids of counter-accounts by name (``wanted``: name → kind), made on first use; ``known``
    (read earlier in the transaction) saves the lookup when it has them all."""
    names = sorted(wanted)
    if known is not None and all(n in known for n in names):
        return {n: known[n] for n in names}
    found = dict(db.rows("SELECT name, id FROM accounts WHERE name IN ({})", lists=[names]))
    missing = [n for n in names if n not in found]
    for id_, name in db.insert("accounts", ("name", "kind", "ledger"), [(n, wanted[n], CNY) for n in missing], "name"):
        found[name] = id_
    return found


def check_balanced(postings: Iterable[tuple[int, int, int]]) -> None:
    """Postings (journal id, account id, amount), all in CNY, written by hand (the bulk loader):
    each journal's lines must sum to zero, as ``post`` would check."""
    sums: dict[int, int] = defaultdict(int)
    for jid, _, amt in postings:
        sums[jid] += amt
    unbalanced = [jid for jid, total in sums.items() if total]
    if unbalanced:
        raise LedgerError(f"unbalanced journal entries {unbalanced[:5]}")


def post_many(db: Raw, on: date, entries: Sequence[tuple[str, int | None, list[tuple[int, int]]]],
              ids: Sequence[int] = ()) -> None:
    """Journal entries (kind, settlement id, lines of (account id, amount)) in CNY, written with
    one insert per table. Balances of personal accounts are the caller's to update, under its
    locks. Zero lines are dropped; an entry with no line is not written. One entry per
    settlement (the settlement id finds its journal id again). ``ids``: journal ids drawn from
    the sequence beforehand, at least one per entry, so no answer is awaited."""
    entries = [(kind, sid, [(a, amt) for a, amt in lines if amt]) for kind, sid, lines in entries]
    entries = [e for e in entries if e[2]]
    for kind, sid, lines in entries:
        if sum(amt for _, amt in lines):
            raise LedgerError(f"unbalanced entry {kind} of settlement {sid}")
    if ids:
        journal = {sid: jid for (_, sid, _), jid in zip(entries, ids, strict=False)}
        db.insert("journal", ("id", "kind", '"on"', "settlement_id"),
                  [(journal[sid], kind, db.date(on), sid) for kind, sid, _ in entries])
    else:
        made = db.insert("journal", ("kind", '"on"', "settlement_id"),
                         [(kind, db.date(on), sid) for kind, sid, _ in entries], "settlement_id")
        journal = {sid: jid for jid, sid in made}
    db.insert("postings", ("journal_id", "account_id", "amount"),
              [(journal[sid], a, amt) for _, sid, lines in entries for a, amt in lines])
