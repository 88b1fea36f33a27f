"""One function per supervision rule: a case just over its threshold and, with ``near``, the
near-misses just under it (bench.supervision_cases has the helpers and says why)."""

from __future__ import annotations

import math
import statistics
from datetime import date, timedelta

from bench.supervision_cases import (
    MONTH_MIN,
    SPLIT_CAP,
    SPLIT_WITHOUT_CAP,
    SWEEP_AT,
    CaseError,
    Injector,
    band,
    fen,
    group_metrics,
    month_end,
)

D = timedelta(days=1)


def split_bills(inj: Injector, region: str, near: bool) -> None:
    """Two visits one day at one hospital summing a yuan over the cap; near: exactly the cap, and
    one visit far over it (a single bill is no split)."""
    cap = SPLIT_CAP.get(region, SPLIT_WITHOUT_CAP)
    shapes = [("case", [cap // 2 + 100, cap // 2])]
    if near:
        shapes += [("near", [cap // 2, cap - cap // 2]), ("near", [cap + 50000])]
    for what, bills in shapes:
        d = inj.day_in(5, 1)
        inj.at(d)
        patient = inj.person(region)
        inst = inj.quiet(region, "hospital", d)
        total = sum(fen(inj.settle(patient, inst, d, inj.basket(b))["medfee_sumamt"]) for b in bills)
        inj.expect(total > cap if what == "case" else total <= cap or len(bills) < 2, "split_bills amounts")
        inj.add("split_bills", f"person:{patient}", d, d, what == "near", f"{len(bills)} 次 {total / 100:.2f} 元")


def _purchases(inj: Injector, region: str, offsets: tuple, shops: int) -> tuple[str, date]:
    """One person's pharmacy purchases on day offsets, cycling through ``shops`` pharmacies."""
    d = inj.day_in(5, max(offsets) + 1)
    inj.at(d)
    patient = inj.person(region)
    chosen: list[str] = []
    for _ in range(shops):
        chosen.append(inj.quiet(region, "pharmacy", d, avoid=tuple(chosen)))
    for i, off in enumerate(offsets):
        inj.settle(patient, chosen[i % shops], d + off * D, inj.basket(inj.rng.randrange(3000, 9000)))
    return patient, d


def pharmacy_hopping(inj: Injector, region: str, near: bool) -> None:
    """Four pharmacies in seven days; near: three in seven days, four in eight."""
    runs = [(False, (0, 2, 4, 6), 4)] + ([(True, (0, 3, 6), 3), (True, (0, 2, 5, 7), 4)] if near else [])
    for is_near, offsets, shops in runs:
        patient, d = _purchases(inj, region, offsets, shops)
        inj.add("pharmacy_hopping", f"person:{patient}", d, d + max(offsets) * D, is_near, f"{shops} 家 {offsets}")


def high_frequency(inj: Injector, region: str, near: bool) -> None:
    """Six purchases in ten days at two pharmacies; near: five in ten, six spread over eleven."""
    runs = [(False, (0, 2, 4, 5, 7, 9))] + ([(True, (0, 2, 4, 7, 9)), (True, (0, 2, 4, 6, 8, 10))] if near else [])
    for is_near, offsets in runs:
        patient, d = _purchases(inj, region, offsets, 2)
        inj.add("high_frequency", f"person:{patient}", d, d + max(offsets) * D, is_near, f"{offsets}")


def quota_sweep(inj: Injector, region: str, near: bool) -> None:
    """A relative bound on A spends 85% of 2000 yuan within 14 days; near: 79%, and 85% with
    the second purchase on day 15."""
    runs = [(False, (90000, 80000), 9)] + ([(True, (80000, 78000), 9), (True, (90000, 80000), 14)] if near else [])
    for is_near, amounts, last in runs:
        a = inj.day_in(20, 16)
        holder, (rel,) = inj.family(region, 500000, 1, a)
        inst = inj.quiet(region, "pharmacy", a)
        paid = [inj.mulaid(inj.settle(rel, inst, day, inj.basket(amt)))
                for day, amt in ((a + 2 * D, amounts[0]), (a + last * D, amounts[1]))]
        in_window = paid[0] + (paid[1] if last <= 13 else 0)
        inj.expect((in_window >= SWEEP_AT) != is_near, f"quota_sweep paid {paid}")
        inj.add("quota_sweep", f"person:{rel}", a, a + last * D, is_near, f"{in_window / 100:.2f} 元")


def family_sweep(inj: Injector, region: str, near: bool) -> None:
    """Two relatives at one pharmacy one day spend 60% of the holder's 1000 yuan; near: 49%."""
    runs = [(False, (32000, 28000))] + ([(True, (25000, 24000))] if near else [])
    for is_near, amounts in runs:
        d = inj.day_in(20, 1)
        holder, rels = inj.family(region, 100_000, 2, d - 16 * D)
        inst = inj.quiet(region, "pharmacy", d)
        paid = sum(inj.mulaid(inj.settle(rel, inst, d, inj.basket(amt, 3))) for rel, amt in zip(rels, amounts, strict=True))
        inj.expect((paid * 2 >= 100_000) != is_near, f"family_sweep paid {paid}")
        inj.add("family_sweep", f"family:{holder}", d, d, is_near, f"{paid / 1000:.0f}% 余额")


def identical_baskets(inj: Injector, region: str, near: bool) -> None:
    """Two relatives buy the same basket at one pharmacy three days apart; near: seven days apart,
    and three days apart with one item a fen dearer."""
    runs = [(False, 3, 0)] + ([(True, 7, 0), (True, 3, 1)] if near else [])
    for is_near, gap, fen_more in runs:
        d = inj.day_in(20, gap + 1)
        holder, (r1, r2) = inj.family(region, 300_000, 2, d - 16 * D)
        inst = inj.quiet(region, "pharmacy", d)
        items = inj.basket(inj.rng.randrange(12000, 30000), inj.rng.choice((2, 3)))
        other = [items[0], *items[1:-1], (items[-1][0], items[-1][1] + fen_more)]
        for rel, day, basket in ((r1, d, items), (r2, d + gap * D, other)):
            inj.expect(inj.mulaid(inj.settle(rel, inst, day, basket)) > 0, "identical_baskets without mutual-aid")
        inj.add("identical_baskets", f"family:{holder}", d, d + gap * D, is_near,
                f"相隔 {gap} 天, 差 {fen_more} 分")


def reversal_rate(inj: Injector, cashier: bool, near: bool) -> None:
    """An institution (two cashiers) or one cashier (the institution diluted to exactly 20%)
    reversing 5 of 20 in a month; near: 4 of 20, 5 of 19, a cashier's 4 of 20."""
    region, month = inj.slot()
    if cashier:
        runs = [("cashier", [("c1", 20, 5), ("c2", 5, 0)])]
    else:
        runs = [("institution", [("c1", 10, 3), ("c2", 10, 2)])]
    if near:
        runs += [("near-institution", [("c1", 10, 2), ("c2", 10, 2)]), ("near-institution", [("c1", 10, 3), ("c2", 9, 2)]),
                 ("near-cashier", [("c1", 20, 4)])]
    last = month_end(month)
    for what, cashiers in runs:
        inst = inj.institution(region, "hospital")
        total = sum(n for _, n, _ in cashiers)
        j = 0
        for user, n, reversed_ in cashiers:
            actor = f"institution:{inst}/{user}"
            for i in range(n):
                day = month + (j * 28 // total) * D
                j += 1
                inj.at(day)
                patient = inj.person(region)
                out = inj.settle(patient, inst, day, inj.basket(inj.rng.randrange(3000, 9000)), actor=actor)
                if i < reversed_:
                    inj.svc.reverse(out["setl_id"], key=f"sv-rev-{out['setl_id']}", actor=actor)
        rate = sum(r for _, _, r in cashiers) / total
        if what == "cashier":
            inj.add("reversal_rate", f"cashier:institution:{inst}/c1", month, last, False, "收费员 5/20")
            inj.add("reversal_rate", f"institution:{inst}", month, last, True, f"机构 {rate:.0%} 恰为阈值")
        elif what == "institution":
            inj.add("reversal_rate", f"institution:{inst}", month, last, False, "机构 5/20")
        else:
            inj.add("reversal_rate", f"institution:{inst}", month, last, True, f"{total} 笔 {rate:.0%}")
            if what == "near-cashier":
                inj.add("reversal_rate", f"cashier:institution:{inst}/c1", month, last, True, "收费员 4/20")


def institution_outlier(inj: Injector, near: bool) -> None:
    """A pharmacy whose every settlement of a month uses mutual-aid, at several times the peers'
    average; beside it fillers like the peers (so that at least five compare at any background
    size) and, near, a pharmacy just inside the band."""
    region, month = inj.slot()
    setup = month - 16 * D
    bg = group_metrics(inj.engine, region, "pharmacy", month)
    shares = [s for s, _ in bg.values()] or [0.6]
    avgs = [a for _, a in bg.values() if a] or [6000.0]
    base_share, base_avg = statistics.median(shares), statistics.median(avgs)
    for i in range(4):
        n = MONTH_MIN + i % 3
        with_ = min(n - 1, max(1, round(n * base_share) + (-1, 0, 1, -2)[i]))
        _month(inj, region, month, setup, n, with_, int(base_avg * (0.85 + 0.1 * i)))
    peers = group_metrics(inj.engine, region, "pharmacy", month)
    inf = [math.inf, math.inf]  # the outlier and the near-miss: both above the median
    t_share = band([s for s, _ in peers.values()] + inf)
    t_avg = band([a for _, a in peers.values() if a] + inf)
    if t_avg is None and (t_share is None or t_share >= 1):
        raise CaseError(f"institution_outlier: no band in {region} {month}")
    high = int(min(120000, max(3 * (t_avg or base_avg), 4 * base_avg)))
    outlier = _month(inj, region, month, setup, 24, 24, high)
    inj.add("institution_outlier", f"institution:{outlier}", month, month_end(month), False, f"共济 100%, 每笔 {high / 100:.0f} 元")
    if near:
        near_code = _near(inj, region, month, setup, base_avg)
        inj.add("institution_outlier", f"institution:{near_code}", month, month_end(month), True, "刚在区间内")
    _check_outlier(inj, region, month, outlier)


def _near(inj: Injector, region: str, month: date, setup: date, base_avg: float) -> str:
    """A pharmacy just inside the band, its own figures counted in the band: the highest share
    of 24 under it at the peers' average, or, when no share of 24 can exceed it, every
    settlement with mutual-aid at the highest average under it."""
    peers = group_metrics(inj.engine, region, "pharmacy", month)
    shares = [s for s, _ in peers.values()]
    avgs = [a for _, a in peers.values() if a]

    def inside(values: list[float], x: float) -> bool:
        t = band(values + [x])
        return t is None or x < t - 1e-6

    fits = [c for c in range(25) if inside(shares, c / 24)]
    if max(fits) < 24:
        return _month(inj, region, month, setup, 24, max(fits), int(base_avg))
    x = max(a for a in range(int(base_avg), 200000, 50) if inside(avgs, a))
    return _month(inj, region, month, setup, 24, 24, x)


def _month(inj: Injector, region: str, month: date, setup: date, n: int, with_: int, avg: int) -> str:
    """A new pharmacy with n settlements in the month, ``with_`` of them paid by mutual-aid
    averaging ``avg`` fen (each its own family: one holder, one relative, bound a fortnight and
    more before); the others paid from the patient's own account."""
    inst = inj.institution(region, "pharmacy")
    shifts = [inj.rng.randrange(avg // 5 + 1) for _ in range(with_ // 2)]
    spread = [avg + d for d in shifts] + [avg - d for d in shifts] + [avg] * (with_ % 2)  # the average exact
    for j in range(n):
        day = month + (j * 28 // n) * D
        if j < with_:
            amount = spread[j]
            _, (patient,) = inj.family(region, amount * 2 + 100_000, 1, setup)
        else:
            amount = inj.rng.randrange(3000, 9000)
            inj.at(setup)
            patient = inj.person(region)
        out = inj.settle(patient, inst, day, inj.basket(amount, inj.rng.choice((2, 3))))
        inj.expect((inj.mulaid(out) > 0) == (j < with_), "institution_outlier: mutual-aid not as designed")
    return inst


def _check_outlier(inj: Injector, region: str, month: date, outlier: str) -> None:
    """The rule's own arithmetic on what the service wrote: the outlier over the band, the
    fillers and the near-miss under it (a background pharmacy over it is the bench's to count)."""
    peers = group_metrics(inj.engine, region, "pharmacy", month)
    t_share = band([s for s, _ in peers.values()])
    t_avg = band([a for _, a in peers.values() if a])
    over = {code for code, (s, a) in peers.items()
            if (t_share is not None and s > t_share) or (t_avg is not None and a is not None and a > t_avg)}
    made = set(inj.insts.get((region, "pharmacy"), []))  # the injector's: fillers, the near-miss
    if outlier not in over or over & made - {outlier} or len(peers) < 5:
        raise CaseError(f"institution_outlier {region} {month}: over {sorted(over)}, peers {peers},"
                        f" bands {t_share} {t_avg}")
