"""Settlement latency as the database grows: bench.settle on 0, 1M and 10M settlements.

For each size a new database is made and filled by ``gongji demo --persons P --settlements S``
(P = S/10, at least 4) and brought to rest (PostgreSQL: VACUUM (ANALYZE), CHECKPOINT), then
``bench.settle`` runs on it, then ``gongji verify`` (its time and
peak memory: the check must stay usable as the ledger grows). Prints p50/p99 at each size against
the empty database's, and the floor's p50 beside it (how much the database itself slowed); the
last line is JSON. Flat means every p50 within 20% of the first; the target is 10%.

    python -m bench.scale [--own-cluster [tuned|default] | --db postgresql://postgres@127.0.0.1]
                          [--sizes 0,1000000,10000000] [--n 1000] [--clients 4] [--readme] [--keep]

With --own-cluster it starts a PostgreSQL cluster of its own (bench.cluster: a temporary
directory, a free port) with this machine's ``gongji db tune`` settings (``default``: initdb's,
for comparison) and removes it at the end, on error and Ctrl-C too; the shared server keeps its
settings. With --db it uses that server as it is; with neither, SQLite files in a temporary
directory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import settle


def database(base: str | None, tmp: str, size: int) -> str:
    if base is None:
        return str(Path(tmp) / f"scale-{size}.db")
    import psycopg
    name = f"gongji_scale_{size}"
    with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://") + "/postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name}")
        c.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"


def drop(base: str | None, url: str) -> None:
    if base is not None:
        import psycopg
        with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://") + "/postgres", autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]}")


def fill(url: str, size: int) -> float:
    persons = max(4, (size // 10) // 4 * 4)
    exe = str(Path(sys.executable).with_name("gongji"))
    started = time.perf_counter()
    subprocess.run([exe, "demo", "--db", url, "--persons", str(persons), "--settlements", str(size)], check=True)
    return time.perf_counter() - started


def rest(url: str) -> float:
    """After the bulk load, the database at rest, as a ledger grown over a year is: VACUUM
    (ANALYZE) does once what autovacuum would do during the measurement (set hint bits and the
    visibility map over millions of fresh rows, holding back the cleanup of the rows settling
    updates), and CHECKPOINT writes the load out, instead of the checkpointer and the kernel
    flushing gigabytes beside the commits being timed. Seconds; nothing on SQLite."""
    if not url.startswith("postgresql"):
        return 0.0
    import psycopg

    from gongji.bulk import TABLES
    started = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
        c.execute("VACUUM (ANALYZE) " + ", ".join(TABLES))  # the tables filled, as gongji demo analyzes them
        c.execute("CHECKPOINT")
    return time.perf_counter() - started


def verify(url: str) -> tuple[float, float]:
    """``gongji verify`` on the database: seconds and the process's peak RSS in MB; it must pass."""
    exe = str(Path(sys.executable).with_name("gongji"))
    started = time.perf_counter()
    child = subprocess.Popen([exe, "verify", "--db", url], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)  # wait4: this child's own peak RSS
    code = child.returncode = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"gongji verify failed on {url} (exit {code})")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--db", default=None, help="PostgreSQL server URL without a database name")
    where.add_argument("--own-cluster", nargs="?", const="tuned", choices=("tuned", "default"), default=None,
                       help="start a PostgreSQL cluster of its own: tuned (gongji db tune, the default) or default")
    ap.add_argument("--sizes", default="0,1000000,10000000")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--keep", action="store_true", help="keep the filled databases")
    ap.add_argument("--as-loaded", action="store_true",
                    help="measure right after the load, without VACUUM (ANALYZE) and CHECKPOINT (for comparison)")
    ap.add_argument("--readme", action="store_true")
    args = ap.parse_args(argv)
    if args.own_cluster is None:
        return _run(args, args.db)
    from bench import cluster
    settings = cluster.tuned() if args.own_cluster == "tuned" else {}
    if settings:
        print("— own cluster, gongji db tune: " + ", ".join(f"{k}={v}" for k, v in settings.items()), flush=True)
    with cluster.running(settings) as server:
        return _run(args, server)


def _run(args, server: str | None) -> dict:
    sizes = [int(x) for x in args.sizes.split(",")]
    tmp = tempfile.TemporaryDirectory()
    rows = []
    for size in sizes:
        url = database(server, tmp.name, size)
        took = fill(url, size) if size else 0.0
        rested = rest(url) if size and not args.as_loaded else 0.0
        print(f"— {size:,} settlements loaded in {took:.0f} s, vacuumed and checkpointed in {rested:.0f} s;"
              f" bench.settle:", flush=True)
        r = settle.main(["--db", url, "--n", str(args.n), "--clients", str(args.clients), "--no-pgbench"])
        checked, rss = verify(url)
        print(f"— gongji verify: {checked:.1f} s, peak RSS {rss:.0f} MB", flush=True)
        rows.append({"settlements": size, "fill_s": round(took), "rest_s": round(rested), "per_s": r["gongji_per_s"],
                     "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"], "floor_p50_ms": r["floor_p50_ms"],
                     "verify_s": round(checked, 1),
                     "verify_rss_mb": round(rss)})
        if not args.keep:
            drop(server, url)
    base = rows[0]
    for r in rows:
        r["p50_ratio"] = round(r["p50_ms"] / base["p50_ms"], 2)
        r["p99_ratio"] = round(r["p99_ms"] / base["p99_ms"], 2)
        r["floor_p50_ratio"] = round(r["floor_p50_ms"] / base["floor_p50_ms"], 2)  # the database's own slowing
        print(f"{r['settlements']:>12,} settlements: {r['per_s']:,.0f}/s, p50 {r['p50_ms']} ms (×{r['p50_ratio']}),"
              f" p99 {r['p99_ms']} ms (×{r['p99_ratio']}); floor p50 {r['floor_p50_ms']} ms"
              f" (×{r['floor_p50_ratio']}, the database's own)")
    flat = all(abs(r["p50_ratio"] - 1) <= 0.2 for r in rows)
    result = {"db": "postgresql" if server else "sqlite", "flat_within_20pct": flat,
              "p50_within_10pct": all(r["p50_ratio"] <= 1.1 for r in rows), "sizes": rows}
    if args.own_cluster:
        result["cluster"] = args.own_cluster
    print(json.dumps(result))
    if args.readme:
        from bench.readme import write_line
        db = f"--own-cluster {args.own_cluster} " if args.own_cluster else f"--db {server} " if server else ""
        db += "--as-loaded " if args.as_loaded else ""
        key = f"{result['db']}, own cluster ({args.own_cluster} settings)" if args.own_cluster else result["db"]
        write_line("scale", key, f"`python -m bench.scale {db}--sizes {args.sizes} --n {args.n}"
                                          f" --clients {args.clients}` → `{json.dumps(result)}`")
    tmp.cleanup()
    return result


if __name__ == "__main__":
    main()
