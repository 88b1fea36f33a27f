"""The REST API over HTTP (TestClient), on SQLite and PostgreSQL: the spec's worked example as an
institution would send it, retries, reversal, the review queue, accounts, errors as problem+json."""

from __future__ import annotations

from datetime import date

WORKED_ITEMS = [
    {"code": "X1", "name": "血常规", "list_class": "A", "category": "exam", "amount": "300.00"},
    {"code": "X2", "name": "阿莫西林", "list_class": "B", "category": "drug", "amount": "100.00", "selfpay_prop": "0.10"},
    {"code": "X3", "name": "自费营养品", "list_class": "C", "category": "drug", "amount": "50.00"},
]
VISIT = {"psn_no": "P2", "fixmedins": "H1", "med_type": "11", "items": WORKED_ITEMS}


def ok(r, status=200) -> dict:
    assert r.status_code == status, r.text
    return r.json()


def problem(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code and body["status"] == status and body["type"] == f"/problems/{code}"
    return body


def family(api) -> int:
    inst = ok(api.admin.post("/api/v1/institutions", json={"code": "H1", "level": 2, "admdvs": "652801", "kind": "hospital"}), 201)
    assert len(inst["secret"]) == 64
    ok(api.supervisor.post("/api/v1/persons", json={"psn_no": "P1", "insutype": "310", "insu_admdvs": "652801",
                                              "balance": "3000.00", "name": "王建国",
                                              "certno": "652801198001011238", "phone": "13912345678"}), 201)
    ok(api.clerk.post("/api/v1/persons", json={"psn_no": "P2", "insutype": "390", "insu_admdvs": "652801"}), 201)
    api.clock.day = date(2025, 1, 3)
    b = ok(api.person("P1").post("/api/v1/bindings", json={"holder": "P1", "beneficiary": "P2", "relation": "parent",
                                              "channel": "online", "face_check": True}), 201)
    assert b["review_due"] == "2025-01-08" and b["state"] == "pending"
    api.clock.day = date(2025, 1, 6)
    ok(api.clerk.post(f"/api/v1/bindings/{b['id']}/review", json={"decision": "approve"}))
    api.clock.day = date(2025, 1, 7)
    return b["id"]


def test_settle_retry_reverse_over_http(api) -> None:
    family(api)
    preview = ok(api.inst("H1").post("/api/v1/settlements/preview", json={"visit": VISIT}))
    assert preview["acct_mulaid_pay"] == "255.00" and "setl_id" not in preview
    first = ok(api.inst("H1").post("/api/v1/settlements", json={"visit": VISIT}, headers={"Idempotency-Key": "k1"}))
    assert (first["hifp_pay"], first["acct_mulaid_pay"], first["psn_cash_pay"]) == ("145.00", "255.00", "50.00")
    assert ok(api.inst("H1").post("/api/v1/settlements", json={"visit": VISIT}, headers={"Idempotency-Key": "k1"})) == first
    other = dict(VISIT, items=WORKED_ITEMS[:1])
    problem(api.inst("H1").post("/api/v1/settlements", json={"visit": other}, headers={"Idempotency-Key": "k1"}),
            409, "IDEMPOTENCY_CONFLICT")
    problem(api.inst("H1").post("/api/v1/settlements", json={"visit": VISIT}), 422, "INVALID_INPUT")
    assert ok(api.person("P1").get("/api/v1/accounts/P1"))["balance"] == "2745.00"
    got = ok(api.inst("H1").get(f"/api/v1/settlements/{first['setl_id']}"))
    assert got["state"] == "settled" and len(got["items"]) == 3 and got["items"][1]["selfpay_prop"] == "1/10"
    rev = ok(api.inst("H1").post(f"/api/v1/settlements/{first['setl_id']}/reverse", headers={"Idempotency-Key": "r1"}))
    assert ok(api.inst("H1").post(f"/api/v1/settlements/{first['setl_id']}/reverse", headers={"Idempotency-Key": "r1"})) == rev
    problem(api.inst("H1").post(f"/api/v1/settlements/{first['setl_id']}/reverse"), 409, "ALREADY_REVERSED")
    problem(api.inst("H1").get("/api/v1/settlements/S99999999"), 404, "UNKNOWN_SETTLEMENT")
    problem(api.inst("H1").get("/api/v1/settlements/garbage"), 404, "UNKNOWN_SETTLEMENT")
    assert ok(api.person("P1").get("/api/v1/accounts/P1"))["balance"] == "3000.00"
    tx = ok(api.person("P1").get("/api/v1/accounts/P1/transactions"))
    assert [(t["kind"], t["amount"]) for t in tx["items"]] == [("reverse", "255.00"), ("settle", "-255.00"),
                                                                ("opening", "3000.00")]
    metrics = api.anon.get("/metrics").text
    assert 'gongji_settlements_total{outcome="settled"} 1.0' in metrics
    assert 'gongji_settlements_total{outcome="replayed"} 1.0' in metrics
    assert "gongji_mulaid_paid_fen_total 25500.0" in metrics
    assert api.service.verify() == []


def test_accounts_show_caps_and_masked_identity(api) -> None:
    family(api)
    ok(api.inst("H1").post("/api/v1/settlements", json={"visit": VISIT}, headers={"Idempotency-Key": "k1"}))
    person = ok(api.person("P1").get("/api/v1/persons/P1"))
    assert (person["certno"], person["phone"], person["name"]) == ("652801198001011238", "13912345678", "王建国")
    assert ok(api.auditor.get("/api/v1/persons/P1"))["certno"] == "652801198001011238"
    problem(api.person("P2").get("/api/v1/persons/P1"), 403, "FORBIDDEN")
    problem(api.person("P2").get("/api/v1/accounts/P1"), 403, "FORBIDDEN")  # never the holder's balance
    ben = ok(api.person("P2").get("/api/v1/accounts/P2"))
    assert ben["has_account"] is False and ben["caps"]["beneficiary_year"] == {"cap": "2000.00", "used": "255.00", "left": "1745.00"}
    holder = ok(api.person("P1").get("/api/v1/accounts/P1"))
    assert holder["caps"]["holder_year"] == {"cap": "5000.00", "used": "255.00", "left": "4745.00"}
    assert holder["caps"]["settlement"] == {"cap": "2000.00"}
    auth = ok(api.person("P2").get("/api/v1/accounts/P2/authorisations"))
    assert auth["total"] == 1 and auth["items"][0]["holder"] == "P1"
    paid = ok(api.person("P1").get("/api/v1/accounts/P1/settlements", params={"role": "payer"}))
    assert paid["total"] == 1 and paid["items"][0]["mulaid_detail"] == [{"holder": "P1", "amount": "255.00"}]
    problem(api.person("P1").get("/api/v1/accounts/P1/transactions", params={"limit": 0}), 422, "INVALID_INPUT")
    problem(api.clerk.get("/api/v1/accounts/NOPE"), 404, "UNKNOWN_PERSON")


def test_review_queue_withdraw_unbind_freeze_over_http(api) -> None:
    bid = family(api)
    ok(api.clerk.post("/api/v1/persons", json={"psn_no": "P3", "insutype": "390", "insu_admdvs": "652801"}), 201)
    ok(api.clerk.post("/api/v1/persons", json={"psn_no": "Q1", "insutype": "310", "insu_admdvs": "652801"}), 201)
    problem(api.clerk.post("/api/v1/bindings", json={"holder": "Q1", "beneficiary": "P2", "relation": "child",
                                               "channel": "online"}), 409, "ALREADY_BOUND")
    b3 = ok(api.clerk.post("/api/v1/bindings", json={"holder": "P1", "beneficiary": "P3", "relation": "child",
                                               "channel": "offline", "materials": ["家庭共济申请表"]}), 201)
    assert b3["review_due"] == "2025-01-10"
    api.clock.day = date(2025, 1, 13)
    queue = ok(api.clerk.get("/api/v1/bindings", params={"state": "pending"}))
    assert [(x["beneficiary"], x["overdue"]) for x in queue["items"]] == [("P3", True)]
    assert ok(api.clerk.get("/api/v1/bindings", params={"overdue": "false"}))["total"] == 0
    ok(api.clerk.post(f"/api/v1/bindings/{b3['id']}/withdraw"))
    problem(api.clerk.post(f"/api/v1/bindings/{b3['id']}/withdraw"), 409, "NOT_PENDING")
    problem(api.clerk.post(f"/api/v1/bindings/{bid}/review", json={"decision": "reject"}), 409, "NOT_PENDING")
    problem(api.clerk.post("/api/v1/bindings/999/review", json={"decision": "approve"}), 404, "NO_SUCH_BINDING")
    assert ok(api.person("P1").post("/api/v1/accounts/P1/freeze"))["mulaid_frozen"] is True
    frozen = ok(api.inst("H1").post("/api/v1/settlements/preview", json={"visit": VISIT}))
    assert frozen["codes"] == ["FROZEN"] and frozen["acct_mulaid_pay"] == "0.00"
    ok(api.person("P1").post("/api/v1/accounts/P1/unfreeze"))
    u = ok(api.person("P1").post(f"/api/v1/bindings/{bid}/unbind"))
    assert u["last_day"] == "2025-01-13"
    api.clock.day = date(2025, 1, 14)
    assert ok(api.inst("H1").post("/api/v1/settlements/preview", json={"visit": VISIT}))["codes"] == ["NOT_BOUND"]


def test_lifecycle_filings_sanctions_credits_over_http(api) -> None:
    family(api)
    ok(api.person("P2").post("/api/v1/filings", json={"psn_no": "P2", "admdvs": "650100", "from": "2025-01-01", "to": "2025-12-31"}), 201)
    s = ok(api.supervisor.post("/api/v1/sanctions", json={"psn_no": "P2", "from": "2025-01-07", "to": "2025-01-31", "reason": "套现"}), 201)
    assert s["reason"] == "套现"
    assert ok(api.inst("H1").post("/api/v1/settlements/preview", json={"visit": VISIT}))["codes"] == ["SANCTIONED"]
    assert ok(api.supervisor.post("/api/v1/accounts/P1/credits", json={"amount": "10.50"}))["balance"] == "3010.50"
    problem(api.supervisor.post("/api/v1/accounts/P1/credits", json={"amount": 10.5}), 422, "INVALID_INPUT")
    st = ok(api.supervisor.post("/api/v1/persons/P2/status", json={"status": "deceased"}))
    assert st["quota_zeroed"] == {"received": "2000.00"} and st["bindings_ended"] == [{"holder": "P1", "beneficiary": "P2"}]
    problem(api.inst("H1").post("/api/v1/settlements", json={"visit": VISIT}, headers={"Idempotency-Key": "d1"}), 422, "PERSON_DECEASED")


def test_bad_input_is_a_problem_naming_the_field(api) -> None:
    family(api)
    r = api.inst("H1").post("/api/v1/settlements/preview", json={"visit": dict(VISIT, items=[dict(WORKED_ITEMS[0], amount=300.5)])})
    body = problem(r, 422, "INVALID_INPUT")
    assert body["field"] == "visit.items[0].amount" and "float" in body["detail"]
    body = problem(api.clerk.post("/api/v1/persons", json={"psn_no": "X", "insutype": "310", "insu_admdvs": "652801",
                                                     "certno": "110105194912310021"}), 422, "INVALID_INPUT")
    assert body["field"] == "certno"
    problem(api.clerk.post("/api/v1/persons", json={"psn_no": "P1", "insutype": "310", "insu_admdvs": "652801"}),
            409, "ALREADY_REGISTERED")
    problem(api.anon.get("/api/v1/nothing-here"), 404, "NOT_FOUND")
    body = problem(api.anon.post("/api/v1/calc", json={"region": "652800"}), 422, "INVALID_INPUT")
    assert body["field"] == "date"


def test_calc_health_and_openapi(api) -> None:
    import json
    from pathlib import Path
    doc = json.loads((Path(__file__).parent.parent / "data" / "bayingolin-worked.json").read_text(encoding="utf-8"))
    out = ok(api.anon.post("/api/v1/calc", json=doc))
    assert {k: out[k] for k in doc["expect"]} == doc["expect"]
    assert ok(api.anon.get("/healthz")) == {"status": "ok"}
    family(api)
    assert ok(api.anon.get("/api/v1/institutions/H1")) == {"code": "H1", "name": "", "level": 2, "admdvs": "652801",
                                                       "kind": "hospital"}
    problem(api.anon.get("/api/v1/institutions/NOPE"), 404, "UNKNOWN_INSTITUTION")
    spec = ok(api.anon.get("/openapi.json"))
    assert "/api/v1/settlements" in spec["paths"]
    assert api.anon.get("/docs").status_code == 200
