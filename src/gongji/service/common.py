"""What the use cases share: the context they run in, lookups that refuse with a code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from gongji.domain import situation as d
from gongji.domain.errors import DomainError
from gongji.policy.loader import PolicyError, RegionPolicy, Registry
from gongji.store import models as m


@dataclass(frozen=True)
class Ctx:
    registry: Registry
    day: date
    actor: str = "system"  # who acts: a staff id, an institution code, a psn_no


def person(session: Session, psn_no: str, field: str = "psn_no") -> m.Person:
    p = session.get(m.Person, psn_no)
    if p is None:
        raise DomainError("UNKNOWN_PERSON", f"查无此参保人 {psn_no}", field)
    return p


def living(session: Session, psn_no: str, field: str = "psn_no") -> m.Person:
    p = person(session, psn_no, field)
    if p.status == d.DECEASED:
        raise DomainError("PERSON_DECEASED", f"{psn_no} 已身故", field)
    return p


def institution(session: Session, code: str, field: str = "fixmedins") -> m.Institution:
    inst = session.get(m.Institution, code)
    if inst is None:
        raise DomainError("UNKNOWN_INSTITUTION", f"查无此定点医药机构 {code}", field)
    return inst


def region_of(registry: Registry, admdvs: str, field: str) -> RegionPolicy:
    try:
        return registry.find(admdvs)
    except PolicyError as e:
        raise DomainError("INVALID_INPUT", e.plain, field) from None


def domain_person(p: m.Person, balance: int, sanctions: list[m.Sanction]) -> d.Person:
    return d.Person(p.psn_no, p.insutype, p.insu_admdvs, balance, p.status, p.mulaid_frozen,
                    tuple(d.Period(s.start, s.end) for s in sanctions))


def usage(session: Session, psn_no: str, year: int) -> m.YearUsage:
    """The person's counters for the year, created at zero on first use (caller holds the lock)."""
    u = session.get(m.YearUsage, (psn_no, year))
    if u is None:
        u = m.YearUsage(psn_no=psn_no, year=year, mulaid_received=0, mulaid_paid=0,
                        zeroed_received=0, zeroed_paid=0)
        session.add(u)
    return u
