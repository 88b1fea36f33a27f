"""Known cases of the eight supervision patterns, and near-misses just below each threshold, made
on top of a ``gongji demo --persons`` background by the real service, one day at a time.

Every case has its own persons and its own institutions (codes ``SV…``, never the background's
``Q…`` and ``BULK…``), registered, bound and settled through ``Service`` with a ``FixedClock``
set to the case's days, so the ledger rows, reversals and cashiers are the service's own. Here in
``bench`` rather than in the package: it is test data for the bench and its test, not a feature.

``inject`` returns the truth: (rule, subject, first day, last day, near_miss). A flag matches a
case when the rule and subject are equal and the periods overlap; a near-miss must match none.
"""

from __future__ import annotations

import calendar
import random
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine, text

from gongji.bulk import COUNTIES
from gongji.service import commands as c
from gongji.service.clock import FixedClock
from gongji.service.facade import Service

RULES = ("split_bills", "pharmacy_hopping", "high_frequency", "quota_sweep", "family_sweep",
         "identical_baskets", "institution_outlier", "reversal_rate")
SPLIT_CAP = {"652800": 200_000}  # fen: settlement_cap in force; elsewhere amount_without_cap
SPLIT_WITHOUT_CAP = 150000
SWEEP_AT = 160000  # 80% of 2000 yuan (巴州/文山 caps), and amount_without_cap elsewhere
PEERS_MIN = 5
K_MAD = 4 * 1.4826
MONTH_MIN = 20  # institution_outlier and reversal_rate: settlements a month at least


@dataclass(frozen=True)
class Case:
    rule: str
    subject: str
    start: date
    end: date
    near_miss: bool = False
    note: str = ""


class CaseError(Exception):
    """A case did not come out as designed (the service computed other amounts)."""


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def fen(text_: str) -> int:
    whole, _, part = text_.partition(".")
    return int(whole) * 100 + int((part + "00")[:2])


def month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


class Injector:
    def __init__(self, engine: Engine, start: date, today: date, seed: int = 1) -> None:
        self.engine = engine
        self.clock = FixedClock(start)
        self.svc = Service(engine, clock=self.clock)
        self.rng = random.Random(seed)
        self.start, self.today = start, today
        self.n = 0
        self.cases: list[Case] = []
        self.load: Counter = Counter()  # (institution, month): settlements, kept under MONTH_MIN
        self.insts: dict[tuple[str, str], list[str]] = {}
        # whole months after the first (a month for the bindings to be old) and before today's
        self.slots = [(r, m) for m in self._months() for r in COUNTIES]
        self.rng.shuffle(self.slots)

    # —— persons, institutions, settling ——

    def _months(self) -> list[date]:
        out, m = [], date(self.start.year, self.start.month, 1)
        while True:
            m = month_end(m) + timedelta(days=1)
            if month_end(m) >= self.today:
                return out
            out.append(m)

    def at(self, day: date) -> None:
        if not self.start <= day <= self.today:
            raise CaseError(f"day {day} outside {self.start}..{self.today}")
        self.clock.day = day

    def person(self, region: str, insutype: str = "310", balance: int = 500000) -> str:
        self.n += 1
        no = f"SV{self.n:07d}"
        self.svc.register_person(c.RegisterPerson(psn_no=no, insutype=insutype, insu_admdvs=COUNTIES[region],
                                                  balance=yuan(balance) if insutype == "310" else "0"))
        return no

    def family(self, region: str, balance: int, members: int, approved: date) -> tuple[str, list[str]]:
        """A holder with ``balance`` fen and ``members`` resident relatives bound on ``approved``."""
        self.at(approved)
        holder = self.person(region, "310", balance)
        bound = []
        for relation in ("spouse", "child", "parent")[:members]:
            no = self.person(region, "390")
            applied = self.svc.apply(c.Apply(holder=holder, beneficiary=no, relation=relation, channel="offline"))
            self.svc.review(c.Review(binding_id=applied["id"], decision="approve"))
            bound.append(no)
        return holder, bound

    def institution(self, region: str, kind: str) -> str:
        self.n += 1
        code = f"SV{'P' if kind == 'pharmacy' else 'H'}{region}{self.n:05d}"
        self.at(self.start)
        self.svc.register_institution(c.RegisterInstitution(code=code, level=1, admdvs=COUNTIES[region], kind=kind,
                                                            name=f"监管案例{'药店' if kind == 'pharmacy' else '医院'}{code[-5:]}"))
        self.insts.setdefault((region, kind), []).append(code)
        return code

    def quiet(self, region: str, kind: str, day: date, avoid: tuple = ()) -> str:
        """A case institution with few settlements that month (never a peer of the outlier rule)."""
        month = day.replace(day=1)
        pool = [i for i in self.insts.get((region, kind), []) if i not in avoid and self.load[(i, month)] < 12]
        return self.rng.choice(pool) if pool else self.institution(region, kind)

    def settle(self, patient: str, inst: str, day: date, items: list[tuple[str, int]], actor: str = "system",
               med_type: str | None = None) -> dict:
        """Items (code, fen): class-A drugs at a pharmacy (41, with a prescription), exams at a hospital."""
        self.at(day)
        pharmacy = inst.startswith("SVP")
        med_type = med_type or ("41" if pharmacy else "11")
        visit = c.VisitRef(psn_no=patient, fixmedins=inst, med_type=med_type, external_rx=pharmacy,
                           items=[{"code": code, "name": f"案例项目{code}", "list_class": "A",
                                   "category": "drug" if pharmacy else "exam", "amount": yuan(amount)}
                                  for code, amount in items])
        self.n += 1
        out = self.svc.settle(f"sv-{self.n}", visit, actor=actor)
        self.load[(inst, day.replace(day=1))] += 1
        return out

    def mulaid(self, out: dict) -> int:
        return sum(fen(d["amount"]) for d in out["mulaid_detail"])

    def basket(self, total: int, n: int = 2) -> list[tuple[str, int]]:
        """n items of varied codes summing to ``total`` fen."""
        cuts = sorted(self.rng.sample(range(1, total), n - 1)) if n > 1 else []
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
        return [(f"SVD{self.rng.randrange(1000):03d}{i}", p) for i, p in enumerate(parts)]

    def day_in(self, lo: int, hi: int) -> date:
        """A day at least ``lo`` days after the start and ``hi`` days before today."""
        span = (self.today - self.start).days - lo - hi
        if span < 0:
            raise CaseError("the year is too young for the cases")
        return self.start + timedelta(days=lo + self.rng.randrange(span + 1))

    def slot(self) -> tuple[str, date]:
        if not self.slots:
            raise CaseError("no whole month left for another institution case")
        return self.slots.pop()

    def add(self, rule: str, subject: str, first: date, last: date, near: bool = False, note: str = "") -> None:
        self.cases.append(Case(rule, subject, first, last, near, note))

    def expect(self, ok: bool, what: str) -> None:
        if not ok:
            raise CaseError(what)


def inject(engine: Engine, start: date, today: date, k: int, seed: int = 1) -> list[Case]:
    """K cases of each rule and their near-misses; the month-wide rules first, so that the
    outlier cases see every other institution of their month when they place their band."""
    from bench import supervision_patterns as p
    inj = Injector(engine, start, today, seed)
    regions = list(COUNTIES)
    for i in range(k):
        p.reversal_rate(inj, cashier=i % 2 == 1, near=i < 2)
    for i in range(k):
        p.institution_outlier(inj, near=i < 2)
    for i in range(k):
        region = regions[i % len(regions)]
        near = i < 2  # two rounds of near-misses whatever K
        p.split_bills(inj, region, near)
        p.pharmacy_hopping(inj, region, near)
        p.high_frequency(inj, region, near)
        p.quota_sweep(inj, region, near)
        p.family_sweep(inj, region, near)
        p.identical_baskets(inj, region, near)
    return inj.cases


def group_metrics(engine: Engine, region: str, kind: str, month: date) -> dict[str, tuple[float, float | None]]:
    """institution_outlier's figures for one month's peers: code → (share, average mutual-aid)."""
    sql = text("SELECT s.fixmedins, COUNT(*), SUM(CASE WHEN s.acct_mulaid_pay > 0 THEN 1 ELSE 0 END),"
               " SUM(s.acct_mulaid_pay) FROM settlements s JOIN institutions i ON i.code = s.fixmedins"
               " WHERE s.state = 'settled' AND s.channel = 'direct' AND i.kind = :kind AND s.region = :region"
               " AND s.setl_date BETWEEN :lo AND :hi GROUP BY s.fixmedins HAVING COUNT(*) >= :n")
    with engine.connect() as conn:
        rows = conn.execute(sql, {"kind": kind, "region": region, "lo": month, "hi": month_end(month),
                                  "n": MONTH_MIN}).all()
    return {code: (int(with_) / int(n), float(total) / int(with_) if with_ else None) for code, n, with_, total in rows}


def band(values: list[float]) -> float | None:
    """median + k·1.4826·MAD, or None when the MAD is zero (nothing is flagged)."""
    med = statistics.median(values)
    mad = statistics.median(abs(v - med) for v in values)
    return med + K_MAD * mad if mad > 0 else None
