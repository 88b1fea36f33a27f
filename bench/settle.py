"""Settlements per second through the service layer, against the floor in the same run.

The floor writes the same rows (settlement, items, mutual-aid line, journal entry, postings,
balances, counters, audit row and head) by the same number of statements, one transaction per
settlement, through the bare driver: no ORM, no policy logic. On PostgreSQL pgbench (tpcb-like,
same clients, same server) runs too. Prints figures; the last line is JSON:

    {"db": ..., "gongji_per_s": ..., "floor_per_s": ..., "ratio_to_floor": ..., "pgbench_tps": ...,
     "ratio_to_pgbench": ..., "p99_ms": ...}

    python -m bench.settle [--db URL] [--n 2000] [--clients 4] [--readme]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import event

from gongji.service import commands as c
from gongji.service.facade import Service
from gongji.store.db import make_engine, migrate
from gongji.store.raw import Raw

VISIT_ITEMS = [{"code": "X", "name": "检查", "list_class": "A", "category": "exam", "amount": "150.00"}]


def setup(svc: Service, run: str, families: int) -> tuple[str, list[str]]:
    inst = f"B{run}"
    svc.register_institution(c.RegisterInstitution(code=inst, level=1, admdvs="652801", kind="hospital"))
    patients = []
    for f in range(families):
        holder = f"{run}H{f}"
        svc.register_person(c.RegisterPerson(psn_no=holder, insutype="310", insu_admdvs="652801",
                                             balance="500000.00"))  # the most one credit may bring (four_eyes.MAX_CREDIT)
        ben = f"{run}B{f}"
        svc.register_person(c.RegisterPerson(psn_no=ben, insutype="310", insu_admdvs="652801"))
        applied = svc.apply(c.Apply(holder=holder, beneficiary=ben, relation="child", channel="offline"))
        svc.review(c.Review(binding_id=applied["id"], decision="approve"))
        patients.append(ben)
    return inst, patients


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] * 1000


def run_clients(n: int, clients: int, work) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    per = [n // clients + (1 if i < n % clients else 0) for i in range(clients)]
    barrier = threading.Barrier(clients + 1)

    errors: list[BaseException] = []

    def client(k: int) -> None:
        mine = []
        barrier.wait()
        try:
            for i in range(per[k]):
                t = time.perf_counter()
                work(k, i)
                mine.append(time.perf_counter() - t)
        except BaseException as e:  # reported after the run; a benchmark with errors is no figure
            errors.append(e)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} client(s) failed: {errors[0]!r}")
    return time.perf_counter() - start, latencies


def count_statements(engine, call) -> int:
    """Statements sent for one call: through SQLAlchemy, and on the driver's cursor (``Raw``)."""
    seen = []
    listener = lambda *a, **k: seen.append(1)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    before = Raw.statements
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(seen) + Raw.statements - before


def floor(url: str, n: int, clients: int, statements: int, run: str) -> tuple[float, list[float]]:
    """The same rows, one transaction each, by bare driver statements (padded with reads to the
    service's statement count, so only the work around the statements differs)."""
    sqlite = not url.startswith("postgresql")
    if sqlite:
        import sqlite3
        path = url.split("///", 1)[1] if "///" in url else url
        conns = [sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
                 for _ in range(clients)]
        for cn in conns:
            cn.execute("PRAGMA busy_timeout=60000")
            cn.execute("PRAGMA synchronous=FULL")  # as the service runs it: full durability
        ph = "?"
    else:
        import psycopg
        conns = [psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
                 for _ in range(clients)]
        ph = "%s"
    writes = [
        "INSERT INTO journal (kind, \"on\", created_at) VALUES ('floor', '2025-06-01', CURRENT_TIMESTAMP)",
        f"UPDATE accounts SET balance = balance WHERE name = {ph}",
        f"UPDATE year_usage SET mulaid_paid = mulaid_paid WHERE psn_no = {ph}",
        f"INSERT INTO audit (at, actor, action, target, payload_digest, prev_hash, hash) VALUES ('t', 'floor', 'floor', {ph}, 'd', 'p', {ph})",
        "UPDATE audit_head SET last_hash = last_hash WHERE id = 1",
    ]
    pad = max(0, statements - len(writes) - 2)
    counter = iter(range(10**9))

    def work(k: int, i: int) -> None:
        cn = conns[k]
        cur = cn.cursor()
        cur.execute("BEGIN IMMEDIATE" if sqlite else "BEGIN")
        n_ = next(counter)
        cur.execute(writes[0])
        cur.execute(writes[1], (f"personal:{run}H{k}",))
        cur.execute(writes[2], (f"{run}H{k}",))
        cur.execute(writes[3], (f"floor{n_}", f"{run}-floor-{n_}"))
        cur.execute(writes[4])
        for _ in range(pad):
            cur.execute(f"SELECT balance FROM accounts WHERE name = {ph}", (f"personal:{run}H{k}",))
            cur.fetchall()
        cur.execute("COMMIT")

    elapsed, lat = run_clients(n, clients, work)
    cur = conns[0].cursor()  # the floor's rows are not a ledger: gone, so verify passes afterwards
    cur.execute("DELETE FROM journal WHERE kind = 'floor'")
    cur.execute("DELETE FROM audit WHERE actor = 'floor'")
    for cn in conns:
        cn.close()
    return elapsed, lat


def pgbench(url: str, clients: int, seconds: int = 10) -> float | None:
    exe = shutil.which("pgbench")
    if exe is None:
        return None
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    subprocess.run([exe, "-i", "-q", "-s", "1", libpq], check=True, capture_output=True)
    out = subprocess.run([exe, "-c", str(clients), "-j", str(clients), "-T", str(seconds), "-b", "tpcb-like", libpq],
                         check=True, capture_output=True, text=True).stdout
    m = re.search(r"tps = ([0-9.]+)", out)
    return float(m.group(1)) if m else None


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=None, help="database URL; default a new SQLite file")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--readme", action="store_true", help="write the figures into README.md")
    ap.add_argument("--no-pgbench", action="store_true", help="skip pgbench (bench.scale runs it once)")
    args = ap.parse_args(argv)
    tmp = tempfile.TemporaryDirectory()
    url = args.db or str(Path(tmp.name) / "bench.db")
    engine = make_engine(url)
    migrate(engine)
    svc = Service(engine)
    run = f"{random.randrange(16**6):06X}"
    inst, patients = setup(svc, run, args.clients)
    visit = lambda k, i: c.VisitRef(psn_no=patients[k], fixmedins=inst, med_type="11", items=VISIT_ITEMS)  # noqa: E731
    statements = count_statements(engine, lambda: svc.settle(f"{run}-warm", visit(0, 0)))
    elapsed, lat = run_clients(args.n, args.clients, lambda k, i: svc.settle(f"{run}-{k}-{i}", visit(k, i)))
    gongji = args.n / elapsed
    group = svc.settles.requests / max(1, svc.settles.batches)
    print(f"gongji: {gongji:,.0f} settlements/s, p50 {percentile(lat, .5):.1f} ms, p99 {percentile(lat, .99):.1f} ms"
          f" ({statements} statements for one settlement alone, {group:.1f} settlements per commit,"
          f" {args.clients} clients)")
    engine_url = engine.url.render_as_string(hide_password=False)
    f_elapsed, f_lat = floor(engine_url if not engine_url.startswith("sqlite") else url, args.n, args.clients,
                             statements, run)
    floor_rate = args.n / f_elapsed
    print(f"floor:  {floor_rate:,.0f} settlements/s, p50 {percentile(f_lat, .5):.1f} ms, p99 {percentile(f_lat, .99):.1f} ms")
    result = {"db": engine.dialect.name, "gongji_per_s": round(gongji, 1), "floor_per_s": round(floor_rate, 1),
              "ratio_to_floor": round(gongji / floor_rate, 3), "pgbench_tps": None, "ratio_to_pgbench": None,
              "p99_ms": round(percentile(lat, .99), 1),
              "p50_ms": round(percentile(lat, .5), 1), "floor_p50_ms": round(percentile(f_lat, .5), 1)}
    if engine.dialect.name == "postgresql" and not args.no_pgbench:
        tps = pgbench(engine_url, args.clients)
        if tps:
            result["pgbench_tps"], result["ratio_to_pgbench"] = round(tps, 1), round(gongji / tps, 3)
            print(f"pgbench tpcb-like: {tps:,.0f} tps")
    engine.dispose()
    tmp.cleanup()
    print(json.dumps(result))
    if args.readme:
        from bench.readme import write_line
        write_line("settle", f"{result['db']}, {args.clients} clients",
                   f"`python -m bench.settle{' --db URL' if args.db else ''} --n {args.n} --clients {args.clients}`"
                   f" → `{json.dumps(result)}`")
    return result


if __name__ == "__main__":
    main()
