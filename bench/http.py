"""Signed settlement requests over HTTP against a running server: settles/s, p50/p99, server RSS.

By default it prepares a database (a new SQLite file, or ``--db URL``), starts ``gongji serve``
on a free port, and drives it from C keep-alive connections, each request signed like an
institution's (HMAC, fresh nonce, its own idempotency key). The load generator is plain asyncio
on raw HTTP/1.1 so that it costs the shared CPU as little as possible. Last line is JSON:

    {"db": ..., "settles_per_s": ..., "p50_ms": ..., "p99_ms": ..., "server_rss_mb": ..., ...}

    python -m bench.http [--db URL] [--n 4000] [--clients 32] [--readme]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.settle import VISIT_ITEMS, percentile, setup
from gongji.client import signed_headers
from gongji.service import security
from gongji.service.facade import Service
from gongji.service.uow import run
from gongji.store.db import make_engine, migrate

PATH = "/api/v1/settlements"


def prepare(url: str, run_id: str, families: int) -> tuple[str, str, list[str]]:
    engine = make_engine(url)
    migrate(engine)
    svc = Service(engine)
    inst, patients = setup(svc, run_id, families)
    secret = run(engine, lambda uow: security.new_institution_secret(uow, inst))
    engine.dispose()
    return inst, secret, patients


def start_server(url: str, port: int, log: Path, workers: int = 1) -> subprocess.Popen:
    """``gongji serve`` as an operator runs it; its log goes to a file (a pipe nobody reads
    would fill and stall the server)."""
    exe = shutil.which("gongji") or str(Path(sys.executable).with_name("gongji"))
    with open(log, "wb") as f:
        return subprocess.Popen([exe, "serve", "--db", url, "--port", str(port), "--workers", str(workers)], stdout=f, stderr=f)


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_up(port: int, server: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
            await writer.drain()
            status, _ = await read_response(reader)
            writer.close()
            if status == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("server did not answer /healthz in time")


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    return status, body


def request_bytes(inst: str, secret: str, patient: str, key: str) -> bytes:
    body = json.dumps({"visit": {"psn_no": patient, "fixmedins": inst, "med_type": "11",
                                 "items": VISIT_ITEMS}}, ensure_ascii=False).encode()
    headers = signed_headers(inst, secret, "POST", PATH, body) | {
        "Idempotency-Key": key, "Content-Type": "application/json", "Content-Length": str(len(body)),
        "Host": "bench"}
    head = f"POST {PATH} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode() + body


async def load(port: int, inst: str, secret: str, patients: list[str], n: int, clients: int,
               run_id: str, server_pid: int) -> dict:
    latencies: list[float] = []
    failures: list[str] = []
    counter = iter(range(n))
    rss = [0]
    done = asyncio.Event()

    async def sample_rss() -> None:
        while not done.is_set():
            rss[0] = max(rss[0], rss_of(server_pid))
            try:
                await asyncio.wait_for(done.wait(), 0.2)
            except TimeoutError:
                pass

    async def client(k: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in counter:
            raw = request_bytes(inst, secret, patients[i % len(patients)], f"{run_id}-{i}")
            t = time.perf_counter()
            writer.write(raw)
            await writer.drain()
            status, body = await read_response(reader)
            latencies.append(time.perf_counter() - t)
            if status != 200:
                failures.append(f"{status} {body[:200].decode(errors='replace')}")
        writer.close()

    sampler = asyncio.create_task(sample_rss())
    start = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    elapsed = time.perf_counter() - start
    done.set()
    await sampler
    if failures:
        raise RuntimeError(f"{len(failures)} of {n} requests failed, first: {failures[0]}")
    return {"elapsed": elapsed, "latencies": latencies, "rss_mb": rss[0] / 1024}


def rss_of(pid: int) -> int:
    """Resident set in KiB of the process and its children (uvicorn workers)."""
    total = 0
    for p in [pid] + children_of(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process and its children so far."""
    total = 0.0
    for p in [pid] + children_of(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def children_of(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    out = [int(k) for k in kids]
    return out + [g for k in out for g in children_of(k)]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=None, help="database URL; default a new SQLite file")
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--workers", type=int, default=1,
                    help="server processes (PostgreSQL only); on 2 cores 2 measured slower than 1")
    ap.add_argument("--families", type=int, default=200, help="patients to spread the bills over")
    ap.add_argument("--readme", action="store_true", help="write the figures into README.md")
    args = ap.parse_args(argv)
    tmp = tempfile.TemporaryDirectory()
    url = args.db or str(Path(tmp.name) / "bench.db")
    run_id = f"{random.randrange(16**6):06X}"
    print(f"preparing {args.families} families …", flush=True)
    inst, secret, patients = prepare(url, run_id, args.families)
    port = free_port()
    log = Path(tmp.name) / "server.log"
    workers = args.workers
    server = start_server(url, port, log, workers)
    try:
        asyncio.run(wait_up(port, server, log))
        asyncio.run(load(port, inst, secret, patients, min(200, args.n), args.clients, run_id + "w", server.pid))
        if os.environ.get("BENCH_PROFILE"):  # e.g. py-spy record --pid, given the server's pid
            subprocess.Popen(os.environ["BENCH_PROFILE"].replace("{pid}", str(server.pid)), shell=True)
        cpu = cpu_seconds(server.pid)
        got = asyncio.run(load(port, inst, secret, patients, args.n, args.clients, run_id, server.pid))
        cpu = cpu_seconds(server.pid) - cpu
    finally:
        server.terminate()
        server.wait(30)
    rate = args.n / got["elapsed"]
    lat = got["latencies"]
    db = "postgresql" if url.startswith("postgres") else "sqlite"
    result = {"db": db, "settles_per_s": round(rate, 1), "p50_ms": round(percentile(lat, .5), 1),
              "p99_ms": round(percentile(lat, .99), 1), "server_rss_mb": round(got["rss_mb"], 1),
              "server_cpu_ms_per_settle": round(cpu * 1000 / args.n, 2),
              "clients": args.clients, "workers": workers, "n": args.n, "cpus": os.cpu_count()}
    print(f"{db}: {rate:,.0f} signed settlements/s over HTTP, p50 {result['p50_ms']} ms,"
          f" p99 {result['p99_ms']} ms, server RSS {result['server_rss_mb']} MB, server CPU"
          f" {result['server_cpu_ms_per_settle']} ms a settlement ({args.clients} connections, {workers} server processes)")
    tmp.cleanup()
    print(json.dumps(result))
    if args.readme:
        from bench.readme import write_line
        write_line("http", db, f"`python -m bench.http{' --db URL' if args.db else ''} --n {args.n} --clients {args.clients}` → `{json.dumps(result)}`")
    return result


if __name__ == "__main__":
    main()
