"""Failover test: province 53's PostgreSQL primary SIGKILLed under load, N times, on a local
Patroni cluster (``gongji cluster``), with province 65 settling beside it.

Cashier threads settle through ``gongji serve`` (on the cluster's routing file) in both provinces with idempotency keys and retry
every request that got no answer (connection refused, reset, timeout, 5xx) with the same key, as
a cashier's system would. Each kill SIGKILLs the leader's Patroni and PostgreSQL (a machine lost),
waits for the standby to take over, then restarts the killed member, which pg_rewind turns into
the new leader's standby, before the next kill. Afterwards every acknowledged settlement must be in
its province's database exactly once with its amount, no settlement may be there that was not
acknowledged, and ``gongji verify`` must pass in both. ``max_unavailable_s`` is the longest time between
two acknowledged settlements in province 53; ``other_province_errors`` counts the requests of
province 65 that failed (even when a retry then succeeded): it must be 0. The last line is JSON:

    {"kills": N, "acknowledged": A, "lost": 0, "double_charged": 0, "violations": 0,
     "max_unavailable_s": S, "other_province_errors": 0}

    python -m bench.failover --kills 3 [--dir DIR] [--clients 4] [--seed 1] [--readme]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.chaos import check
from bench.readme import write_line
from gongji import cluster as gc
from gongji import routing
from gongji.client import InstitutionAuth
from gongji.cluster import commands, procs
from gongji.service import commands as c
from gongji.service import security
from gongji.service.provinces import Provinces
from gongji.store.db import make_engine, migrate

KILLED, OTHER = "53", "65"
AREAS = {"53": "532601", "65": "652801"}  # 文山, 巴音郭楞: their policies bind children
STEP_TIMEOUT = 90  # seconds for a failover, a rejoin, a settlement after it


@dataclass
class Lane:
    """One province's cashiers: what they were told and when."""

    code: str
    inst: str = ""
    secret: str = ""
    patients: list[str] = field(default_factory=list)
    acked: dict = field(default_factory=dict)
    acked_at: list[float] = field(default_factory=list)
    failures: int = 0
    refused: int = 0
    kinds: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def routed_env(config: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", routing.CONFIG_ENV: str(config)}
    env.pop("GONGJI_DB", None)
    return env


class Server:
    """``gongji serve`` on the routing file."""

    def __init__(self, config: Path, log: Path) -> None:
        self.port = procs.free_ports(1)[0]
        self.base = f"http://127.0.0.1:{self.port}"
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gongji.cli", "serve", "--port", str(self.port), "--no-nightly"],
                env=routed_env(config), cwd=config.parent, stdout=out, stderr=subprocess.STDOUT)
        self.log = log
        commands.wait_until(self._up, 60, "the server did not come up", log)

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise commands.ClusterError(f"the server exited ({self.proc.returncode})", procs.tail(self.log))
        try:
            return httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def setup(provinces: Provinces, lane: Lane, run: str, families: int) -> None:
    """An institution with a signing key, and families with balances, in ``lane``'s province."""
    svc, area = provinces.get(lane.code), AREAS[lane.code]
    lane.inst = f"F{lane.code}{run}"
    svc.register_institution(c.RegisterInstitution(code=lane.inst, level=1, admdvs=area, kind="hospital"))
    lane.secret = svc.secure(security.new_institution_secret, lane.inst)
    for f in range(families):
        holder = f"{run}{lane.code}H{f}"
        svc.register_person(c.RegisterPerson(psn_no=holder, insutype="310", insu_admdvs=area, balance="3000.00"))
        for k in range(2):
            ben = f"{run}{lane.code}B{f}{k}"
            svc.register_person(c.RegisterPerson(psn_no=ben, insutype="390", insu_admdvs=area))
            applied = svc.apply(c.Apply(holder=holder, beneficiary=ben, relation="child", channel="offline"))
            svc.review(c.Review(binding_id=applied["id"], decision="approve"))
            lane.patients.append(ben)


def cashier(base: str, lane: Lane, rng: random.Random, run: str, n: int, stop: threading.Event,
            give_up: float) -> None:
    http = httpx.Client(base_url=base, auth=InstitutionAuth(lane.inst, lane.secret), timeout=15)
    i = 0
    while not stop.is_set():
        key = f"{run}-{lane.code}-{n}-{i}"
        visit = {"psn_no": rng.choice(lane.patients), "fixmedins": lane.inst, "med_type": "11",
                 "items": [{"code": "X", "name": "检查", "list_class": "A", "category": "exam",
                            "amount": f"{rng.randint(150, 900)}.{rng.randrange(100):02d}"}]}
        while time.monotonic() < give_up:  # the same key until an answer arrives
            try:
                r = http.post("/api/v1/settlements", json={"visit": visit}, headers={"Idempotency-Key": key})
                kind = str(r.status_code)
            except httpx.HTTPError as e:
                r, kind = None, type(e).__name__
            if r is None or r.status_code >= 500:
                with lane.lock:
                    lane.failures += 1
                    lane.kinds[kind] = lane.kinds.get(kind, 0) + 1
                time.sleep(0.05)
                continue
            with lane.lock:
                if r.status_code == 200:
                    lane.acked[key] = r.json()
                    lane.acked_at.append(time.monotonic())
                else:
                    lane.refused += 1
            break
        i += 1
    http.close()


def max_gap(times: list[float], start: float, end: float) -> float:
    points = sorted([start, *[t for t in times if start <= t <= end], end])
    return max(b - a for a, b in zip(points, points[1:], strict=False))


def wait_for_more(lane: Lane, n: int, what: str) -> None:
    with lane.lock:
        target = len(lane.acked) + n
    commands.wait_until(lambda: len(lane.acked) >= target, STEP_TIMEOUT, what, every=0.05)


def new_leader(directory: Path, old: str) -> str | None:
    name = gc.leader(directory, KILLED)
    return name if name not in (None, old) else None


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=None, help="cluster directory (reused when it holds one)")
    ap.add_argument("--clients", type=int, default=4, help="cashier threads per province")
    ap.add_argument("--families", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--readme", action="store_true", help="write the figures into README.md")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    own = args.dir is None
    directory = Path(tempfile.mkdtemp(prefix="gongji-failover-")) if own else args.dir.resolve()
    if own:
        os.chmod(directory, 0o755)  # the postgres user enters it
    server = None
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        print(f"cluster in {directory}", file=sys.stderr, flush=True)
        gc.up(directory, [KILLED, OTHER], progress=lambda s: print(f"· {s}", file=sys.stderr, flush=True))
        config = directory / commands.ROUTES
        routes = routing.load(config)
        for p in routes.provinces:
            engine = make_engine(p.url)
            migrate(engine)
            engine.dispose()
        run = secrets.token_hex(3).upper()
        lanes = {code: Lane(code) for code in (KILLED, OTHER)}
        provinces = Provinces.open(routes)
        for lane in lanes.values():
            setup(provinces, lane, run, args.families)
        provinces.dispose()
        server = Server(config, directory / "server.log")
        give_up = time.monotonic() + 3600
        for lane in lanes.values():
            for n in range(args.clients):
                t = threading.Thread(target=cashier, args=(server.base, lane, random.Random(rng.random()), run, n,
                                                           stop, give_up), daemon=True)
                threads.append(t)
                t.start()
        killed = lanes[KILLED]
        wait_for_more(killed, 20, "settlements before the first kill")
        start = time.monotonic()
        for k in range(args.kills):
            old = gc.leader(directory, KILLED)
            if old is None:
                raise commands.ClusterError(f"province {KILLED} has no leader before kill {k + 1}")
            t0 = time.monotonic()
            gc.kill_member(directory, old)
            new = commands.wait_until(functools.partial(new_leader, directory, old), STEP_TIMEOUT,
                                      f"a new leader in province {KILLED}")
            t1 = time.monotonic()
            gc.rejoin(directory, old, timeout=STEP_TIMEOUT)
            t2 = time.monotonic()
            wait_for_more(killed, 10, f"settlements in province {KILLED} after kill {k + 1}")
            print(f"kill {k + 1}/{args.kills}: {old} -> {new}: leader after {t1 - t0:.1f} s, {old} rejoined after"
                  f" {t2 - t0:.1f} s, settling again after {time.monotonic() - t0:.1f} s; "
                  f"{sum(len(x.acked) for x in lanes.values())} acknowledged", file=sys.stderr, flush=True)
        end = time.monotonic()
        stop.set()
        for t in threads:
            t.join(timeout=STEP_TIMEOUT)
        figures: dict = {"lost": 0, "double_charged": 0, "violations": 0}
        urls = {p.code: p.url for p in routes.provinces}
        for code, lane in lanes.items():  # each acknowledged settlement once, nothing else charged
            for key, value in check(urls[code], lane.inst, lane.acked, unacknowledged_charged=True).items():
                figures[key] += value
        verify = subprocess.run([sys.executable, "-m", "gongji.cli", "verify"], env=routed_env(config),
                                cwd=directory, capture_output=True, text=True)
        print(verify.stdout.strip(), file=sys.stderr, flush=True)
        if verify.returncode != 0:  # every province's `gongji verify`, as an operator runs it
            print(verify.stderr.strip()[-2000:], file=sys.stderr, flush=True)
            figures["violations"] = max(figures["violations"], 1)
        print(f"province {KILLED}: {killed.failures} requests failed and were retried {killed.kinds},"
              f" {killed.refused} refused;"
              f" province {OTHER}: {lanes[OTHER].failures} failed, {lanes[OTHER].refused} refused",
              file=sys.stderr, flush=True)
        result = {"kills": args.kills, "acknowledged": sum(len(x.acked) for x in lanes.values()), **figures,
                  "max_unavailable_s": round(max_gap(killed.acked_at, start, end), 1),
                  "other_province_errors": lanes[OTHER].failures + lanes[OTHER].refused}
    finally:
        stop.set()
        if server is not None:
            server.stop()
        if own:
            commands.down(directory, purge=True, timeout=15)
            shutil.rmtree(directory, ignore_errors=True)
        else:
            print(f"the cluster keeps running: gongji cluster down --dir {directory}", file=sys.stderr, flush=True)
    if args.readme:
        command = " ".join(["python -m bench.failover", *(a for a in (argv if argv is not None else sys.argv[1:])
                                                           if a != "--readme")])
        write_line("failover", f"{args.kills} kills", f"`{command}` → `{json.dumps(result)}`")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    try:
        main()
    except commands.ClusterError as e:
        print(f"failover bench failed: {e}", file=sys.stderr)
        if e.log:
            print(e.log, file=sys.stderr)
        sys.exit(1)
