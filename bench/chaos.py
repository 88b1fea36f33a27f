"""Crash test: the HTTP server as a child process under load, SIGKILLed at random moments.

Clients settle with idempotency keys and retry every request that got no answer (connection
refused, reset, 5xx) with the same key, as a cashier's system would. After N kills and restarts
the database must hold every acknowledged settlement exactly once, with the acknowledged amounts,
and pass ``gongji verify``. The last line printed is JSON:

    {"kills": N, "acknowledged": A, "lost": 0, "double_charged": 0, "violations": 0}

    python -m bench.chaos --kills 20 [--db URL] [--clients 8] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from gongji.client import InstitutionAuth
from gongji.service import commands as c
from gongji.service import security
from gongji.service.facade import Service
from gongji.store import models as m
from gongji.store.db import make_engine, migrate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, db: str, port: int) -> None:
        self.db, self.port, self.proc = db, port, None
        self.base = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "gongji.cli", "serve", "--db", self.db,
                                      "--port", str(self.port)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not come up")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def setup(db: str, run: str, families: int) -> tuple[str, str, list[str]]:
    engine = make_engine(db)
    migrate(engine)
    svc = Service(engine)
    inst = f"K{run}"
    svc.register_institution(c.RegisterInstitution(code=inst, level=1, admdvs="652801", kind="hospital"))
    secret = svc.secure(security.new_institution_secret, inst)
    patients = []
    for f in range(families):
        holder = f"{run}H{f}"
        svc.register_person(c.RegisterPerson(psn_no=holder, insutype="310", insu_admdvs="652801", balance="3000.00"))
        for k in range(2):
            ben = f"{run}B{f}{k}"
            svc.register_person(c.RegisterPerson(psn_no=ben, insutype="390", insu_admdvs="652801"))
            applied = svc.apply(c.Apply(holder=holder, beneficiary=ben, relation="child", channel="offline"))
            svc.review(c.Review(binding_id=applied["id"], decision="approve"))
            patients.append(ben)
    engine.dispose()
    return inst, secret, patients


def client(base: str, inst: str, secret: str, patients: list[str], rng: random.Random, run: str, n: int,
           stop: threading.Event, acked: dict, lock: threading.Lock) -> None:
    http = httpx.Client(base_url=base, auth=InstitutionAuth(inst, secret), timeout=10)
    i = 0
    while not stop.is_set():
        key = f"{run}-{n}-{i}"
        visit = {"psn_no": rng.choice(patients), "fixmedins": inst, "med_type": "11",
                 "items": [{"code": "X", "name": "检查", "list_class": "A", "category": "exam",
                            "amount": f"{rng.randint(150, 900)}.{rng.randrange(100):02d}"}]}
        while True:  # the same key until an answer arrives
            try:
                r = http.post("/api/v1/settlements", json={"visit": visit}, headers={"Idempotency-Key": key})
            except httpx.HTTPError:
                time.sleep(0.05)
                continue
            if r.status_code >= 500:
                time.sleep(0.05)
                continue
            if r.status_code == 200:
                with lock:
                    acked[key] = r.json()
            break
        i += 1
    http.close()


def check(db: str, inst: str, acked: dict, unacknowledged_charged: bool = False) -> dict:
    """Each acknowledged settlement there once with its amount, and verify. With
    ``unacknowledged_charged`` a settlement whose key was never acknowledged counts as charged
    twice over (bench.failover: its cashiers retry until answered)."""
    engine = make_engine(db)
    svc = Service(engine)
    lost = double = 0
    with engine.connect() as conn:
        rows = {k: (sid, amt) for k, sid, amt in conn.execute(
            select(m.Settlement.idem_key, m.Settlement.id, m.Settlement.acct_mulaid_pay)
            .where(m.Settlement.fixmedins == inst))}
        per_key = conn.execute(select(func.count()).select_from(
            select(m.Settlement.idem_key).where(m.Settlement.fixmedins == inst)
            .group_by(m.Settlement.idem_key).having(func.count() > 1).subquery())).scalar()
        entries = conn.execute(select(func.count()).select_from(
            select(m.Journal.settlement_id).where(m.Journal.kind == "settle")
            .group_by(m.Journal.settlement_id).having(func.count() > 1).subquery())).scalar()
    for key, body in acked.items():
        row = rows.get(key)
        if row is None or m.setl_id_of(row[0]) != body["setl_id"] \
                or row[1] != int(body["acct_mulaid_pay"].replace(".", "")):
            lost += 1
    double = per_key + entries + (len(set(rows) - set(acked)) if unacknowledged_charged else 0)
    violations = len(svc.verify())
    engine.dispose()
    return {"lost": lost, "double_charged": double, "violations": violations}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--db", default=None, help="database URL; default a new SQLite file")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--families", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    tmp = tempfile.TemporaryDirectory()
    db = args.db or str(Path(tmp.name) / "chaos.db")
    run = secrets.token_hex(3).upper()
    inst, secret, patients = setup(db, run, args.families)
    server = Server(db, free_port())
    server.start()
    stop, lock, acked = threading.Event(), threading.Lock(), {}
    threads = [threading.Thread(target=client, args=(server.base, inst, secret, patients,
                                                     random.Random(rng.random()), run, n, stop, acked, lock))
               for n in range(args.clients)]
    for t in threads:
        t.start()
    for k in range(args.kills):
        time.sleep(rng.uniform(0.2, 1.0))
        server.kill()
        print(f"kill {k + 1}/{args.kills}: {len(acked)} acknowledged so far", file=sys.stderr, flush=True)
        server.start()
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    server.kill()
    result = {"kills": args.kills, "acknowledged": len(acked), **check(db, inst, acked)}
    tmp.cleanup()
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
