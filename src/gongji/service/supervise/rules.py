"""The kinds of supervision rule: one function of set-based SQL each, the same on both databases.

Each kind reads the settlements whose *anchor* (the day, the window's first day, the binding's
approval, the month) lies in the scope, plus the days its window reaches past it, and answers its
hits: who, where, when, which settlements, and the figures for the sentence. No Python loop goes
over settlements: the database groups, windows and joins; Python only merges overlapping windows
and, for the per-institution statistics, takes medians of a few hundred aggregates.

All kinds but the reversal rate read settled direct settlements only: a reversed one is evidence
of nothing else, and a manual reimbursement (手工报销) was checked by the agency itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from statistics import median
from typing import Any

from gongji.domain.money import format_yuan
from gongji.domain.terms import Terms
from gongji.service.supervise.sql import Dialect, day_of, id_list, regions_sql

LIVE = "s.state = 'settled' AND s.channel = 'direct'"
SIGMA = Fraction(14826, 10000)  # MAD × 1.4826 estimates a normal distribution's standard deviation


@dataclass(frozen=True)
class Scope:
    lo: date  # anchors from
    hi: date  # anchors to, inclusive
    regions: list[str]
    new: tuple[int, int] | None = None  # incremental: only subjects of settlements with ids in (lo, hi]


@dataclass
class Hit:
    subject: str
    psn_nos: list[str]
    fixmedins: str | None
    region: str
    start: date
    end: date
    ids: list[int]
    amount: int
    measure: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


TermsAt = Callable[[str, date], Terms]


def _new(scope: Scope, column: str, holders: bool = False) -> tuple[str, dict]:
    """The incremental filter: ``column`` among the persons (or paying holders) of new settlements."""
    if scope.new is None:
        return "", {}
    sub = ("SELECT nm.holder FROM settlement_mulaid nm WHERE nm.settlement_id > :new_lo AND nm.settlement_id <= :new_hi"
           if holders else "SELECT n.psn_no FROM settlements n WHERE n.id > :new_lo AND n.id <= :new_hi")
    return f" AND {column} IN ({sub})", {"new_lo": scope.new[0], "new_hi": scope.new[1]}


def _span(d: Dialect, scope: Scope, reach: int) -> dict:
    return {"lo": d.param(scope.lo), "hi": d.param(scope.hi), "hi_data": d.param(scope.hi + timedelta(days=reach))}


def _pct(part: int | Fraction, whole: int | Fraction) -> str:
    """A percentage with one decimal, rounded half up, from exact figures."""
    if not whole:
        return "0.0"
    tenths = Fraction(part) * 1000 / Fraction(whole)
    n = int(tenths + Fraction(1, 2))
    return f"{n // 10}.{n % 10}"


# --- 拆分结算 ----------------------------------------------------------------------------------

def split_bills(d: Dialect, scope: Scope, t: dict, terms: TermsAt) -> list[Hit]:
    limits = {r: terms(r, scope.lo).settlement_cap for r in scope.regions}
    values = ", ".join(f"('{r}', {cap if cap is not None else t['amount_without_cap']}, {1 if cap else 0})"
                       for r, cap in limits.items())
    visit = "COALESCE(s.mdtrt_id, 'S' || CAST(s.id AS TEXT))"
    extra, params = _new(scope, "s.psn_no")
    # first the (patient, place, day) with two settlements or more, by a hash over narrow keys;
    # only those are then counted by visit (a COUNT DISTINCT over every row sorts the table)
    floor = min(cap if cap is not None else t["amount_without_cap"] for cap in limits.values())
    rows = d.rows(f"""
        WITH lim(region, amount, is_cap) AS (VALUES {values}),
        g AS (SELECT s.psn_no, s.fixmedins, s.setl_date FROM settlements s
               WHERE {LIVE} AND s.region IN {regions_sql(scope.regions)} AND s.setl_date BETWEEN :lo AND :hi{extra}
               GROUP BY s.psn_no, s.fixmedins, s.setl_date
              HAVING COUNT(*) >= :min_visits AND SUM(s.medfee_sumamt) > :floor)
        SELECT s.psn_no, s.fixmedins, s.setl_date, s.region, COUNT(DISTINCT {visit}) AS visits,
               SUM(s.medfee_sumamt) AS total, {d.ids('s.id')} AS ids, MAX(lim.amount) AS lim, MAX(lim.is_cap) AS is_cap
          FROM g JOIN settlements s ON s.psn_no = g.psn_no AND s.fixmedins = g.fixmedins AND s.setl_date = g.setl_date
          JOIN lim ON lim.region = s.region
         WHERE {LIVE}
         GROUP BY s.psn_no, s.fixmedins, s.setl_date, s.region
        HAVING COUNT(DISTINCT {visit}) >= :min_visits AND SUM(s.medfee_sumamt) > MAX(lim.amount)""",
                  **_span(d, scope, 0), min_visits=t["min_visits"], floor=floor, **params)
    hits = []
    for psn, inst, day, region, visits, total, ids, lim, is_cap in rows:
        day = day_of(day)
        what = "该地区单次共济限额" if is_cap else "核查阈值"
        hits.append(Hit(f"person:{psn}", [psn], inst, region, day, day, id_list(ids), int(total),
                        {"visits": visits, "total": int(total), "limit": int(lim)},
                        f"参保人 {psn} 于 {day} 在 {inst} 就诊 {visits} 次,费用合计 {format_yuan(int(total))} 元,"
                        f"超过{what} {format_yuan(int(lim))} 元:疑似拆分结算。"))
    return hits


# --- 多店购药、高频购药 -------------------------------------------------------------------------

def _pharmacy_windows(d: Dialect, scope: Scope, days: int, having: str, **bound) -> list:
    extra, params = _new(scope, "s.psn_no")
    return d.rows(f"""
        WITH ph AS (
            SELECT s.id, s.psn_no, s.fixmedins, s.setl_date, s.region, s.medfee_sumamt
              FROM settlements s JOIN institutions i ON i.code = s.fixmedins
             WHERE i.kind = 'pharmacy' AND {LIVE} AND s.region IN {regions_sql(scope.regions)}
               AND s.setl_date BETWEEN :lo AND :hi_data{extra})
        SELECT a.psn_no, a.region, a.setl_date, MAX(b.setl_date), COUNT(DISTINCT b.fixmedins), COUNT(*),
               SUM(b.medfee_sumamt), {d.ids('b.id')}
          FROM ph a JOIN ph b ON b.psn_no = a.psn_no AND b.setl_date >= a.setl_date
                             AND b.setl_date <= {d.plus('a.setl_date', days - 1)}
         WHERE a.setl_date BETWEEN :lo AND :hi
         GROUP BY a.id, a.psn_no, a.region, a.setl_date
        HAVING {having}""", **_span(d, scope, days - 1), **params, **bound)


def _merged(rows: list) -> list[tuple[str, str, date, date, set[int]]]:
    """One person's overlapping windows as one finding: (psn, region, first day, last day, ids)."""
    out: list[tuple[str, str, date, date, set[int]]] = []
    for psn, region, start, end, *_, ids in sorted(rows, key=lambda r: (r[0], day_of(r[2]))):
        start, end = day_of(start), day_of(end)
        if out and out[-1][0] == psn and start <= out[-1][3]:
            p, rg, s0, e0, got = out[-1]
            out[-1] = (p, rg, s0, max(e0, end), got | set(id_list(ids)))
        else:
            out.append((psn, region, start, end, set(id_list(ids))))
    return out


def _window_hits(d: Dialect, found, what: str) -> list[Hit]:
    if not found:
        return []
    ids = sorted({i for *_, got in found for i in got})
    facts = {}
    for lo in range(0, len(ids), 500):
        chunk = ids[lo:lo + 500]
        for i, inst, fee in d.rows(f"SELECT id, fixmedins, medfee_sumamt FROM settlements WHERE id IN "
                                   f"({', '.join(map(str, chunk))})"):
            facts[i] = (inst, int(fee))
    hits = []
    for psn, region, start, end, got in found:
        shops = sorted({facts[i][0] for i in got})
        total = sum(facts[i][1] for i in got)
        hits.append(Hit(f"person:{psn}", [psn], None, region, start, end, sorted(got), total,
                        {"settlements": len(got), "pharmacies": len(shops)},
                        what.format(psn=psn, start=start, end=end, n=len(got), shops=len(shops),
                                    total=format_yuan(total))))
    return hits


def pharmacy_hopping(d: Dialect, scope: Scope, t: dict, terms: TermsAt) -> list[Hit]:
    rows = _pharmacy_windows(d, scope, t["days"], "COUNT(DISTINCT b.fixmedins) >= :k", k=t["min_pharmacies"])
    return _window_hits(d, _merged(rows), "参保人 {psn} 在 {start} 至 {end} 期间到 {shops} 家不同药店购药 {n} 次,"
                        f"合计 {{total}} 元(阈值:{t['days']} 天内 {t['min_pharmacies']} 家):疑似多店购药。")


def high_frequency(d: Dialect, scope: Scope, t: dict, terms: TermsAt) -> list[Hit]:
    rows = _pharmacy_windows(d, scope, t["days"], "COUNT(*) >= :n", n=t["min_settlements"])
    return _window_hits(d, _merged(rows), "参保人 {psn} 在 {start} 至 {end} 期间在药店结算 {n} 次,合计 {total} 元"
                        f"(阈值:{t['days']} 天内 {t['min_settlements']} 次):购药频次异常。")


# --- 绑定即用尽 --------------------------------------------------------------------------------

def quota_sweep(d: Dialect, scope: Scope, t: dict, terms: TermsAt) -> list[Hit]:
    days = t["days"]
    rows_lim = []
    for r in scope.regions:
        caps = terms(r, scope.lo).annual_cap_beneficiary
        for insutype in ("310", "390"):
            cap = caps.get(insutype)
            need = -(-cap * t["share_of_cap"] // 100) if cap else t["amount_without_cap"]
            rows_lim.append(f"('{r}', '{insutype}', {need}, {cap or 0})")
    extra, params = _new(scope, "b.beneficiary")
    rows = d.rows(f"""
        WITH lim(region, insutype, need, cap) AS (VALUES {', '.join(rows_lim)})
        SELECT b.beneficiary, b.holder, b.region, b.approved_on, MAX(s.setl_date), SUM(m.amount), {d.ids('s.id')},
               MAX(lim.need), MAX(lim.cap)
          FROM bindings b
          JOIN persons p ON p.psn_no = b.beneficiary
          JOIN lim ON lim.region = b.region AND lim.insutype = p.insutype
          JOIN settlements s ON s.psn_no = b.beneficiary AND s.setl_date >= b.approved_on
                            AND s.setl_date <= {d.plus('b.approved_on', days - 1)}
          JOIN settlement_mulaid m ON m.settlement_id = s.id AND m.holder = b.holder
         WHERE b.approved_on BETWEEN :lo AND :hi AND {LIVE}{extra}
         GROUP BY b.id, b.beneficiary, b.holder, b.region, b.approved_on
        HAVING SUM(m.amount) >= MAX(lim.need)""", lo=d.param(scope.lo), hi=d.param(scope.hi), **params)
    hits = []
    for psn, holder, region, approved, last, drawn, ids, need, cap in rows:
        approved, drawn = day_of(approved), int(drawn)
        if cap:
            why = (f"达到年度共济限额 {format_yuan(int(cap))} 元的 {_pct(drawn, int(cap))}%"
                   f"(阈值 {t['share_of_cap']}%)")
        else:
            why = f"超过核查阈值 {format_yuan(int(need))} 元(该地区未设年度共济限额)"
        hits.append(Hit(f"person:{psn}", [psn, holder], None, region, approved, day_of(last), id_list(ids), drawn,
                        {"drawn": drawn, "cap": int(cap) or None, "need": int(need), "approved_on": str(approved)},
                        f"被绑定人 {psn} 于 {approved} 绑定主账户 {holder} 获批后 {days} 天内使用共济 "
                        f"{format_yuan(drawn)} 元,{why}:疑似绑定即用尽。"))
    return hits


# --- 全家同店 ----------------------------------------------------------------------------------

def family_sweep(d: Dialect, scope: Scope, t: dict, terms: TermsAt) -> list[Hit]:
    extra, params = _new(scope, "m.holder", holders=True)
    rows = d.rows(f"""
        WITH g AS (
            SELECT m.holder, s.fixmedins, s.setl_date, MIN(s.region) AS region, COUNT(DISTINCT s.psn_no) AS members,
                   SUM(m.amount) AS drawn, {d.ids('s.id')} AS ids, {d.distinct('s.psn_no')} AS who
              FROM settlement_mulaid m JOIN settlements s ON s.id = m.settlement_id
              JOIN institutions i ON i.code = s.fixmedins
             WHERE i.kind = 'pharmacy' AND {LIVE} AND s.region IN {regions_sql(scope.regions)}
               AND s.setl_date BETWEEN :lo AND :hi{extra}
             GROUP BY m.holder, s.fixmedins, s.setl_date
            HAVING COUNT(DISTINCT s.psn_no) >= :members)
        SELECT g.holder, g.fixmedins, g.setl_date, g.region, g.members, g.drawn, g.ids, g.who,
               (SELECT COALESCE(SUM(p.amount), 0) FROM accounts a JOIN postings p ON p.account_id = a.id
                  JOIN journal j ON j.id = p.journal_id
                 WHERE a.psn_no = g.holder AND a.kind = 'personal' AND j."on" < g.setl_date) AS opening
          FROM g""", lo=d.param(scope.lo), hi=d.param(scope.hi), members=t["min_members"], **params)
    hits = []
    share = t["share_of_balance"]
    for holder, inst, day, region, members, drawn, ids, who, opening in rows:
        drawn, opening = int(drawn), int(opening)
        if opening <= 0 or drawn * 100 < share * opening:
            continue
        day = day_of(day)
        people = sorted(set(str(who).split(",")))
        hits.append(Hit(f"family:{holder}", [holder, *people], inst, region, day, day, id_list(ids), drawn,
                        {"members": members, "drawn": drawn, "opening": opening},
                        f"{day} 主账户 {holder} 的 {members} 名被绑定人在药店 {inst} 同日结算,共用共济 "
                        f"{format_yuan(drawn)} 元,占当天开始时余额 {format_yuan(opening)} 元的 "
                        f"{_pct(drawn, opening)}%(阈值 {share}%):疑似全家同店集中使用。"))
    return hits


# --- 相同处方 ----------------------------------------------------------------------------------

def identical_baskets(d: Dialect, scope: Scope, t: dict, terms: TermsAt) -> list[Hit]:
    days = t["days"]
    extra, params = _new(scope, "m.holder", holders=True)
    # the lines compared as multisets: each (code, amount) of a as often in b; the line counts being
    # equal, b has no other
    rows = d.rows(f"""
        WITH ms AS (
            SELECT s.id, s.psn_no, s.fixmedins, s.setl_date, s.region, s.medfee_sumamt, m.holder,
                   (SELECT COUNT(*) FROM settlement_items it WHERE it.settlement_id = s.id) AS n_items
              FROM settlements s JOIN settlement_mulaid m ON m.settlement_id = s.id
             WHERE {LIVE} AND s.region IN {regions_sql(scope.regions)} AND s.setl_date BETWEEN :lo AND :hi_data
               AND s.medfee_sumamt >= :min_amount{extra})
        SELECT a.holder, a.fixmedins, a.region, a.id, b.id, a.psn_no, b.psn_no, a.setl_date, b.setl_date,
               a.medfee_sumamt, a.n_items
          FROM ms a JOIN ms b ON b.holder = a.holder AND b.fixmedins = a.fixmedins AND b.psn_no <> a.psn_no
                             AND b.medfee_sumamt = a.medfee_sumamt AND b.n_items = a.n_items
                             AND (b.setl_date > a.setl_date OR (b.setl_date = a.setl_date AND b.id > a.id))
                             AND b.setl_date <= {d.plus('a.setl_date', days - 1)}
         WHERE a.setl_date BETWEEN :lo AND :hi AND a.n_items >= :min_items
           AND NOT EXISTS (SELECT 1 FROM settlement_items x WHERE x.settlement_id = a.id AND (
                   SELECT COUNT(*) FROM settlement_items y WHERE y.settlement_id = b.id AND y.code = x.code
                                                             AND y.amount = x.amount) <> (
                   SELECT COUNT(*) FROM settlement_items z WHERE z.settlement_id = a.id AND z.code = x.code
                                                             AND z.amount = x.amount))""",
                  **_span(d, scope, days - 1), min_amount=t["min_amount"], min_items=t["min_items"], **params)
    # pairs sharing a settlement, or overlapping in time, of one family at one place: one finding
    groups: dict[tuple[str, str], list[list]] = defaultdict(list)
    for holder, inst, region, a, b, pa, pb, da, db, fee, n in sorted(rows, key=lambda r: (r[0], r[1], day_of(r[7]))):
        da, db = day_of(da), day_of(db)
        runs = groups[(holder, inst)]
        if runs and da <= runs[-1][1]:
            run = runs[-1]
            run[1] = max(run[1], db)
            run[2] |= {a, b}
            run[3] |= {pa, pb}
        else:
            runs.append([da, db, {a, b}, {pa, pb}, region, int(n), int(fee)])
    hits = []
    for (holder, inst), runs in groups.items():
        for start, end, ids, people, region, n, fee in runs:
            total = fee * len(ids)
            hits.append(Hit(f"family:{holder}", [holder, *sorted(people)], inst, region, start, end, sorted(ids), total,
                            {"settlements": len(ids), "items": n, "each": fee},
                            f"主账户 {holder} 的被绑定人 {'、'.join(sorted(people))} 于 {start} 至 {end} 在 {inst} "
                            f"结算的项目和金额完全相同({n} 项,每笔 {format_yuan(fee)} 元,共 {len(ids)} 笔):"
                            "疑似冒用医保凭证或代购。"))
    return hits


# --- 机构异常、频繁冲正: by calendar month ----------------------------------------------------

def months(lo: date, hi: date) -> tuple[date, date]:
    """The first day of ``lo``'s month and the last of ``hi``'s."""
    nxt = (hi.replace(day=28) + timedelta(days=4)).replace(day=1)
    return lo.replace(day=1), nxt - timedelta(days=1)


def _month_end(first: date) -> date:
    return months(first, first)[1]


def institution_outlier(d: Dialect, scope: Scope, t_at: Callable[[date], dict | None], terms: TermsAt) -> list[Hit]:
    lo, hi = months(scope.lo, scope.hi)
    rows = d.rows(f"""
        SELECT s.fixmedins, i.kind, s.region, {d.month('s.setl_date')} AS month, COUNT(*) AS n,
               SUM(CASE WHEN s.acct_mulaid_pay > 0 THEN 1 ELSE 0 END) AS n_mulaid, SUM(s.acct_mulaid_pay) AS mulaid
          FROM settlements s JOIN institutions i ON i.code = s.fixmedins
         WHERE {LIVE} AND s.region IN {regions_sql(scope.regions)} AND s.setl_date BETWEEN :lo AND :hi
         GROUP BY s.fixmedins, i.kind, s.region, {d.month('s.setl_date')}""", lo=d.param(lo), hi=d.param(hi))
    peers: dict[tuple, list] = defaultdict(list)
    for inst, kind, region, month, n, n_mulaid, mulaid in rows:
        month = day_of(month)
        t = t_at(month)
        if t is not None and n >= t["min_settlements"]:
            share = Fraction(int(n_mulaid), int(n))
            avg = Fraction(int(mulaid), int(n_mulaid)) if n_mulaid else Fraction(0)
            peers[(month, kind, region)].append((inst, share, avg, int(n), int(n_mulaid), int(mulaid)))
    flagged = []
    for (month, kind, region), group in peers.items():
        t = t_at(month) or {}
        if len(group) < t["min_peers"]:
            continue
        bands = {}
        for metric, pick in (("share", 1), ("avg", 2)):
            values = [g[pick] for g in group]
            med = median(values)
            mad = median(abs(v - med) for v in values)
            if mad > 0:
                bands[metric] = (med, med + t["k"] * SIGMA * mad)
        for inst, share, avg, n, n_mulaid, mulaid in group:
            over = {m: b for m, b in bands.items() if (share if m == "share" else avg) > b[1]}
            if over:
                flagged.append((inst, kind, region, month, share, avg, n, n_mulaid, mulaid, over, len(group)))
    hits = []
    for inst, kind, region, month, share, avg, n, n_mulaid, mulaid, over, npeers in flagged:
        ids = [r[0] for r in d.rows(
            f"SELECT s.id FROM settlements s WHERE s.fixmedins = :inst AND s.region = :region AND {LIVE}"
            " AND s.acct_mulaid_pay > 0 AND s.setl_date BETWEEN :lo AND :hi", inst=inst, region=region,
            lo=d.param(month), hi=d.param(_month_end(month)))]  # the settlements counted: of this region's peers
        parts = []
        if "share" in over:
            med, top = over["share"]
            parts.append(f"使用共济的结算占 {_pct(share, 1)}%(同地区同类 {npeers} 家机构中位数 {_pct(med, 1)}%,"
                         f"上限 {_pct(top, 1)}%)")
        if "avg" in over:
            med, top = over["avg"]
            parts.append(f"每笔共济 {format_yuan(int(avg))} 元(中位数 {format_yuan(int(med))} 元,"
                         f"上限 {format_yuan(int(top))} 元)")
        peers_zh = "药店" if kind == "pharmacy" else "医院"
        hits.append(Hit(f"institution:{inst}", [], inst, region, month, _month_end(month), sorted(ids), mulaid,
                        {"settlements": n, "with_mulaid": n_mulaid, "mulaid": mulaid, "peers": npeers,
                         "metrics": sorted(over)},
                        f"{inst} {month:%Y年%m月} 结算 {n} 笔,{';'.join(parts)}:明显高于同地区其他{peers_zh},疑似诱导或协助套取共济。"))
    return hits


def reversal_rate(d: Dialect, scope: Scope, t_at: Callable[[date], dict | None], terms: TermsAt) -> list[Hit]:
    lo, hi = months(scope.lo, scope.hi)
    hits = []
    for who, label in (("s.fixmedins", "institution"), ("s.settled_by", "cashier")):
        named = " AND s.settled_by LIKE '%/%'" if label == "cashier" else ""
        rows = d.rows(f"""
            SELECT {who}, MIN(s.fixmedins), MIN(s.region), {d.month('s.setl_date')} AS month, COUNT(*) AS n,
                   SUM(CASE WHEN s.state = 'reversed' THEN 1 ELSE 0 END) AS r,
                   SUM(CASE WHEN s.state = 'reversed' THEN s.medfee_sumamt ELSE 0 END) AS amount,
                   {d.ids("CASE WHEN s.state = 'reversed' THEN s.id END")} AS ids
              FROM settlements s
             WHERE s.channel = 'direct' AND s.state IN ('settled', 'reversed') AND s.region IN {regions_sql(scope.regions)}
               AND s.setl_date BETWEEN :lo AND :hi{named}
             GROUP BY {who}, {d.month('s.setl_date')}
            HAVING SUM(CASE WHEN s.state = 'reversed' THEN 1 ELSE 0 END) > 0""", lo=d.param(lo), hi=d.param(hi))
        for subject, inst, region, month, n, r, amount, ids in rows:
            month = day_of(month)
            t = t_at(month)
            if t is None or n < t["min_settlements"] or r * 100 <= t["share"] * n:
                continue
            name = f"收费员 {subject}" if label == "cashier" else f"机构 {subject}"
            hits.append(Hit(f"{label}:{subject}", [], inst, region, month, _month_end(month), id_list(ids), int(amount),
                            {"settlements": n, "reversed": r},
                            f"{name} {month:%Y年%m月} 结算 {n} 笔,冲正 {r} 笔,占 {_pct(r, n)}%"
                            f"(阈值 {t['share']}%,至少 {t['min_settlements']} 笔):冲正过于频繁,疑似结算后退现。"))
    return hits


# kind → (scan, the days a window reaches back from a new settlement to its anchor, monthly)
KINDS: dict[str, tuple[Callable[..., list[Hit]], str | None, bool]] = {
    "split_bills": (split_bills, None, False),
    "pharmacy_hopping": (pharmacy_hopping, "days", False),
    "high_frequency": (high_frequency, "days", False),
    "quota_sweep": (quota_sweep, "days", False),
    "family_sweep": (family_sweep, None, False),
    "identical_baskets": (identical_baskets, "days", False),
    "institution_outlier": (institution_outlier, None, True),
    "reversal_rate": (reversal_rate, None, True),
}
