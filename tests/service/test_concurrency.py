"""32 settlements at once against one holder near every cap, each sent twice: no cap overrun,
no negative balance, each key charged once, and ``verify`` clean — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from gongji.service.uow import run
from gongji.store import models as m
from tests.service.helpers import family, service, visit

# Each visit: level-1 clinic, resident: (600 − 100) × 60% = 300 pooled, 300 left for mutual-aid.
# 4 beneficiaries × 8 visits × 300 = 9600 asked; each beneficiary may receive 2000 a year
# (8000 in all); the holder may pay 5000 a year, and has the balance below.


@pytest.mark.parametrize("balance, paid", [("5200.00", 500000), ("4700.00", 470000)],
                         ids=["holder-cap-binds", "balance-binds"])
def test_32_concurrent_settlements(engine, balance: str, paid: int) -> None:
    svc = service(engine)
    kids = family(svc, balance)
    jobs = [(f"k{i}", visit(kids[i % 4], "600.00")) for i in range(32)]
    jobs = jobs + jobs  # every request also retried, concurrently
    barrier = threading.Barrier(len(jobs))

    def settle(job):
        barrier.wait()
        return svc.settle(*job)

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(settle, jobs))

    by_key: dict[str, dict] = {}
    for (key, _), r in zip(jobs, results, strict=False):
        assert by_key.setdefault(key, r) == r, "a retry must return the first result"

    def totals(uow):
        s = uow.session
        return (s.scalar(select(func.count()).select_from(m.Settlement)),
                s.scalar(select(func.sum(m.Settlement.acct_mulaid_pay))),
                s.scalar(select(m.Account.balance).where(m.Account.psn_no == "A")),
                dict(s.execute(select(m.YearUsage.psn_no, m.YearUsage.mulaid_received)).all()))

    count, mulaid, holder_balance, received = run(engine, totals, write=False)
    assert count == 32
    assert mulaid == paid  # the binding limit is reached exactly, never passed
    assert holder_balance == int(balance.replace(".", "")) - paid >= 0
    assert all(v <= 200000 for v in received.values())
    assert sum(int(r["acct_mulaid_pay"].replace(".", "")) for r in by_key.values()) == paid
    assert svc.verify() == []
