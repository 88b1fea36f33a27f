"""A login flood against a running server, and what it does to settlements: one client settles
back to back for ``--seconds`` while ``--threads`` threads send wrong logins, after a baseline of
the same length without the flood. Prints the settlement count, p50 and p99 of both phases, their
p99 ratio, and the login answers by status. Last line is JSON:

    {"db": ..., "baseline": {"n": ..., "p50_ms": ..., "p99_ms": ...}, "flood": {...}, "p99_ratio": ...,
     "logins": {"401": ..., "429": ...}, ...}

The flood runs in a process of its own (its threads would otherwise take the settling client's
GIL), and does what an attacker does: it ignores Retry-After and never waits between attempts.
Half the guesses are at an account that exists (it locks after the first few), half at names
that do not.

    python -m bench.flood [--db URL] [--seconds 30] [--threads 16] [--readme]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import multiprocessing
import random
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from bench.http import free_port, prepare, read_response, request_bytes, start_server, wait_up
from bench.settle import percentile
from gongji.service import security
from gongji.service.uow import run
from gongji.store.db import make_engine

TARGET = "flood-target"  # the staff account the flood guesses at


async def settle_for(port: int, inst: str, secret: str, patients: list[str], seconds: float, run_id: str) -> list[float]:
    """Settle back to back on one connection for ``seconds``; the latency of each."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    latencies: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        i = len(latencies)
        raw = request_bytes(inst, secret, patients[i % len(patients)], f"{run_id}-{i}")
        t = time.perf_counter()
        writer.write(raw)
        await writer.drain()
        status, body = await read_response(reader)
        latencies.append(time.perf_counter() - t)
        if status != 200:
            raise RuntimeError(f"settlement refused: {status} {body[:200].decode(errors='replace')}")
    writer.close()
    return latencies


def flood(port: int, threads: int, started, stop, answers) -> None:
    """In its own process: ``threads`` threads posting wrong logins until ``stop`` is set
    (``started`` once the first is answered); the count of answers by status goes to ``answers``."""
    counts: Counter = Counter()
    lock = threading.Lock()

    def guess(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: Counter = Counter()
        i = 0
        while not stop.is_set():
            i += 1
            user = TARGET if i % 2 else f"nobody-{k}-{i}"
            body = json.dumps({"kind": "staff", "username": user, "password": f"guess-{k}-{i}"})
            try:
                conn.request("POST", "/api/v1/auth/login", body, {"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                mine[str(r.status)] += 1
                started.set()
            except (OSError, http.client.HTTPException):
                mine["error"] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        with lock:
            counts.update(mine)

    workers = [threading.Thread(target=guess, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    answers.put(dict(counts))


def summary(latencies: list[float], seconds: float) -> dict:
    return {"n": len(latencies), "per_s": round(len(latencies) / seconds, 1),
            "p50_ms": round(percentile(latencies, .5), 1), "p99_ms": round(percentile(latencies, .99), 1),
            "max_ms": round(max(latencies) * 1000, 1)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=None, help="database URL; default a new SQLite file")
    ap.add_argument("--seconds", type=float, default=30, help="length of each phase (baseline, flood)")
    ap.add_argument("--threads", type=int, default=16, help="login threads of the flood")
    ap.add_argument("--families", type=int, default=50, help="patients to spread the bills over")
    ap.add_argument("--readme", action="store_true", help="write the figures into README.md")
    args = ap.parse_args(argv)
    tmp = tempfile.TemporaryDirectory()
    url = args.db or str(Path(tmp.name) / "bench.db")
    run_id = f"{random.randrange(16**6):06X}"
    print(f"preparing {args.families} families …", flush=True)
    inst, secret, patients = prepare(url, run_id, args.families)
    engine = make_engine(url)
    run(engine, lambda uow: security.add_staff(uow, f"{TARGET}-{run_id}", "clerk"))
    engine.dispose()
    port = free_port()
    log = Path(tmp.name) / "server.log"
    server = start_server(url, port, log)
    spawn = multiprocessing.get_context("spawn")
    try:
        asyncio.run(wait_up(port, server, log))
        asyncio.run(settle_for(port, inst, secret, patients, min(2.0, args.seconds), run_id + "w"))  # warm up
        print(f"settling for {args.seconds:g} s without a flood …", flush=True)
        base = asyncio.run(settle_for(port, inst, secret, patients, args.seconds, run_id + "b"))
        print(f"settling for {args.seconds:g} s under {args.threads} login threads …", flush=True)
        started, stop, answers = spawn.Event(), spawn.Event(), spawn.Queue()
        flooder = spawn.Process(target=flood, args=(port, args.threads, started, stop, answers))
        flooder.start()
        try:
            if not started.wait(120):
                raise RuntimeError("the login flood did not start")
            flooded = asyncio.run(settle_for(port, inst, secret, patients, args.seconds, run_id + "f"))
        finally:
            stop.set()
        logins = answers.get(timeout=120)
        flooder.join(60)
    finally:
        server.terminate()
        server.wait(30)
    db = "postgresql" if url.startswith("postgres") else "sqlite"
    result = {"db": db, "seconds": args.seconds, "threads": args.threads,
              "baseline": summary(base, args.seconds), "flood": summary(flooded, args.seconds)}
    result["p99_ratio"] = round(result["flood"]["p99_ms"] / result["baseline"]["p99_ms"], 2)
    result["logins"] = dict(sorted(logins.items()))
    result["logins_per_s"] = round(sum(logins.values()) / args.seconds, 1)
    b, f = result["baseline"], result["flood"]
    print(f"{db}: without the flood {b['n']} settlements, p50 {b['p50_ms']} ms, p99 {b['p99_ms']} ms; under "
          f"{args.threads} login threads {f['n']} settlements, p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms "
          f"(×{result['p99_ratio']}); login answers {result['logins']}")
    tmp.cleanup()
    print(json.dumps(result))
    if args.readme:
        from bench.readme import write_line
        write_line("flood", db, f"`python -m bench.flood{' --db URL' if args.db else ''} --seconds {args.seconds:g}"
                                f" --threads {args.threads}` → `{json.dumps(result)}`")
    return result


if __name__ == "__main__":
    main()
