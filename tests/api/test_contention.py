"""32 concurrent HTTP clients, each its own connection, settling against one holder near every
cap through a real server: no overrun, no negative balance, no 5xx, each key charged once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from gongji.client import InstitutionAuth
from gongji.service import security
from tests.api.server import serving
from tests.api.test_rest import ok

CLIENTS = 32


def test_32_http_clients_against_one_holder(api) -> None:
    ok(api.admin.post("/api/v1/institutions", json={"code": "C1", "level": 1, "admdvs": "652801", "kind": "hospital"}), 201)
    ok(api.supervisor.post("/api/v1/persons", json={"psn_no": "A", "insutype": "310", "insu_admdvs": "652801",
                                                    "balance": "5200.00"}), 201)
    for b in ("B1", "B2", "B3", "B4"):
        ok(api.clerk.post("/api/v1/persons", json={"psn_no": b, "insutype": "390", "insu_admdvs": "652801"}), 201)
        x = ok(api.clerk.post("/api/v1/bindings", json={"holder": "A", "beneficiary": b, "relation": "child",
                                                        "channel": "offline"}), 201)
        ok(api.clerk.post(f"/api/v1/bindings/{x['id']}/review", json={"decision": "approve"}))
    secret = security.institution_secret(api.service.engine, "C1")
    barrier = threading.Barrier(CLIENTS)

    def client_run(i: int) -> list[httpx.Response]:
        visit = {"psn_no": f"B{i % 4 + 1}", "fixmedins": "C1", "med_type": "11",
                 "items": [{"code": "X", "name": "检查", "list_class": "A", "category": "exam", "amount": "600.00"}]}
        with httpx.Client(base_url=base, auth=InstitutionAuth("C1", secret), timeout=60) as c:
            barrier.wait()
            # each client sends its settlement, then retries it (as a cashier would after a timeout)
            return [c.post("/api/v1/settlements", json={"visit": visit}, headers={"Idempotency-Key": f"k{i}"})
                    for _ in range(2)]

    with serving(api.app) as base:
        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = [r for rs in pool.map(client_run, range(CLIENTS)) for r in rs]
    assert [r.status_code for r in answers] == [200] * (2 * CLIENTS), {r.status_code for r in answers}
    first = {}
    for r in answers:
        body = r.json()
        assert first.setdefault(body["setl_id"], body) == body
    assert len(first) == CLIENTS
    paid = sum(int(b["acct_mulaid_pay"].replace(".", "")) for b in first.values())
    assert paid == 500000  # the holder's 5000 a year, exactly
    account = ok(api.clerk.get("/api/v1/accounts/A"))
    assert account["balance"] == "200.00" and account["caps"]["holder_year"]["left"] == "0.00"
    assert api.service.verify() == []
