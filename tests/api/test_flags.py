"""/api/v1/flags on both databases: the list with its filters within the caller's area, one flag
with amounts as yuan text, the decision and its refusals as problem+json, the sanction in one
step, and the rights (auditors read; persons and institutions are refused)."""

from __future__ import annotations

from datetime import date

from gongji.service import security
from tests.api.test_rest import VISIT, family, ok, problem
from tests.service.flags import add_flag


def setup_flags(api):
    family(api)  # P1 (holder) and P2 bound, H1, in 652801; today 2025-01-07
    setl = ok(api.inst("H1").post("/api/v1/settlements", json={"visit": VISIT}, headers={"Idempotency-Key": "f1"}))
    engine = api.service.engine
    ids = {"family": add_flag(engine, subject="family:P1", psn_nos=["P2"], evidence=[setl["setl_id"]],
                              found_on=date(2025, 1, 6), fixmedins="H1"),
           "low": add_flag(engine, subject="person:P2", severity="low", rule="high_frequency",
                           found_on=date(2025, 1, 5)),
           "far": add_flag(engine, subject="institution:WS1", psn_nos=[], admdvs="532601", found_on=date(2025, 1, 1))}
    api.passwords["far_clerk"] = api.service.secure(security.add_staff, "far_clerk", "clerk", "5326")
    return ids, setl["setl_id"], api.login("staff", "far_clerk", api.passwords["far_clerk"])


def test_list_detail_decision_and_sanction(api) -> None:
    ids, setl_id, far = setup_flags(api)
    listed = ok(api.auditor.get("/api/v1/flags"))
    assert [f["id"] for f in listed["items"]] == [ids["far"], ids["family"], ids["low"]]
    assert listed["items"][1]["amount"] == "1600.00" and listed["items"][1]["rule_name"] == "拆分结算"
    assert [f["id"] for f in ok(far.get("/api/v1/flags"))["items"]] == [ids["far"]]
    assert [f["id"] for f in ok(api.clerk.get("/api/v1/flags", params={"severity": "low"}))["items"]] == [ids["low"]]
    assert ok(api.clerk.get("/api/v1/flags", params={"rule": "quota_sweep"}))["total"] == 0
    problem(api.clerk.get("/api/v1/flags", params={"state": "maybe"}), 422, "INVALID_INPUT")

    one = ok(api.supervisor.get(f"/api/v1/flags/{ids['family']}"))
    assert [e["setl_id"] for e in one["evidence"]] == [setl_id]
    assert one["evidence"][0]["items"] and one["evidence"][0]["acct_mulaid_pay"].count(".") == 1
    assert {(b["holder"], b["beneficiary"]) for b in one["bindings"]} == {("P1", "P2")}
    assert {u["psn_no"] for u in one["usage"]} == {"P1", "P2"}
    assert problem(far.get(f"/api/v1/flags/{ids['family']}"), 404, "UNKNOWN_FLAG")["detail"].startswith("查无此监管线索")
    problem(api.clerk.get("/api/v1/flags/99999"), 404, "UNKNOWN_FLAG")

    decision = f"/api/v1/flags/{ids['family']}/decision"
    problem(api.clerk.post(decision, json={"decision": "confirm", "reason": ""}), 422, "INVALID_INPUT")
    problem(api.clerk.post(decision, json={"decision": "maybe", "reason": "x"}), 422, "INVALID_INPUT")
    assert "200" in problem(api.clerk.post(decision, json={"decision": "confirm", "reason": "理" * 201}), 422,
                            "INVALID_INPUT")["detail"]
    problem(far.post(decision, json={"decision": "confirm", "reason": "核实"}), 403, "FORBIDDEN")
    problem(api.auditor.post(decision, json={"decision": "confirm", "reason": "核实"}), 403, "FORBIDDEN")
    problem(api.supervisor.post(f"/api/v1/flags/{ids['family']}/sanction", json={}), 409, "NOT_PENDING")
    assert ok(api.clerk.post(decision, json={"decision": "confirm", "reason": "核实为套现"}))["state"] == "confirmed"
    assert "已处理" in problem(api.clerk.post(decision, json={"decision": "exclude", "reason": "再议"}),
                            409, "NOT_PENDING")["detail"]

    sanction = f"/api/v1/flags/{ids['family']}/sanction"
    problem(api.clerk.post(sanction, json={}), 403, "FORBIDDEN")
    out = ok(api.supervisor.post(sanction, json={"to": "2025-06-30", "reason": "转卖药品"}))
    assert (out["state"], out["psn_no"], out["from"], out["to"], out["reason"]) == \
        ("sanctioned", "P1", "2025-01-07", "2025-06-30", "转卖药品")
    assert ok(api.clerk.get(f"/api/v1/flags/{ids['family']}"))["sanction_id"] == out["sanction_id"]
    actions = {(e["action"], e["target"]) for e in ok(api.auditor.get("/api/v1/audit", params={"limit": 20}))["items"]}
    assert {("decide_flag", f"flag:{ids['family']}"), ("sanction_flag", f"flag:{ids['family']}"),
            ("sanction", "P1")} <= actions


def test_persons_and_institutions_never_see_a_flag(api) -> None:
    ids, _, _ = setup_flags(api)
    for client in (api.person("P1"), api.person("P2"), api.inst("H1"), api.admin):
        for method, path in (("GET", "/api/v1/flags"), ("GET", f"/api/v1/flags/{ids['low']}"),
                             ("POST", f"/api/v1/flags/{ids['low']}/decision"),
                             ("POST", f"/api/v1/flags/{ids['low']}/sanction")):
            r = client.request(method, path, json={"decision": "exclude", "reason": "x"} if method == "POST" else None)
            assert r.status_code == 403, (method, path, r.status_code)
    assert api.anon.get("/api/v1/flags").status_code == 401
