"""Everything one settlement depends on, as plain values (see shared/spec/calc-format.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from gongji.domain.money import ZERO_RATIO, Fen, Ratio

ACTIVE, TRANSFERRED, INTERRUPTED, DECEASED = "active", "transferred", "interrupted", "deceased"
STATUSES = (ACTIVE, TRANSFERRED, INTERRUPTED, DECEASED)


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # inclusive

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class Person:
    psn_no: str
    insutype: str
    insu_admdvs: str
    balance: Fen = 0
    status: str = ACTIVE
    mulaid_frozen: bool = False
    sanctions: tuple[Period, ...] = ()

    def sanctioned_on(self, day: date) -> bool:
        return any(p.covers(day) for p in self.sanctions)


@dataclass(frozen=True, slots=True)
class Binding:
    holder: str
    beneficiary: str
    relation: str
    approved_on: date
    unbind_requested_on: date | None = None

    def in_force(self, day: date, stops_next_day: bool = True) -> bool:
        """Approved on or before ``day`` and not yet unbound: an unbinding requested on D still
        serves D (when the region stops it the next day) and stops from D+1."""
        if self.approved_on > day:
            return False
        end = self.unbind_requested_on
        if end is None:
            return True
        return day <= end if stops_next_day else day < end


@dataclass(frozen=True, slots=True)
class Filing:
    psn_no: str
    admdvs: str
    period: Period

    def covers(self, admdvs: str, day: date) -> bool:
        """A code ending in 0000 covers its province, in 00 its prefecture, else that county."""
        if not self.period.covers(day):
            return False
        if self.admdvs.endswith("0000"):
            return admdvs[:2] == self.admdvs[:2]
        if self.admdvs.endswith("00"):
            return admdvs[:4] == self.admdvs[:4]
        return admdvs == self.admdvs


@dataclass(frozen=True, slots=True)
class Institution:
    code: str
    level: int
    admdvs: str
    kind: str  # hospital | pharmacy


@dataclass(frozen=True, slots=True)
class Item:
    code: str
    name: str
    list_class: str  # A 甲, B 乙, C 丙
    category: str
    amount: Fen
    selfpay_prop: Ratio = ZERO_RATIO
    overlmt: Fen = 0  # the part above the catalogue's price cap (超限价), borne in cash like 丙


@dataclass(frozen=True, slots=True)
class Visit:
    psn_no: str
    fixmedins: Institution
    med_type: str
    items: tuple[Item, ...]
    dise_codg: str | None = None
    external_rx: bool = False
    acct_used_flag: str = "1"


@dataclass(frozen=True, slots=True)
class Situation:
    region: str
    date: date
    persons: Mapping[str, Person]
    visit: Visit
    bindings: tuple[Binding, ...] = ()
    filings: tuple[Filing, ...] = ()
    mulaid_received: Mapping[str, Fen] = field(default_factory=dict)
    mulaid_paid: Mapping[str, Fen] = field(default_factory=dict)
