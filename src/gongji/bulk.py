"""A large database for benchmarks: ``gongji demo --persons N --settlements M``.

Families of four (an employee holder with a balance, three resident relatives bound to them) in
the four regions, and M settlements spread over this year up to today. The settlements are
copies of templates made by the real service on a scratch database (a relative's bill paid by
mutual-aid, the holder's own bill paid from the account), so every amount, ledger entry and
counter is what gongji itself would write, and the caps and balances hold: each person has at
most ``MAX_VISITS`` bills, well inside the annual caps. Rows go in by COPY on PostgreSQL and by
batched multi-row inserts on SQLite, in chunks, each its own transaction, with a progress bar.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine

from gongji.domain.errors import LedgerError
from gongji.service import audit, ledger
from gongji.service import commands as c
from gongji.service.clock import FixedClock
from gongji.service.facade import Service
from gongji.service.uow import run
from gongji.store.db import make_engine, migrate
from gongji.store.raw import Raw

MAX_VISITS = 20  # per person: 20 small bills stay far inside every annual cap
OPENING = 500000  # a holder's opening balance in fen
CHUNK = 2000  # families per transaction
COUNTIES = {"652800": "652801", "532600": "532601", "370300": "370302", "532800": "532801"}
ITEMS = [{"code": "X001", "name": "血常规", "list_class": "A", "category": "exam", "amount": "60.00"}]


class BulkError(Exception):
    pass


@dataclass(frozen=True)
class Template:
    """One settled bill as gongji wrote it: amounts, codes, explanation, mutual-aid amount."""
    amounts: dict
    codes: str
    explain: str
    mulaid: int


def templates(day: date) -> dict[tuple[str, bool], Template]:
    """Per region: (region, True) a relative's bill with mutual-aid, (region, False) the holder's."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(str(Path(tmp) / "t.db"))
        migrate(engine)
        svc = Service(engine, clock=FixedClock(day))
        for region, county in COUNTIES.items():
            inst, holder, rel = f"T{region}", f"T{region}H", f"T{region}R"
            svc.register_institution(c.RegisterInstitution(code=inst, level=1, admdvs=county, kind="hospital"))
            svc.register_person(c.RegisterPerson(psn_no=holder, insutype="310", insu_admdvs=county, balance="5000.00"))
            svc.register_person(c.RegisterPerson(psn_no=rel, insutype="390", insu_admdvs=county))
            applied = svc.apply(c.Apply(holder=holder, beneficiary=rel, relation="child", channel="offline"))
            svc.review(c.Review(binding_id=applied["id"], decision="approve"))
            for patient, is_rel in ((rel, True), (holder, False)):
                r = svc.settle(f"t{patient}", c.VisitRef(psn_no=patient, fixmedins=inst, med_type="11", items=ITEMS))
                fen = {k: int(v.replace(".", "")) for k, v in r.items() if k.endswith(("amt", "pay", "dedc"))}
                mulaid = sum(int(d["amount"].replace(".", "")) for d in r["mulaid_detail"])
                out[(region, is_rel)] = Template(fen, json.dumps(r["codes"], ensure_ascii=False),
                                                 json.dumps(r["explain"], ensure_ascii=False), mulaid)
        engine.dispose()
    return out


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
    _institutions(engine, regions, start, ids)
    written = 0
    for lo in range(0, families, CHUNK):
        fams = range(lo, min(families, lo + CHUNK))
        written += _chunk(engine, fams, per_family, regions, tpl, start, today, ids)
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


def _institutions(engine: Engine, regions: list[str], start: date, ids: dict) -> None:
    def work(uow):
        db = Raw(uow.session.connection())
        db.insert("institutions", ("code", "name", "level", "admdvs", "kind", "registered_on"),
                  [(f"BULK{r}", f"批量演示医院 {r}", 1, COUNTIES[r], "hospital", db.date(start)) for r in regions])
        names = [("contributions", "contributions")] + [(f"pool:{r}", "pool") for r in regions] \
            + [(f"institution:BULK{r}", "institution") for r in regions]
        for i, (name, _kind) in enumerate(names, 1):
            ids[name] = i
        db.insert("accounts", ("id", "name", "kind", "ledger"), [(ids[n], n, k, "CNY") for n, k in names])
        ids["account"] = len(names)
    run(engine, work)


def _chunk(engine, fams: range, per_family: list[int], regions: list[str], tpl: dict, start: date,
           today: date, ids: dict) -> int:
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
        balance, paid = OPENING, 0
        opening_lines.append((acct, OPENING))
        for k, rel in enumerate(relatives):
            rows["bindings"].append((region, holder, rel, ("spouse", "child", "parent")[k], "offline", "[]", False,
                                     False, "approved", start, start, False, start, start))
        received = {rel: 0 for rel in relatives}
        for v in range(per_family[f]):
            patient = members[v % 4]
            is_rel = patient != holder
            t = tpl[(region, is_rel)]
            ids["settlement"] += 1
            sid = ids["settlement"]
            day = start + timedelta(days=(f * 7 + v * 31) % span)
            rows["settlements"].append((sid, f"BULK{region}", f"bulk-{sid}", "0" * 64, patient, region, day, "11",
                                        None, False, "1", t.codes, t.explain, "settled", "direct",
                                        *(t.amounts[k] for k in AMOUNTS)))
            rows["settlement_items"].append((sid, 0, "X001", "血常规", "A", "exam", t.amounts["medfee_sumamt"], "0/1"))
            ids["journal"] += 1
            jid = ids["journal"]
            rows["journal"].append((jid, "settle", day, sid))
            own = t.amounts["acct_pay"] if not is_rel else 0
            lines = [(ids[f"pool:{region}"], -t.amounts["hifp_pay"]),
                     (ids[f"institution:BULK{region}"],
                      t.amounts["hifp_pay"] + t.amounts["acct_pay"] + t.amounts["acct_mulaid_pay"])]
            if own:
                lines.append((acct, -own))
            if is_rel and t.mulaid:
                rows["settlement_mulaid"].append((sid, 0, holder, t.mulaid))
                lines.append((acct, -t.mulaid))
                received[patient] += t.mulaid
                paid += t.mulaid
            balance -= own + (t.mulaid if is_rel else 0)
            rows["postings"].extend((jid, a, amt) for a, amt in lines if amt)
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
                    "dise_codg", "external_rx", "acct_used_flag", "codes", "explain", "state", "channel", *AMOUNTS),
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

