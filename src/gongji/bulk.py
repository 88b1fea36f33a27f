"""A large database for benchmarks: ``gongji demo --persons N --settlements M``.

Families of four (an employee holder with a balance, three resident relatives bound to them) in
the four regions, each with 3 to 12 hospitals (levels 1, 2, 3) and as many pharmacies (``per_kind``), and M
settlements spread over this year up to today: general (11) and chronic (14) outpatient visits
and pharmacy purchases (41), bills of several items. The settlements are copies of templates
made by the real service on a scratch database (``bulk_templates``), so every amount, ledger
entry and counter is what gongji itself would write, and the caps and balances hold: each
payer's spending is budgeted, falling back to the cheapest bill when a dearer one would not fit.

The background is ordinary: one person's visits are days apart (pharmacy purchases three days or
more, once the year is long enough), relatives of one family keep to different institutions,
nothing is reversed; so none of the supervision rules' patterns is made by construction
(``bench.supervision`` injects them). Rows go in by COPY on PostgreSQL and by batched multi-row
inserts on SQLite, in chunks, each its own transaction, with a progress bar.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import Engine

from gongji.bulk_templates import COUNTIES, Template, institutions, klass, shapes_of, templates, visits_of
from gongji.domain.errors import LedgerError
from gongji.service import audit, ledger
from gongji.service.uow import run
from gongji.store.raw import Raw

__all__ = ["COUNTIES", "Template", "BulkError", "fill", "templates"]

MAX_VISITS = 20  # per person: 20 small bills stay far inside every annual cap
OPENING = 500000  # a holder's opening balance in fen
CHUNK = 2000  # families per transaction
RELATIVE_BUDGET = 200000  # fen a relative may receive in a year: the lowest annual cap (2000 yuan)
PHARMACY_SHARE = 0.35  # of visits
PHARMACY_GAP = 3  # days at least between one person's pharmacy purchases
VISIT_WEIGHTS = {"hospital": (6, 2, 2), "pharmacy": (3, 2)}  # 11 : 14 hypertension : 14 diabetes; 41 with : without a prescription
PEER_VOLUME = 150  # settlements an institution-month at least, before there are more than 3 of a kind


def per_kind(settlements: int, span: int) -> int:
    """Institutions of each kind in a region: 3, or 6, 9, 12 as the volume allows. Fewer than
    five are not compared by the outlier rule; more are compared only when each has enough
    settlements a month that chance moves its figures little (a handful of peers with a few
    dozen settlements each would put one past median + 4·1.4826·MAD in most months)."""
    per_month = settlements / len(COUNTIES) / 2 / max(1.0, span / 30.4)
    return max(3, min(12, int(per_month // PEER_VOLUME) // 3 * 3))


def holder_weights(n: int) -> list[float]:
    """Institutions differ as real ones do, in even steps: the i-th of a kind draws more of the
    holders' own visits, so that its mutual-aid share would be 95% down to 50% (relatives
    alone); an even spread keeps every peer well inside the outlier rule's band."""
    return [1 / (0.95 - 0.45 * i / (n - 1)) - 1 for i in range(n)]


def shape_weights(n: int) -> list[list[float]]:
    """And the higher i, the dearer its bills (the shapes are cheapest first)."""
    return [[1 + 0.9 * (2 * i / (n - 1) - 1) * (sh - 1.5) / 1.5 for sh in range(4)] for i in range(n)]


class BulkError(Exception):
    pass


def fill(engine: Engine, persons: int, settlements: int, today: date,
         progress: Callable[[int], None] = lambda n: None) -> dict:
    """Fill an empty database; ``progress`` is called with the settlements written so far."""
    check_sizes(persons, settlements)
    start = date(today.year, 1, 1)
    tpl = templates(start)
    regions = list(COUNTIES)
    families = persons // 4
    per_family = [settlements // families + (1 if f < settlements % families else 0) for f in range(families)]
    ids = {"account": 0, "journal": 0, "settlement": 0}
    n = per_kind(settlements, (today - start).days + 1)
    _institutions(engine, regions, start, ids, n)
    cheapest = _cheapest(tpl)
    written = 0
    for lo in range(0, families, CHUNK):
        fams = range(lo, min(families, lo + CHUNK))
        written += _chunk(engine, fams, per_family, regions, (tpl, cheapest), start, today, ids, n)
        progress(written)
    _finish(engine, persons, settlements)
    return {"persons": persons, "families": families, "settlements": written}


def check_sizes(persons: int, settlements: int) -> None:
    """Refuse what cannot be loaded within the caps, before anything is written."""
    if persons < 4 or persons % 4:
        raise BulkError("--persons 须为 4 的倍数(每户 4 人)/ --persons must be a multiple of 4, at least 4")
    if settlements > persons * MAX_VISITS:
        raise BulkError(f"每人最多 {MAX_VISITS} 笔:--settlements 不能超过 {persons * MAX_VISITS}"
                        f" / at most {MAX_VISITS} settlements a person")


def institution_code(region: str, suffix: str) -> str:
    return f"BULK{region}{suffix}"


def _institutions(engine: Engine, regions: list[str], start: date, ids: dict, n: int) -> None:
    codes = [(r, institution_code(r, sfx), level, kind) for r in regions for sfx, level, kind in institutions(n)]

    def work(uow):
        db = Raw(uow.session.connection())
        label = {"hospital": "批量演示医院", "pharmacy": "批量演示药店"}
        db.insert("institutions", ("code", "name", "level", "admdvs", "kind", "registered_on"),
                  [(code, f"{label[kind]} {code[4:]}", level, COUNTIES[r], kind, db.date(start))
                   for r, code, level, kind in codes])
        names = [("contributions", "contributions")] + [(f"pool:{r}", "pool") for r in regions] \
            + [(f"institution:{code}", "institution") for _, code, _, _ in codes]
        for i, (name, _kind) in enumerate(names, 1):
            ids[name] = i
        db.insert("accounts", ("id", "name", "kind", "ledger"), [(ids[n], n, k, "CNY") for n, k in names])
        ids["account"] = len(names)
    run(engine, work)


def _cheapest(tpl: dict) -> dict:
    """Per (region, is_relative, class, visit): the shape costing the payer least, and that cost."""
    best: dict = {}
    for (region, is_rel, k, vi, si), t in tpl.items():
        cost = t.mulaid if is_rel else t.amounts["acct_pay"]
        key = (region, is_rel, k, vi)
        if key not in best or cost < best[key][1]:
            best[key] = (si, cost)
    return best


def _days(rng: random.Random, n: int, span: int) -> list[int]:
    """n visit days in [0, span), evenly spaced from a random offset, so that one person's
    visits are PHARMACY_GAP days apart or more whenever the year is long enough."""
    step = span // n if n else 0
    offset = rng.randrange(max(1, span - (n - 1) * step)) if n else 0
    return [offset + i * step for i in range(n)]


def _plan(rng: random.Random, f: int, k: int, days: list[int], n: int) -> list[tuple[int, int, bool]]:
    """(day, institution index among its kind, pharmacy?) per visit. Relative k (1..3) of family
    f keeps to the institutions whose index is f+k modulo 3, so two relatives never buy at one
    place (no family sweep, no identical baskets); the holder goes anywhere, by holder_weights.
    Pharmacy purchases PHARMACY_GAP days apart: no four pharmacies in a week, no six in ten days."""
    out = []
    last_pharmacy = -PHARMACY_GAP
    weights = holder_weights(n)
    for day in days:
        pharmacy = rng.random() < PHARMACY_SHARE and day - last_pharmacy >= PHARMACY_GAP
        if pharmacy:
            last_pharmacy = day
        idx = (f + k) % 3 + 3 * rng.randrange(n // 3) if k else rng.choices(range(n), weights)[0]
        out.append((day, idx, pharmacy))
    return out


def _chunk(engine, fams: range, per_family: list[int], regions: list[str], tpls: tuple, start: date,
           today: date, ids: dict, n: int) -> int:
    tpl, cheapest = tpls
    cheap = max(cost for _, cost in cheapest.values())
    insts, shapes = institutions(n), shape_weights(n)
    rng = random.Random(fams.start)
    rows: dict[str, list[tuple]] = {t: [] for t in TABLES}
    span = (today - start).days + 1
    opening_lines = []
    j_open = ids["journal"] = ids["journal"] + 1
    rows["journal"].append((j_open, "opening", start, None))
    for f in fams:
        region = regions[f % len(regions)]
        county = COUNTIES[region]
        members = [f"Q{f * 4 + k:09d}" for k in range(4)]
        holder, relatives = members[0], members[1:]
        for k, no in enumerate(members):
            rows["persons"].append((no, "310" if k == 0 else "390", county, "active", False, start))
        ids["account"] += 1
        acct = ids["account"]
        opening_lines.append((acct, OPENING))
        for k, rel in enumerate(relatives):
            rows["bindings"].append((region, holder, rel, ("spouse", "child", "parent")[k], "offline", "[]", False,
                                     False, "approved", start, start, False, start, start))
        counts = [per_family[f] // 4 + (1 if k < per_family[f] % 4 else 0) for k in range(4)]
        visits = [(k, *v) for k in range(4) for v in _plan(rng, f, k, _days(rng, counts[k], span), n)]
        # what each payer may still spend: the family's balance, each relative's annual cap, less
        # the cheapest bill of every visit still to come, so that the cheapest always fits
        left = {"family": OPENING - len(visits) * cheap}
        left.update({rel: RELATIVE_BUDGET - counts[k + 1] * cheap for k, rel in enumerate(relatives)})
        if min(left.values()) < 0:
            raise LedgerError(f"family of {holder}: too many visits for its budget")
        received = {rel: 0 for rel in relatives}
        paid, balance = 0, OPENING
        for k, day, idx, pharmacy in visits:  # idx: the institution's place among its kind
            patient = members[k]
            is_rel = k > 0
            sfx, level, kind = insts[n + idx if pharmacy else idx]
            cls = klass(level, kind)
            vi = rng.choices(range(len(visits_of(cls))), VISIT_WEIGHTS[kind])[0]
            si = rng.choices(range(len(shapes_of(cls))), shapes[idx])[0]
            t = tpl[(region, is_rel, cls, vi, si)]
            cost = t.mulaid if is_rel else t.amounts["acct_pay"]
            payers = ("family", patient) if is_rel else ("family",)
            if any(cost - cheap > left[p] for p in payers):
                si, cost = cheapest[(region, is_rel, cls, vi)]
                t = tpl[(region, is_rel, cls, vi, si)]
            for p in payers:
                left[p] -= cost - cheap
            inst = institution_code(region, sfx)
            ids["settlement"] += 1
            sid = ids["settlement"]
            on = start + timedelta(days=day)
            rows["settlements"].append((sid, inst, f"bulk-{sid}", "0" * 64, patient, region, on, t.med_type,
                                        t.dise_codg, t.external_rx, "1", t.codes, t.explain, "settled", "direct",
                                        *(t.amounts[k] for k in AMOUNTS), f"institution:{inst}"))
            rows["settlement_items"].extend((sid, seq, *item) for seq, item in enumerate(t.items))
            own = t.amounts["acct_pay"] if not is_rel else 0
            balance -= own + (t.mulaid if is_rel else 0)
            lines = [(ids[f"pool:{region}"], -t.amounts["hifp_pay"]),
                     (ids[f"institution:{inst}"],
                      t.amounts["hifp_pay"] + t.amounts["acct_pay"] + t.amounts["acct_mulaid_pay"])]
            if own:
                lines.append((acct, -own))
            if is_rel and t.mulaid:
                rows["settlement_mulaid"].append((sid, 0, holder, t.mulaid))
                lines.append((acct, -t.mulaid))
                received[patient] += t.mulaid
                paid += t.mulaid
            lines = [(a, amt) for a, amt in lines if amt]
            if lines:  # as ledger.post: an entry with no line is not written
                ids["journal"] += 1
                rows["journal"].append((ids["journal"], "settle", on, sid))
                rows["postings"].extend((ids["journal"], a, amt) for a, amt in lines)
        if balance < 0:
            raise LedgerError(f"personal:{holder} would go below zero")
        rows["accounts"].append((acct, f"personal:{holder}", "personal", "CNY", holder, balance))
        year = start.year
        if paid:
            rows["year_usage"].append((holder, year, 0, paid, 0, 0))
        rows["year_usage"].extend((rel, year, got, 0, 0, 0) for rel, got in received.items() if got)
    opening_lines.append((ids["contributions"], -sum(a for _, a in opening_lines)))
    # the opening credit first, so that every running balance stays above zero in posting order
    rows["postings"][:0] = [(j_open, a, amt) for a, amt in opening_lines]
    ledger.check_balanced(rows["postings"])  # SQLite has no trigger to refuse it at commit

    def work(uow):
        _write(Raw(uow.session.connection()), rows)
    run(engine, work)
    return len(rows["settlements"])


AMOUNTS = ("medfee_sumamt", "fulamt_ownpay_amt", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay",
           "acct_pay", "acct_mulaid_pay", "psn_cash_pay")
TABLES = {  # in the order of their foreign keys
    "persons": ("psn_no", "insutype", "insu_admdvs", "status", "mulaid_frozen", "registered_on"),
    "accounts": ("id", "name", "kind", "ledger", "psn_no", "balance"),
    "bindings": ("region", "holder", "beneficiary", "relation", "channel", "materials", "e_commitment",
                 "face_check", "state", "applied_on", "review_due", "review_due_estimated", "decided_on",
                 "approved_on"),
    "settlements": ("id", "fixmedins", "idem_key", "request_hash", "psn_no", "region", "setl_date", "med_type",
                    "dise_codg", "external_rx", "acct_used_flag", "codes", "explain", "state", "channel", *AMOUNTS,
                    "settled_by"),  # as the institution's signed request would: no cashier named
    "settlement_items": ("settlement_id", "seq", "code", "name", "list_class", "category", "amount",
                         "selfpay_prop"),
    "settlement_mulaid": ("settlement_id", "seq", "holder", "amount"),
    "journal": ("id", "kind", "on", "settlement_id"),
    "postings": ("journal_id", "account_id", "amount"),
    "year_usage": ("psn_no", "year", "mulaid_received", "mulaid_paid", "zeroed_received", "zeroed_paid"),
}


def _write(db: Raw, rows: dict[str, list[tuple]]) -> None:
    for table, columns in TABLES.items():
        data = rows[table]
        if not data:
            continue
        if db.pg:
            cols = ", ".join(f'"{c}"' for c in columns)
            with db.cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for r in data:
                    copy.write_row(r)
        else:
            quoted = tuple(f'"{c}"' for c in columns)
            step = max(1, 30000 // len(columns))  # SQLite's limit on bound values
            for lo in range(0, len(data), step):
                db.insert(table, quoted, [tuple(db.date(v) if isinstance(v, date) else v for v in r)
                                          for r in data[lo:lo + step]])


def _finish(engine: Engine, persons: int, settlements: int) -> None:
    """Sequences past the ids written (PostgreSQL), one audit entry for the whole load, and fresh
    planner statistics for the tables filled: without them the first queries plan for the empty
    tables (nested loops over millions of rows) until autovacuum catches up. Only those: the
    others (the audit trail's one row) keep no statistics, as on an empty database, and are not
    planned as one-page tables while they grow."""
    def work(uow):
        db = Raw(uow.session.connection())
        if db.pg:
            for table in ("accounts", "journal", "settlements", "postings", "bindings"):
                db.run(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                       f" (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)")
        audit.append(uow, "system", "bulk_demo", f"persons={persons} settlements={settlements}",
                     {"persons": persons, "settlements": settlements})
    run(engine, work)
    with engine.begin() as c:
        for table in TABLES:  # SQLite analyzes one table a statement
            c.exec_driver_sql(f"ANALYZE {table}")

