"""Binding routes over HTTP, REST and pages, on SQLite and PostgreSQL: an old binding id is
refused and the newer row and the audit trail stay as they were; an insured person withdraws and
unbinds only what is theirs; a person applying online is not told another person's state."""

from __future__ import annotations

import re

from tests.api.test_rest import family, ok, problem


def reapplied(api) -> tuple[int, int]:
    """P1 → P3: a first application rejected, then a second one, pending."""
    ok(api.clerk.post("/api/v1/persons", json={"psn_no": "P3", "insutype": "390", "insu_admdvs": "652801"}), 201)
    first = ok(api.clerk.post("/api/v1/bindings", json={"holder": "P1", "beneficiary": "P3", "relation": "child",
                                                        "channel": "offline"}), 201)["id"]
    ok(api.clerk.post(f"/api/v1/bindings/{first}/review", json={"decision": "reject", "reason": "材料不全"}))
    second = ok(api.person("P1").post("/api/v1/bindings", json={"holder": "P1", "beneficiary": "P3", "relation": "child",
                                                                "channel": "online"}), 201)["id"]
    return first, second


def state(api) -> tuple:
    """The P1 → P3 rows as stored, and the audit trail's length and last entry."""
    rows = ok(api.clerk.get("/api/v1/bindings", params={"holder": "P1", "beneficiary": "P3"}))["items"]
    trail = ok(api.auditor.get("/api/v1/audit", params={"limit": 1}))
    return rows, trail["total"], trail["items"][0]["hash"]


def flash(r) -> str:
    """The error banner of the page a form was sent back to."""
    assert r.status_code == 200 and r.history and r.history[0].status_code == 303, r.text[:200]
    found = re.search(r'class="flash bad"[^>]*>(.*?)</div>', r.text, re.S)
    assert found, "no error banner"
    return found.group(1).strip()


def refused(r) -> str:
    """The refusal beside a form shown again as typed (422, no redirect)."""
    assert r.status_code == 422 and not r.history, r.text[:200]
    found = re.search(r'class="flash bad"[^>]*id="[a-z]+-refused">(.*?)</p>', r.text, re.S)
    assert found, "no refusal beside the form"
    return found.group(1).strip()


def test_an_old_binding_id_is_refused_over_rest(api) -> None:
    family(api)
    first, second = reapplied(api)
    before = state(api)
    assert [(b["id"], b["state"]) for b in before[0]] == [(first, "rejected"), (second, "pending")]
    for who, action, status, code in (("clerk", "review", 409, "NOT_PENDING"), ("clerk", "withdraw", 409, "NOT_PENDING"),
                                      ("P1", "withdraw", 409, "NOT_PENDING"), ("P1", "unbind", 404, "NO_SUCH_BINDING")):
        client = api.clerk if who == "clerk" else api.person(who)
        body = {"decision": "approve"} if action == "review" else None
        problem(client.post(f"/api/v1/bindings/{first}/{action}", json=body), status, code)
        assert state(api) == before, f"{action} of the old id as {who} changed the newer row or the audit trail"
    approved = ok(api.clerk.post(f"/api/v1/bindings/{second}/review", json={"decision": "approve"}))
    assert approved["id"] == second and approved["state"] == "approved"


def test_an_old_binding_id_is_refused_on_the_pages(api) -> None:
    family(api)
    first, second = reapplied(api)
    before = state(api)
    desk = api.clerk.post(f"/desk/bindings/{first}/review", data={"decision": "approve"})
    assert "未通过" in flash(desk)
    portal = api.person("P1").post(f"/portal/bindings/{first}/withdraw")
    assert "未通过" in flash(portal)
    assert state(api) == before


def test_only_the_holder_withdraws_an_application(api) -> None:
    family(api)
    _, pending = reapplied(api)
    ok(api.clerk.post("/api/v1/persons", json={"psn_no": "X", "insutype": "390", "insu_admdvs": "652801"}), 201)
    api.person("P3"), api.person("X")  # logged in (and audited) before the count
    before = state(api)
    for who in ("P3", "X"):  # the beneficiary; a stranger
        problem(api.person(who).post(f"/api/v1/bindings/{pending}/withdraw"), 403, "FORBIDDEN")
        assert "只有主账户人本人可以撤回该申请" in flash(api.person(who).post(f"/portal/bindings/{pending}/withdraw"))
    assert state(api) == before
    assert ok(api.person("P1").post(f"/api/v1/bindings/{pending}/withdraw"))["state"] == "withdrawn"


def test_either_party_may_unbind_a_stranger_may_not(api) -> None:
    bound = family(api)
    ok(api.clerk.post("/api/v1/persons", json={"psn_no": "X", "insutype": "390", "insu_admdvs": "652801"}), 201)
    problem(api.person("X").post(f"/api/v1/bindings/{bound}/unbind"), 403, "FORBIDDEN")
    assert "只能解除本人" in flash(api.person("X").post(f"/portal/bindings/{bound}/unbind"))
    assert ok(api.person("P2").post(f"/api/v1/bindings/{bound}/unbind"))["state"] == "unbound"


def test_an_online_applicant_is_not_told_the_other_persons_state(api) -> None:
    family(api)  # P1 holds P2; P2 may have one holder only
    for no, admdvs in (("Q1", "652801"), ("DEAD", "652801"), ("FAR", "532601")):
        insutype = "310" if no == "Q1" else "390"
        ok(api.clerk.post("/api/v1/persons", json={"psn_no": no, "insutype": insutype, "insu_admdvs": admdvs}), 201)
    ok(api.supervisor.post("/api/v1/persons/DEAD/status", json={"status": "deceased"}))
    precise = {"NOBODY": (404, "UNKNOWN_PERSON"), "DEAD": (422, "PERSON_DECEASED"), "P2": (409, "ALREADY_BOUND"),
               "FAR": (422, "BENEFICIARY_REGION")}
    rest, pages = [], []
    for no, (status, code) in precise.items():
        body = {"holder": "Q1", "beneficiary": no, "relation": "child", "channel": "online"}
        problem(api.clerk.post("/api/v1/bindings", json=body), status, code)
        rest.append(problem(api.person("Q1").post("/api/v1/bindings", json=body), 422, "BINDING_REFUSED"))
        pages.append(refused(api.person("Q1").post("/portal/apply", data={
            "beneficiary": no, "relation": "child", "face_check": "1", "e_commitment": "1"})))
    assert all(r == rest[0] for r in rest) and rest[0]["detail"] == "无法为该人员办理绑定,请核对后到经办机构窗口办理"
    assert all(p == pages[0] for p in pages) and "无法为该人员办理绑定" in pages[0]
    assert ok(api.clerk.get("/api/v1/bindings", params={"holder": "Q1"}))["total"] == 0
