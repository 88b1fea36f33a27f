"""Staff serve an area: a clerk of 文山 (5326) acts on and reads only persons insured there, and
bindings whose holder or beneficiary is; the queue, dashboard and audit follow. National staff
(the World's clerk1, supervisor1, auditor1) see everything."""

from __future__ import annotations

import pytest

from gongji.service import commands as c
from gongji.service import queries as q
from gongji.service import security
from tests.api.test_rest import ok, problem

WENSHAN = "5326"


def bill(psn_no: str, fixmedins: str) -> c.VisitRef:
    return c.VisitRef(psn_no=psn_no, fixmedins=fixmedins, med_type="11", items=[
        {"code": "X", "name": "检查", "list_class": "A", "category": "exam", "amount": "200.00"}])


@pytest.fixture
def world(api):
    """巴州 A1 → A2, 西双版纳 X1 → 文山 W2 (the beneficiary in 文山), 文山 W1 → W3: all pending;
    each region's clinic has settled one bill; staff of 文山 in every role."""
    s = api.service
    for no, insutype, admdvs in (("A1", "310", "652801"), ("A2", "390", "652801"), ("X1", "310", "532801"),
                                 ("W2", "390", "532601"), ("W1", "310", "532601"), ("W3", "390", "532601")):
        s.register_person(c.RegisterPerson(psn_no=no, insutype=insutype, insu_admdvs=admdvs,
                                           balance="1000.00" if insutype == "310" else "0"))
    ids = {}
    for holder, ben in (("A1", "A2"), ("X1", "W2"), ("W1", "W3")):
        ids[holder] = s.apply(c.Apply(holder=holder, beneficiary=ben, relation="child", channel="online",
                                      face_check=True, e_commitment=True))["id"]
    for code, admdvs in (("CA", "652801"), ("CW", "532601")):
        s.register_institution(c.RegisterInstitution(code=code, level=1, admdvs=admdvs, kind="hospital"))
    api.setl = {"A": s.settle("ka", bill("A1", "CA"))["setl_id"], "W": s.settle("kw", bill("W1", "CW"))["setl_id"]}
    for role in ("clerk", "supervisor", "auditor"):
        password = s.secure(security.add_staff, f"ws-{role}", role, WENSHAN)
        setattr(api, f"ws_{role}", api.login("staff", f"ws-{role}", password))
    api.ids = ids
    return api


def state(api, binding_id: int) -> str:
    return next(b["state"] for b in ok(api.clerk.get("/api/v1/bindings"))["items"] if b["id"] == binding_id)


def test_a_clerk_of_wenshan_cannot_review_or_read_bayingolin(world) -> None:
    api = world
    body = problem(api.ws_clerk.post(f"/api/v1/bindings/{api.ids['A1']}/review", json={"decision": "approve"}),
                   403, "FORBIDDEN")
    assert "服务区域" in body["detail"]
    assert state(api, api.ids["A1"]) == "pending"
    for path in ("/api/v1/persons/A1", "/api/v1/accounts/A1", "/api/v1/accounts/A1/transactions",
                 "/api/v1/accounts/A2/authorisations"):
        assert problem(api.ws_clerk.get(path), 404, "UNKNOWN_PERSON")["detail"] == "查无此人"
    problem(api.ws_clerk.get(f"/api/v1/settlements/{api.setl['A']}"), 404, "UNKNOWN_SETTLEMENT")
    problem(api.ws_supervisor.post(f"/api/v1/settlements/{api.setl['A']}/reverse"), 404, "UNKNOWN_SETTLEMENT")
    problem(api.ws_clerk.post("/api/v1/accounts/A1/freeze"), 403, "FORBIDDEN")
    problem(api.ws_supervisor.post("/api/v1/accounts/A1/credits", json={"amount": "5.00"}), 403, "FORBIDDEN")
    problem(api.ws_supervisor.post("/api/v1/persons/A1/status", json={"status": "deceased"}), 403, "FORBIDDEN")
    problem(api.ws_supervisor.post("/api/v1/sanctions", json={"psn_no": "A1", "from": "2025-01-02",
                                                              "to": "2025-01-03", "reason": "套现"}), 403, "FORBIDDEN")
    problem(api.ws_clerk.post("/api/v1/persons", json={"psn_no": "A9", "insutype": "390",
                                                       "insu_admdvs": "652801"}), 403, "FORBIDDEN")
    a1 = ok(api.clerk.get("/api/v1/persons/A1"))
    assert (a1["status"], a1["mulaid_frozen"]) == ("active", False)
    assert ok(api.clerk.get("/api/v1/accounts/A1"))["balance"] == "800.00"  # 1000 less the one bill
    # their own area works as before
    ok(api.ws_clerk.post("/api/v1/persons", json={"psn_no": "W9", "insutype": "390", "insu_admdvs": "532622"}), 201)
    assert ok(api.ws_clerk.get("/api/v1/persons/W1"))["insu_admdvs"] == "532601"
    assert ok(api.ws_clerk.get(f"/api/v1/settlements/{api.setl['W']}"))["psn_no"] == "W1"
    ok(api.ws_clerk.post(f"/api/v1/bindings/{api.ids['W1']}/review", json={"decision": "approve"}))


def test_a_binding_with_the_beneficiary_in_the_area_is_theirs(world) -> None:
    api = world
    pending = ok(api.ws_clerk.get("/api/v1/bindings", params={"state": "pending"}))
    assert {b["id"] for b in pending["items"]} == {api.ids["X1"], api.ids["W1"]} and pending["total"] == 2
    assert ok(api.clerk.get("/api/v1/bindings", params={"state": "pending"}))["total"] == 3  # national
    problem(api.ws_clerk.get("/api/v1/persons/X1"), 404, "UNKNOWN_PERSON")  # the holder is not theirs
    ok(api.ws_clerk.post(f"/api/v1/bindings/{api.ids['X1']}/review", json={"decision": "approve"}))
    assert state(api, api.ids["X1"]) == "approved"


def test_dashboard_and_audit_follow_the_area(world) -> None:
    api = world
    s = api.service
    mine = s.read(q.dashboard, s.registry, s.clock(), area=WENSHAN)
    everyone = s.read(q.dashboard, s.registry, s.clock())
    assert sum(n for _, n in mine["daily"]) == 1 and sum(n for _, n in everyone["daily"]) == 2
    assert [name for name, _ in mine["regions"]] == ["文山壮族苗族自治州"] and len(everyone["regions"]) == 4
    page = api.ws_clerk.get("/dashboard")
    assert page.status_code == 200 and "文山" in page.text and "巴州" not in page.text

    seen = ok(api.ws_auditor.get("/api/v1/audit", params={"limit": 200}))
    named = {t for e in seen["items"] for t in e["target"].replace("->", ":").split(":")}
    assert {"W1", "W2", "X1"} <= named and not named & {"A1", "A2"}
    assert f"{api.setl['W']}" not in named  # a settlement names its patient: CW:W1
    everything = ok(api.auditor.get("/api/v1/audit", params={"limit": 200}))
    assert everything["total"] > seen["total"] == len(seen["items"])
    assert {"A1", "A2"} <= {t for e in everything["items"] for t in e["target"].replace("->", ":").split(":")}


def test_a_reversal_is_audited_for_the_patients_area(world) -> None:
    api = world
    ok(api.ws_supervisor.post(f"/api/v1/settlements/{api.setl['W']}/reverse", headers={"Idempotency-Key": "r1"}))
    seen = ok(api.ws_auditor.get("/api/v1/audit", params={"limit": 5}))["items"]
    assert seen[0]["action"] == "reverse" and seen[0]["target"].startswith(api.setl["W"])


def test_the_desk_shows_and_acts_on_the_area_only(world) -> None:
    api = world
    desk = api.ws_clerk.get("/desk")
    assert "W1(未登记姓名) → W3(未登记姓名)" in desk.text and "X1(未登记姓名) → W2(未登记姓名)" in desk.text
    assert "A1(" not in desk.text and "A1(未登记姓名) → A2(未登记姓名)" in api.clerk.get("/desk").text
    r = api.ws_clerk.post(f"/desk/bindings/{api.ids['A1']}/review", data={"decision": "approve"},
                          follow_redirects=False)
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert "不在本经办机构的服务区域" in r.text
    assert state(api, api.ids["A1"]) == "pending"
    refusals = [
        (api.ws_supervisor, "/desk/status", {"psn_no": "A1", "status": "deceased"}),
        (api.ws_supervisor, "/desk/sanction", {"psn_no": "A1", "reason": "套现", "from": "2025-01-02",
                                               "to": "2025-01-03"}),
        (api.ws_clerk, "/desk/offline", {"holder": "A1", "beneficiary": "A2", "relation": "child"}),
        (api.ws_clerk, "/desk/reimburse", {"claim_no": "C1", "visit_on": "2025-01-01", "inst_code": "BJ01",
                                          "inst_name": "北京某医院", "inst_level": "2", "inst_admdvs": "110105",
                                          "psn_no": "A2", "code": "X", "name": "检查", "list_class": "A",
                                          "category": "exam", "amount": "100.00", "selfpay_prop": ""}),
    ]
    for client, path, form in refusals:
        r = client.post(path, data=form, follow_redirects=False)
        assert r.status_code == 403 and "服务区域" in r.text, (path, r.status_code, r.text[:300])
    assert ok(api.clerk.get("/api/v1/persons/A1"))["status"] == "active"
    assert "查无此主账户人" in api.ws_clerk.get("/desk/materials", params={"holder": "A1"}).text
    assert "线下申请材料" in api.ws_clerk.get("/desk/materials", params={"holder": "W1"}).text


def test_staff_are_added_within_the_admins_area(api) -> None:
    password = api.service.secure(security.add_staff, "ws-admin", "admin", WENSHAN)
    ws_admin = api.login("staff", "ws-admin", password)
    assert ok(ws_admin.post("/api/v1/staff", json={"username": "ws2", "role": "clerk"}), 201)["area"] == WENSHAN
    assert ok(ws_admin.post("/api/v1/staff", json={"username": "ws3", "role": "clerk", "area": "532601"}),
              201)["area"] == "532601"
    problem(ws_admin.post("/api/v1/staff", json={"username": "ws4", "role": "clerk", "area": "00"}), 403, "FORBIDDEN")
    problem(ws_admin.post("/api/v1/staff", json={"username": "ws5", "role": "clerk", "area": "6528"}),
            403, "FORBIDDEN")
    problem(api.admin.post("/api/v1/staff", json={"username": "bad", "role": "clerk", "area": "65x8"}),
            422, "INVALID_INPUT")
    problem(api.admin.post("/api/v1/staff", json={"username": "bad", "role": "clerk", "area": "1101"}),
            422, "INVALID_INPUT")  # no region's policy covers Beijing
    assert ok(api.admin.post("/api/v1/staff", json={"username": "nat", "role": "clerk", "area": "00"}),
              201)["area"] == "00"


def test_acts_on_bindings_by_id_are_audited_for_both_areas(world) -> None:
    """A review or unbind names the binding by id: the audit finds its persons' areas through it."""
    api = world
    ok(api.ws_clerk.post(f"/api/v1/bindings/{api.ids['W1']}/review", json={"decision": "approve"}))
    ok(api.ws_clerk.post(f"/api/v1/bindings/{api.ids['W1']}/unbind"))
    ok(api.clerk.post(f"/api/v1/bindings/{api.ids['A1']}/review", json={"decision": "reject", "reason": "材料不全"}))
    seen = {(e["action"], e["target"]) for e in ok(api.ws_auditor.get("/api/v1/audit", params={"limit": 200}))["items"]}
    binding = f"binding:{api.ids['W1']}"
    assert {("review", binding), ("unbind", binding)} <= seen
    assert ("review", f"binding:{api.ids['A1']}") not in seen  # 巴州's, not theirs


def test_reversing_needs_the_patient_in_the_area_not_only_a_payer(world) -> None:
    """W2 (文山) settles and X1 (西双版纳) pays for it: 西双版纳 may read it, only 文山 may reverse it."""
    api = world
    s = api.service
    ok(api.clerk.post(f"/api/v1/bindings/{api.ids['X1']}/review", json={"decision": "approve"}))
    paid = s.settle("kx", bill("W2", "CW"))
    assert paid["mulaid_detail"] and paid["mulaid_detail"][0]["holder"] == "X1"
    password = s.secure(security.add_staff, "xs-sup", "supervisor", "5328")
    xs = api.login("staff", "xs-sup", password)
    assert ok(xs.get(f"/api/v1/settlements/{paid['setl_id']}"))["psn_no"] == "W2"  # a payer's agency reads it
    problem(xs.post(f"/api/v1/settlements/{paid['setl_id']}/reverse"), 403, "FORBIDDEN")
    assert ok(api.clerk.get(f"/api/v1/settlements/{paid['setl_id']}"))["state"] == "settled"
    ok(api.ws_supervisor.post(f"/api/v1/settlements/{paid['setl_id']}/reverse"))
