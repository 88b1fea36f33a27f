"""Python CPU per settlement, by part: what gongji adds around the SQLite transaction.

Process CPU time (``time.process_time``) over N repetitions in one process, so the figures do not
move with other work on the machine the way throughput does. The parts are those of the settle
path (``Service.settle`` as ``bench.settle`` calls it): the input model, the request hash, the
situation from the snapshot, the calculation, the answer, the audit payload and its digest, and
the JSON of the stored codes and explanation, an empty unit of work; then whole settlements, one
client, SQLite, and the floor of ``bench.settle`` (the same rows by the bare driver). Prints
figures (µs per settlement); the last line is JSON. Asserts nothing on time.

    python -m bench.pycost [--n 2000]
    python -m bench.pycost --loop 3000   # only settlements, for a profiler to attach to (see below)

The flame graphs of docs/perf/ sample that loop alone, after the setup:

    python -m bench.pycost --loop 3000 & sleep 8  # until it prints "settling"
    py-spy record -g --nolineno -r 200 -f flamegraph -o docs/perf/settle-after.svg --pid $!
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from bench.settle import VISIT_ITEMS, count_statements, floor, setup
from gongji.calc_format import output
from gongji.domain.settlement import calculate
from gongji.service import audit, snapshot
from gongji.service import commands as c
from gongji.service.common import Ctx
from gongji.service.facade import Service, _plain
from gongji.service.settlements import _reference_request_hash, answer, request_hash
from gongji.service.uow import run as run_uow
from gongji.store.db import make_engine, migrate
from gongji.store.raw import Raw


def per_call(n: int, fn) -> float:
    """µs of process CPU per call of ``fn``, the best of three rounds of ``n`` calls."""
    best = float("inf")
    for _ in range(3):
        t = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, time.process_time() - t)
    return best / n * 1e6


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--loop", type=int, default=0, help="only settle this many times (after 300 to warm up)")
    args = ap.parse_args(argv)
    tmp = tempfile.TemporaryDirectory()
    engine = make_engine(str(Path(tmp.name) / "pycost.db"))
    migrate(engine)
    svc = Service(engine)
    run = f"{random.randrange(16**6):06X}"
    inst, patients = setup(svc, run, 1)
    make_visit = lambda: c.VisitRef(psn_no=patients[0], fixmedins=inst, med_type="11", items=VISIT_ITEMS)  # noqa: E731
    if args.loop:
        for i in range(300):
            svc.settle(f"{run}-w{i}", make_visit())
        print(f"settling (pid {os.getpid()})", file=sys.stderr, flush=True)
        t = time.process_time()
        for i in range(args.loop):
            svc.settle(f"{run}-{i}", make_visit())
        us = (time.process_time() - t) / args.loop * 1e6
        print(json.dumps({"settle_total": round(us, 1)}))
        return {"settle_total": us}
    v = make_visit()
    day = svc.clock()
    ctx = Ctx(svc.registry, day)
    with engine.connect() as conn:
        snap = snapshot.load(conn, [v], day.year, lock=False)
    situation, terms, _ = snapshot.situation(ctx, snap, v)
    r = calculate(situation, terms)
    key = f"{run}-part"
    out = answer(output(r), "S1")
    parts = {
        "visit_model": per_call(args.n, make_visit),
        "request_hash": per_call(args.n, lambda: request_hash(v)),
        "request_hash_via_model_dump": per_call(args.n, lambda: _reference_request_hash(v)),  # as it was
        "situation": per_call(args.n, lambda: snapshot.situation(ctx, snap, v)),
        "calculate": per_call(args.n, lambda: calculate(situation, terms)),
        "answer": per_call(args.n, lambda: answer(output(r), "S1")),
        "audit_payload": per_call(args.n, lambda: {"args": _plain((key, v)), "result": out}),
        "audit_digest": per_call(args.n, lambda: audit.digest({"args": _plain((key, v)), "result": out})),
        "stored_json": per_call(args.n, lambda: (Raw.json(list(r.codes)), Raw.json(list(r.explain)))),
    }
    # a unit of work that only begins and commits (BEGIN IMMEDIATE, nothing written): the cost of
    # the transaction machinery around a settlement (service.uow, the ORM session, the pool)
    parts["empty_unit_of_work"] = per_call(args.n, lambda: run_uow(engine, lambda uow: uow.session.connection()))
    statements = count_statements(engine, lambda: svc.settle(f"{run}-count", make_visit()))
    for i in range(200):  # warm: caches, statements, the first pages of the file
        svc.settle(f"{run}-w{i}", make_visit())
    t = time.process_time()
    for i in range(args.n):
        svc.settle(f"{run}-{i}", make_visit())
    parts["settle_total"] = (time.process_time() - t) / args.n * 1e6
    # the floor of bench.settle (the same rows by the bare driver, one client), in CPU too
    t = time.process_time()
    floor(str(Path(tmp.name) / "pycost.db"), args.n, 1, statements, run)
    parts["floor_total"] = (time.process_time() - t) / args.n * 1e6
    engine.dispose()
    tmp.cleanup()
    width = max(map(len, parts))
    for name, us in parts.items():
        print(f"{name:<{width}}  {us:8.1f} µs")
    result = {k: round(us, 1) for k, us in parts.items()}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
