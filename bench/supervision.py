"""基金监管规则的查准率、查全率与耗时 / Fund supervision: precision, recall and time of each rule.

A new database is filled with an ordinary background (``gongji demo --persons N --settlements M``,
which makes none of the patterns), K known cases of each of the eight rules and near-misses just
under each threshold are injected through the real service (bench.supervision_cases), then
``supervise`` runs once, timed (the generation is not). Per rule: the flags, the precision (flags
matching an injected case / flags), the recall (cases found / cases) and the near-misses flagged
(must be 0). A flag matches a case when the rule and subject are equal and the periods overlap.
The last line is JSON.

    python -m bench.supervision --settlements M [--persons N] [--cases K] [--seed S] [--db URL]
                                [--readme] [--keep]

--db takes a PostgreSQL server URL without a database name: the bench creates its own database
there and drops it at the end. Without it, an SQLite file in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

from sqlalchemy import select

from bench.supervision_cases import RULES, Case, inject
from gongji.bulk import fill
from gongji.store import models as m
from gongji.store.db import make_engine, migrate

DB_NAME = "gongji_supervision"


def database(server: str | None, tmp: str) -> str:
    if server is None:
        return str(Path(tmp) / "supervision.db")
    import psycopg
    with psycopg.connect(_plain(server) + "/postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        c.execute(f"CREATE DATABASE {DB_NAME}")
    return f"{server}/{DB_NAME}"


def drop(server: str | None) -> None:
    if server is not None:
        import psycopg
        with psycopg.connect(_plain(server) + "/postgres", autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://").rstrip("/")


def score(flags: list[tuple[str, str, date, date]], cases: list[Case]) -> dict:
    """Per rule: flags, precision, recall, near-misses flagged."""
    def hit(f, c: Case) -> bool:
        return f[0] == c.rule and f[1] == c.subject and f[2] <= c.end and c.start <= f[3]

    by_rule: dict[str, list] = defaultdict(list)
    for f in flags:
        by_rule[f[0]].append(f)
    out = {}
    for rule in RULES:
        fs = by_rule.get(rule, [])
        real = [c for c in cases if c.rule == rule and not c.near_miss]
        near = [c for c in cases if c.rule == rule and c.near_miss]
        matched = sum(1 for f in fs if any(hit(f, c) for c in real))
        found = sum(1 for c in real if any(hit(f, c) for f in fs))
        out[rule] = {"precision": round(matched / len(fs), 3) if fs else 1.0,
                     "recall": round(found / len(real), 3) if real else 1.0, "flags": len(fs),
                     "near_misses_flagged": sum(1 for c in near if any(hit(f, c) for f in fs)),
                     "cases": len(real), "near_misses": len(near)}
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--settlements", type=int, required=True)
    ap.add_argument("--persons", type=int, default=None, help="default: settlements/8, a multiple of 4")
    ap.add_argument("--cases", type=int, default=5, help="cases of each rule (K)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db", default=None, help="PostgreSQL server URL without a database name")
    ap.add_argument("--today", type=date.fromisoformat, default=None, help="default: today")
    ap.add_argument("--readme", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the database")
    args = ap.parse_args(argv)
    today = args.today or date.today()
    persons = args.persons or max(4, args.settlements // 8 // 4 * 4)
    tmp = tempfile.TemporaryDirectory()
    url = database(args.db, tmp.name)
    engine = make_engine(url)
    try:
        result = _run(engine, args, persons, today)
    finally:
        engine.dispose()
        if not args.keep:
            drop(args.db)
        tmp.cleanup()
    if args.readme:
        from bench.readme import write_line
        db = "postgresql" if args.db else "sqlite"
        write_line("supervision", f"{db}, {args.settlements:,} settlements",
                   f"`python -m bench.supervision --settlements {args.settlements} --cases {args.cases}"
                   f"{' --db URL' if args.db else ''}` → `{json.dumps(result)}`")
    return result


def _run(engine, args, persons: int, today: date) -> dict:
    from gongji.service.supervise.engine import supervise
    migrate(engine)
    started = time.perf_counter()
    fill(engine, persons, args.settlements, today,
         lambda n: print(f"\r— 背景 background: {n:,}/{args.settlements:,} 笔结算", end="", file=sys.stderr, flush=True))
    print(f"\n— 背景写入 {time.perf_counter() - started:.0f} 秒 / background in {time.perf_counter() - started:.0f} s",
          file=sys.stderr, flush=True)
    started = time.perf_counter()
    cases = inject(engine, date(today.year, 1, 1), today, args.cases, args.seed)
    print(f"— 注入案例 {sum(not c.near_miss for c in cases)} 个、临界样本 {sum(c.near_miss for c in cases)} 个,"
          f"{time.perf_counter() - started:.0f} 秒 / cases injected", file=sys.stderr, flush=True)
    if engine.dialect.name == "postgresql":  # the cases' rows counted by the planner, as after a day's work
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("ANALYZE")
    started = time.perf_counter()
    counts = supervise(engine, today=today,
                       progress=lambda name, n, total: print(f"\r— 监管 supervise: {n}/{total} {name}    ", end="",
                                                             file=sys.stderr, flush=True))
    seconds = round(time.perf_counter() - started, 1)
    print(f"\n— supervise: {counts}", file=sys.stderr, flush=True)
    with engine.connect() as c:
        flags = [tuple(r) for r in c.execute(select(m.SupervisionFlag.rule, m.SupervisionFlag.subject,
                                                    m.SupervisionFlag.period_start, m.SupervisionFlag.period_end))]
    rules = score(flags, cases)
    print(f"{'规则 rule':<22}{'标记 flags':>12}{'案例 cases':>12}{'查准 precision':>16}{'查全 recall':>13}"
          f"{'临界被标 near':>15}")
    for rule, r in rules.items():
        print(f"{rule:<22}{r['flags']:>12}{r['cases']:>12}{r['precision']:>16.3f}{r['recall']:>13.3f}"
              f"{r['near_misses_flagged']:>11}/{r['near_misses']}")
    result = {"settlements": args.settlements, "seconds": seconds,
              "rules": {rule: {"precision": r["precision"], "recall": r["recall"], "flags": r["flags"],
                               "near_misses_flagged": r["near_misses_flagged"]} for rule, r in rules.items()}}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
