"""What settlements read, for one visit or a whole batch, in a handful of set-based queries.

``load`` reads the patients, their bound holders (locked, in ``psn_no`` order, when the caller
will write), balances, year counters, sanctions and filings; ``situation`` turns one visit into
the pure domain's ``Situation``. A batch applies each settlement's effect to the snapshot before
the next is calculated, so settlements in one transaction see each other exactly as if they had
run one after another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from gongji.domain import binding as b
from gongji.domain import situation as d
from gongji.domain.errors import DomainError, LedgerError
from gongji.policy.loader import PolicyError
from gongji.service.commands import VisitRef
from gongji.service.common import Ctx, region_of
from gongji.service.uow import Retry
from gongji.store.raw import Raw, shape

SERVING = (b.APPROVED, b.UNBOUND, b.ENDED)  # states that may have served on some day
COUNTERS = ("mulaid_received", "mulaid_paid", "zeroed_received", "zeroed_paid")



@dataclass
class Usage:
    """A person's counters for the year; ``stored`` is False until the row exists."""
    stored: bool
    mulaid_received: int = 0
    mulaid_paid: int = 0
    zeroed_received: int = 0
    zeroed_paid: int = 0
    changed: bool = False


@dataclass
class Snapshot:
    year: int
    people: dict[str, Any] = field(default_factory=dict)
    institutions: dict[str, Any] = field(default_factory=dict)
    bindings: dict[str, list[Any]] = field(default_factory=dict)  # by beneficiary, by id
    accounts: dict[str, list[int]] = field(default_factory=dict)  # psn_no → [account id, balance]
    sanctions: dict[str, list[Any]] = field(default_factory=dict)
    filings: dict[str, list[Any]] = field(default_factory=dict)
    usage: dict[str, Usage] = field(default_factory=dict)
    stored: dict[tuple[str, str], Any] = field(default_factory=dict)  # (fixmedins, key) → settlement made
    counter_accounts: dict[str, int] = field(default_factory=dict)  # pool:… and institution:… → id
    ids: list[tuple[int, int]] = field(default_factory=list)  # drawn up front: (settlement id, journal id)

    def balance(self, psn_no: str) -> int:
        acct = self.accounts.get(psn_no)
        return acct[1] if acct else 0

    def counters(self, psn_no: str) -> Usage:
        u = self.usage.get(psn_no)
        if u is None:
            u = self.usage[psn_no] = Usage(stored=False)
        return u


def _group(rows: Iterable[Any], key: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for r in rows:
        out.setdefault(getattr(r, key), []).append(r)
    return out


Binding = shape("Binding", "id region holder beneficiary relation state approved_on unbind_requested_on ended_on")
Person = shape("Person", "psn_no insutype insu_admdvs status mulaid_frozen")
Institution = shape("Institution", "code level admdvs kind")
Dated = shape("Dated", "psn_no admdvs start end")


Stored = shape("Stored", "id fixmedins idem_key request_hash")


EVERYONE = ("psn_no IN (SELECT psn_no FROM persons WHERE psn_no IN ({}) UNION ALL"
            " SELECT holder FROM bindings WHERE beneficiary IN ({}) AND state IN ({}))")


def _statements(patients: list[str], codes: list[str], keys: Sequence[str], counters: Sequence[str],
                year: int) -> list[tuple[str, tuple, list]]:
    """The read as statements (SQLite, whose writer already holds the database: no lock)."""
    people_lists = [patients, patients, SERVING]
    writing = [
        ("SELECT id, fixmedins, idem_key, request_hash FROM settlements WHERE fixmedins IN ({}) AND idem_key IN ({})",
         (), [codes, sorted(set(keys))]),
        ("SELECT name, id FROM accounts WHERE name IN ({})", (), [sorted(set(counters))]),
    ] if keys else []
    return [
        ("SELECT psn_no, insutype, insu_admdvs, status, mulaid_frozen FROM persons WHERE " + EVERYONE, (), people_lists),
        ("SELECT code, level, admdvs, kind FROM institutions WHERE code IN ({})", (), [codes]),
        ("SELECT id, region, holder, beneficiary, relation, state, approved_on, unbind_requested_on, ended_on"
         " FROM bindings WHERE beneficiary IN ({}) AND state IN ({}) ORDER BY id", (), [patients, SERVING]),
        ('SELECT psn_no, admdvs, start, "end" FROM filings WHERE psn_no IN ({})', (), [patients]),
        ("SELECT psn_no, id, balance FROM accounts WHERE " + EVERYONE, (), people_lists),
        ('SELECT psn_no, start, "end" FROM sanctions WHERE ' + EVERYONE, (), people_lists),
        (f"SELECT psn_no, {', '.join(COUNTERS)} FROM year_usage WHERE ({EVERYONE}) AND year = ?", (year,),
         people_lists),
        *writing]


def load(conn: Connection, visits: list[VisitRef], year: int, lock: bool, keys: Sequence[str] = (),
         counters: Sequence[str] = (), ids: bool = False) -> Snapshot:
    """Everything a batch reads, in one round trip on PostgreSQL: the people the visits lead to
    (patients and their bound holders) locked first, in ``psn_no`` order, when the caller will
    write; then, seeing what the last lock holder committed, what the visits name and those
    people's balances, counters, sanctions and filings. With ``keys`` (a batch that writes): also
    the settlements already made under them and the ids of the ``counters`` accounts (by name, so
    the lookup stays on the index however many personal accounts there are). With ``ids``
    (PostgreSQL): a settlement id and a journal id drawn from their sequences for each
    (institution, key) pair not settled before, so the batch's writes need no answer from the
    server (a refused request's id is then not used). On PostgreSQL this is one call of ``settle_read``
    (migration 0013) sent with the BEGIN; on SQLite the same reads as statements.

    A holder bound after the lock was taken would be read but not locked: ``Retry`` then runs
    the batch again (the new binding is committed by then, and the lock takes its holder)."""
    db = Raw(conn)
    snap = Snapshot(year)
    patients = sorted({v.psn_no for v in visits})
    codes = sorted({v.fixmedins for v in visits})
    if db.pg:  # one call (migration 0013), with the BEGIN: a round trip, one statement for psycopg
        pairs = [(v.fixmedins, k) for v, k in zip(visits, keys, strict=True)] if ids else []
        ((doc,),) = db.call("SELECT settle_read(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?,"
                            " ?::text[], ?::text[], ?)", patients, list(SERVING), codes, sorted(set(keys)),
                            sorted(set(counters)), year, [f for f, _ in pairs], [k for _, k in pairs], lock,
                            begin=True)
        parts = {k: v or [] for k, v in doc.items()}
        people, institutions, bindings, filings, accounts, sanctions, usage = (
            parts[k] for k in ("people", "institutions", "bindings", "filings", "accounts", "sanctions", "usage"))
        snap.stored = {(r[1], r[2]): Stored(*r) for r in parts["stored"]}
        snap.counter_accounts = dict(parts["counters"])
        snap.ids = [(r[0], r[1]) for r in parts["ids"]]
    else:
        people, institutions, bindings, filings, accounts, sanctions, usage, *more = db.many(
            _statements(patients, codes, keys, counters, year))
        if keys:
            snap.stored = {(r[1], r[2]): Stored(*r) for r in more[0]}
            snap.counter_accounts = dict(more[1])
    d_ = db.read_date
    snap.institutions = {r[0]: Institution(*r) for r in institutions}
    bindings = [Binding(*r[:6], d_(r[6]), d_(r[7]), d_(r[8])) for r in bindings]
    snap.bindings = _group(bindings, "beneficiary")
    snap.filings = _group([Dated(r[0], r[1], d_(r[2]), d_(r[3])) for r in filings], "psn_no")
    snap.people = {r[0]: Person(*r[:4], bool(r[4])) for r in people}
    if lock and any(x.holder not in snap.people for x in bindings):
        raise Retry("a holder was bound after the lock was taken")
    snap.accounts = {r[0]: [r[1], r[2]] for r in accounts}
    snap.sanctions = _group([Dated(r[0], None, d_(r[1]), d_(r[2])) for r in sanctions], "psn_no")
    snap.usage = {r[0]: Usage(True, *r[1:]) for r in usage}
    return snap


def _stops(ctx: Ctx, x) -> bool:
    return ctx.registry.find(x.region).at(ctx.day).unbind_stops_next_day


def _domain_binding(ctx: Ctx, x) -> d.Binding:
    last = b.last_day(x.state, x.approved_on, x.unbind_requested_on, x.ended_on, _stops(ctx, x))
    return d.Binding(x.holder, x.beneficiary, x.relation, x.approved_on, last)


def _region(ctx: Ctx, patient, rows: list):
    """The policy that governs: the patient's bound holders' region (the patient's own if that
    is among them), else the patient's own region."""
    in_force = [x for x in rows if _domain_binding(ctx, x).in_force(ctx.day, _stops(ctx, x))]
    regions = {x.region for x in in_force}
    try:
        own = ctx.registry.find(patient.insu_admdvs).region
    except PolicyError:
        own = None
    if own and (own in regions or not regions):
        return ctx.registry.find(own)
    if regions:
        return ctx.registry.find(min(in_force, key=lambda x: (x.approved_on, x.id)).region)
    if rows:
        return ctx.registry.find(rows[-1].region)
    return region_of(ctx.registry, patient.insu_admdvs, "visit.psn_no")


def _person(snap: Snapshot, no: str) -> d.Person:
    p = snap.people[no]
    return d.Person(p.psn_no, p.insutype, p.insu_admdvs, snap.balance(no), p.status, p.mulaid_frozen,
                    tuple(d.Period(s.start, s.end) for s in snap.sanctions.get(no, ())))


def situation(ctx: Ctx, snap: Snapshot, v: VisitRef, extra_filings: tuple[d.Filing, ...] = ()):
    """The visit as the domain sees it, with the policy terms of the day and the institution."""
    patient = snap.people.get(v.psn_no)
    if patient is None:
        raise DomainError("UNKNOWN_PERSON", f"查无此参保人 {v.psn_no}", "visit.psn_no")
    if patient.status == d.DECEASED:
        raise DomainError("PERSON_DECEASED", f"{patient.psn_no} 已身故,不能结算", "visit.psn_no")
    inst = snap.institutions.get(v.fixmedins)
    if inst is None:
        raise DomainError("UNKNOWN_INSTITUTION", f"查无此定点医药机构 {v.fixmedins}", "visit.fixmedins")
    rows = snap.bindings.get(v.psn_no, [])
    region = _region(ctx, patient, rows)
    try:
        terms = region.at(ctx.day)
    except PolicyError as e:
        raise DomainError("INVALID_INPUT", e.plain, "date") from None
    rows = [x for x in rows if x.region == region.region]
    holders = sorted({x.holder for x in rows})
    persons = {no: _person(snap, no) for no in [v.psn_no] + holders}
    used = snap.usage
    received = {v.psn_no: used[v.psn_no].mulaid_received + used[v.psn_no].zeroed_received} \
        if v.psn_no in used else {}
    paid = {h: used[h].mulaid_paid + used[h].zeroed_paid for h in holders if h in used}
    filings = tuple(d.Filing(f.psn_no, f.admdvs, d.Period(f.start, f.end))
                    for f in snap.filings.get(v.psn_no, ())) + extra_filings
    visit = d.Visit(
        v.psn_no, d.Institution(inst.code, inst.level, inst.admdvs, inst.kind), v.med_type,
        tuple(d.Item(it.code, it.name, it.list_class, it.category, it.amount, it.selfpay_prop, it.overlmt_amt)
              for it in v.items),
        v.dise_codg, v.external_rx, v.acct_used_flag)
    situation = d.Situation(region.region, ctx.day, persons, visit,
                            tuple(_domain_binding(ctx, x) for x in rows), filings, received, paid)
    return situation, terms, inst


def spend(snap: Snapshot, patient: str, acct_pay: int, acct_mulaid_pay: int,
          mulaid: list[tuple[str, int]]) -> None:
    """A settlement's effect on the snapshot: balances down, counters up (never below zero)."""
    for no, amt in [(patient, acct_pay)] + mulaid:
        if amt:
            acct = snap.accounts[no]
            acct[1] -= amt
            if acct[1] < 0:
                raise LedgerError(f"personal:{no} would go below zero")
    if acct_mulaid_pay:
        u = snap.counters(patient)
        u.mulaid_received += acct_mulaid_pay
        u.changed = True
    for holder, amt in mulaid:
        u = snap.counters(holder)
        u.mulaid_paid += amt
        u.changed = True
