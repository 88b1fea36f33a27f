"""Four eyes over HTTP and on the pages: a clerk cannot open an account with money, and a large
manual reimbursement pays only when a supervisor who did not enter it approves."""

from __future__ import annotations

from gongji.service import security
from tests.api.test_rest import family, ok, problem

PERSON = {"psn_no": "M1", "insutype": "310", "insu_admdvs": "652801"}


def big_claim(no: str) -> dict:
    """Resident P2 of Bayingolin, level 2: (20000 − 100) × 50% = 9950.00 from the pooled fund; each
    claim its own receipt (one bill is reimbursed once, whatever its claim number)."""
    return {"claim_no": no, "visit_on": "2025-01-06",
            "institution": {"code": "BJ01", "level": 2, "admdvs": "110105", "kind": "hospital"},
            "visit": {"psn_no": "P2", "fixmedins": "BJ01", "med_type": "11", "items": [
                {"code": f"X{no}", "name": "检查", "list_class": "A", "category": "exam", "amount": "20000.00"}]}}


def test_a_clerk_cannot_create_money_at_registration(api) -> None:
    body = problem(api.clerk.post("/api/v1/persons", json=PERSON | {"balance": "999999999999.99"}), 403, "FORBIDDEN")
    assert "主管" in body["detail"] and body["field"] == "balance"
    problem(api.admin.post("/api/v1/persons", json=PERSON | {"balance": "0.01"}), 403, "FORBIDDEN")
    problem(api.supervisor.get("/api/v1/persons/M1"), 404, "UNKNOWN_PERSON")  # nothing written
    problem(api.supervisor.post("/api/v1/persons", json=PERSON | {"balance": "999999999999.99"}),
            422, "INVALID_INPUT")
    ok(api.supervisor.post("/api/v1/persons", json=PERSON | {"balance": "800.00"}), 201)
    assert ok(api.supervisor.get("/api/v1/accounts/M1"))["balance"] == "800.00"
    ok(api.clerk.post("/api/v1/persons", json=PERSON | {"psn_no": "M2", "balance": "0.00"}), 201)
    tx = ok(api.supervisor.get("/api/v1/accounts/M1/transactions"))["items"]
    assert [(t["kind"], t["amount"]) for t in tx] == [("opening", "800.00")]
    assert api.service.verify() == []


def test_a_large_reimbursement_needs_a_second_supervisor(api) -> None:
    family(api)
    second = api.login("staff", "sup2", api.service.secure(security.add_staff, "sup2", "supervisor"))
    pending = ok(api.clerk.post("/api/v1/reimbursements", json=big_claim("R1")), 201)
    assert (pending["state"], pending["hifp_pay"]) == ("pending_approval", "9950.00")
    assert ok(api.clerk.post("/api/v1/reimbursements", json=big_claim("R1")), 201) == pending
    queue = ok(api.clerk.get("/api/v1/reimbursements"))
    assert queue["total"] == 1 and queue["items"][0]["entered_by"] == "staff:clerk1"
    sid = pending["setl_id"]
    problem(api.clerk.post(f"/api/v1/reimbursements/{sid}/approve"), 403, "FORBIDDEN")

    own = ok(api.supervisor.post("/api/v1/reimbursements", json=big_claim("R2")), 201)["setl_id"]
    body = problem(api.supervisor.post(f"/api/v1/reimbursements/{own}/approve"), 403, "FORBIDDEN")
    assert "录入人不能复核" in body["detail"]
    problem(api.supervisor.post(f"/api/v1/reimbursements/{own}/reject"), 403, "FORBIDDEN")

    paid = ok(second.post(f"/api/v1/reimbursements/{own}/approve"))
    assert (paid["state"], paid["decided_on"]) == ("settled", "2025-01-07")
    problem(api.supervisor.post(f"/api/v1/reimbursements/{own}/reject"), 403, "FORBIDDEN")
    problem(second.post(f"/api/v1/reimbursements/{own}/reject"), 409, "NOT_PENDING")
    assert ok(api.supervisor.post(f"/api/v1/reimbursements/{sid}/reject"))["state"] == "rejected"
    assert ok(api.clerk.post("/api/v1/reimbursements", json=big_claim("R1")), 201)["state"] == "rejected"
    assert ok(api.clerk.get("/api/v1/reimbursements"))["total"] == 0
    assert api.service.verify() == []


def test_the_reimbursement_page_shows_the_queue_and_decides_with_csrf(api) -> None:
    family(api)
    second = api.login("staff", "sup2", api.service.secure(security.add_staff, "sup2", "supervisor"))
    sid = ok(api.supervisor.post("/api/v1/reimbursements", json=big_claim("R3")), 201)["setl_id"]
    mine = api.supervisor.get("/desk/reimburse").text
    assert f'data-testid="pending-{sid}"' in mine and "待另一名主管复核" in mine
    assert f"/desk/reimburse/{sid}/approve" not in mine  # not to the one who entered it
    assert f"/desk/reimburse/{sid}/approve" not in api.clerk.get("/desk/reimburse").text
    page = second.get("/desk/reimburse").text
    assert f'action="/desk/reimburse/{sid}/approve"' in page and 'name="csrf_token"' in page

    r = api.supervisor.post(f"/desk/reimburse/{sid}/approve", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/desk/reimburse")
    refused = api.supervisor.get("/desk/reimburse").text  # the banner travels in the flash cookie
    assert 'class="flash bad"' in refused and "已复核通过" not in refused
    assert api.clerk.post(f"/desk/reimburse/{sid}/approve", follow_redirects=False).status_code == 403
    forged = second.post(f"/desk/reimburse/{sid}/approve", headers={"X-CSRF-Token": "forged"},
                         follow_redirects=False)
    assert forged.status_code == 403
    r = second.post(f"/desk/reimburse/{sid}/approve", follow_redirects=False)
    assert r.headers["location"] == "/desk/reimburse"
    assert "已复核通过" in second.get(r.headers["location"]).text
    assert ok(second.get(f"/api/v1/settlements/{sid}"))["state"] == "settled"
    assert api.service.verify() == []
