"""Bytes per settlement and per person, WAL per settlement, and a province projected from them.

Creates its own database on the server, fills it with ``gongji demo --persons N --settlements M``
(bulk, as gongji would write them), VACUUM (ANALYZE), and reads every table's size and rows. Then
settles ``--n`` more through the service (``--clients`` threads, group commit, bills of the bulk
load's shapes) and reads the WAL written between ``pg_current_wal_lsn()`` before and after, and
which tables grew by how many rows. The LSN is the whole server's: the WAL of one idle second
before the batch is printed beside it (other databases' work shows there; on a busy shared server
use ``--own-cluster``, a PostgreSQL of the bench's own, ``bench/cluster.py``). Drops its database
at the end. Prints tables; the last line is JSON. Used by docs/deploy.md.

    python -m bench.sizing --db postgresql://postgres@127.0.0.1:5432 [--persons 20000 --settlements 200000]
    python -m bench.sizing --own-cluster
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import date

import psycopg

from bench.settle import run_clients
from gongji import bulk
from gongji.bulk_templates import HOSPITAL_SHAPES
from gongji.service import commands as c
from gongji.service.facade import Service
from gongji.store.db import make_engine, migrate

PER_SETTLEMENT = ("settlements", "settlement_items", "settlement_mulaid", "journal", "postings")
PER_PERSON = ("persons", "accounts", "bindings", "year_usage")
PROVINCE = {"persons": 10_000_000, "settlements_year": 100_000_000}

SIZES = """SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid), pg_indexes_size(c.oid)
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1"""


def tables(cn) -> dict[str, dict]:
    out = {}
    for name, total, heap, idx in cn.execute(SIZES).fetchall():
        rows = cn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        out[name] = {"rows": rows, "total": total, "heap": heap, "index": idx}
    return out


def lsn(cn) -> str:
    return cn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]


def fpi(cn) -> int:
    return int(cn.execute("SELECT wal_fpi FROM pg_stat_wal").fetchone()[0])


def wal_between(cn, a: str, b: str) -> int:
    return int(cn.execute("SELECT pg_wal_lsn_diff(%s, %s)", (b, a)).fetchone()[0])


def families(svc: Service, run: str, n: int) -> tuple[str, list[str]]:
    """n holders with a balance, each with a bound relative (the patient), as bench.settle."""
    inst = f"Z{run}"
    svc.register_institution(c.RegisterInstitution(code=inst, level=1, admdvs="652801", kind="hospital"))
    patients = []
    for f in range(n):
        holder, ben = f"{run}H{f}", f"{run}B{f}"
        svc.register_person(c.RegisterPerson(psn_no=holder, insutype="310", insu_admdvs="652801", balance="5000.00"))
        svc.register_person(c.RegisterPerson(psn_no=ben, insutype="310", insu_admdvs="652801"))
        applied = svc.apply(c.Apply(holder=holder, beneficiary=ben, relation="child", channel="offline"))
        svc.review(c.Review(binding_id=applied["id"], decision="approve"))
        patients.append(ben)
    return inst, patients


def projection(per_setl: float, per_person: float, wal: float) -> list[tuple[str, str, float]]:
    s, p = PROVINCE["settlements_year"], PROVINCE["persons"]
    return [
        ("settlement rows, GB a year", "bytes/settlement x 100M / 1e9", per_setl * s / 1e9),
        ("person rows, GB", "bytes/person x 10M / 1e9", per_person * p / 1e9),
        ("WAL, GB a year", "WAL/settlement x 100M / 1e9", wal * s / 1e9),
        ("WAL, GB an average day", "WAL a year / 365", wal * s / 365 / 1e9),
    ]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="server URL, e.g. postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--own-cluster", action="store_true", help="on a PostgreSQL of its own (initdb defaults)")
    ap.add_argument("--persons", type=int, default=20000)
    ap.add_argument("--settlements", type=int, default=200000)
    ap.add_argument("--n", type=int, default=4000, help="settlements through the service for the WAL figure")
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args(argv)
    if args.own_cluster:
        from bench import cluster
        with cluster.running() as server:
            return measure(server, args)
    if not args.db:
        ap.error("--db or --own-cluster")
    return measure(args.db, args)


def measure(server: str, args: argparse.Namespace) -> dict:
    server = server.rstrip("/").replace("postgresql+psycopg://", "postgresql://")
    name = f"gongji_sizing_{random.randrange(16**6):06x}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = f"{server}/{name}"
    engine = make_engine(url)
    try:
        migrate(engine)
        t = time.perf_counter()
        bulk.fill(engine, args.persons, args.settlements, date.today())
        print(f"loaded {args.persons:,} persons, {args.settlements:,} settlements in {time.perf_counter() - t:.0f} s")
        with psycopg.connect(url, autocommit=True) as cn:
            cn.execute("VACUUM (ANALYZE)")
            loaded = tables(cn)
        print(f"\n{'table':<22}{'rows':>10}{'heap MB':>10}{'index MB':>10}{'total MB':>10}{'B/row':>8}")
        for tname, v in loaded.items():
            if v["rows"] or v["total"] > 16384:
                print(f"{tname:<22}{v['rows']:>10,}{v['heap'] / 1e6:>10.1f}{v['index'] / 1e6:>10.1f}"
                      f"{v['total'] / 1e6:>10.1f}{v['total'] / max(1, v['rows']):>8.0f}")
        nsetl = loaded["settlements"]["rows"]
        per_setl = {t_: loaded[t_]["total"] / nsetl for t_ in PER_SETTLEMENT}
        per_person = {t_: loaded[t_]["total"] / args.persons for t_ in PER_PERSON}
        items = loaded["settlement_items"]["rows"] / nsetl

        # WAL: settlements through the service, as the HIS's requests would arrive
        svc = Service(engine)
        run = f"{random.randrange(16**6):06X}"
        inst, patients = families(svc, run, max(args.clients, args.n // 20))
        bill = lambda i: [dict(x) for x in HOSPITAL_SHAPES[i % len(HOSPITAL_SHAPES)]]  # noqa: E731
        visit = lambda k, i: c.VisitRef(psn_no=patients[(i * args.clients + k) % len(patients)],  # noqa: E731
                                        fixmedins=inst, med_type="11", items=bill(i + k))
        for k in range(args.clients):
            svc.settle(f"{run}-warm-{k}", visit(k, 0))
        with psycopg.connect(url, autocommit=True) as cn:
            idle0 = lsn(cn)
            time.sleep(1)
            a = lsn(cn)
            idle = wal_between(cn, idle0, a)
            before, fpi0 = tables(cn), fpi(cn)
            elapsed, _ = run_clients(args.n, args.clients, lambda k, i: svc.settle(f"{run}-{k}-{i}", visit(k, i)))
            b, fpis = lsn(cn), fpi(cn) - fpi0
            wal = wal_between(cn, a, b)
            after = tables(cn)
        grown = {t_: (after[t_]["rows"] - before[t_]["rows"]) / args.n
                 for t_ in after if after[t_]["rows"] != before[t_]["rows"]}
        audit = (after["audit"]["total"] - before["audit"]["total"]) / args.n
        print(f"\n{args.n:,} settlements through the service, {args.clients} clients: {args.n / elapsed:,.0f}/s;"
              f" rows per settlement: " + ", ".join(f"{t_} {v:.2f}" for t_, v in grown.items()))
        print(f"WAL: {wal / args.n:,.0f} bytes a settlement ({wal:,} in all; the idle second before: {idle:,})")

        setl_bytes = sum(per_setl.values()) + audit
        person_bytes = sum(per_person.values())
        print(f"\nbytes a settlement: {setl_bytes:,.0f} ("
              + ", ".join(f"{t_} {v:,.0f}" for t_, v in per_setl.items()) + f", audit {audit:,.0f});"
              f" items a settlement {items:.2f}")
        print(f"bytes a person: {person_bytes:,.0f} (" + ", ".join(f"{t_} {v:,.0f}" for t_, v in per_person.items()) + ")")
        print(f"\n{'province: 10M insured, 100M settlements a year':<48}{'formula':<34}{'value':>10}")
        proj = projection(setl_bytes, person_bytes, wal / args.n)
        for label, formula, value in proj:
            print(f"{label:<48}{formula:<34}{value:>10.1f}")
        result = {"persons": args.persons, "settlements": nsetl, "items_per_settlement": round(items, 2),
                  "bytes_per_settlement": round(setl_bytes), "bytes_per_person": round(person_bytes),
                  "audit_bytes_per_settlement": round(audit), "wal_bytes_per_settlement": round(wal / args.n),
                  "idle_wal_bytes_per_s": idle,
                  "fpi_per_settlement": round(fpis / args.n, 2), "service_settles_per_s": round(args.n / elapsed, 1),
                  "rows_per_settlement": {t_: round(v, 2) for t_, v in grown.items()},
                  "tables": {t_: v for t_, v in loaded.items() if v["rows"]},
                  "province_gb": {label: round(value, 1) for label, _, value in proj}}
        print(json.dumps(result))
        return result
    finally:
        engine.dispose()
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
