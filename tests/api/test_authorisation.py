"""The authorisation matrix: every route of the app, called as every kind of caller.

Each route must depend on ``allow(...)`` (a route without a declared rule fails here), and the
table below, written by hand from the issue's roles, says who may pass; everyone else must be
refused (401 anonymous, 403 not allowed, or 404 for a settlement that is not theirs).

Every fixture person is insured in 652801 (巴州). ``far_*`` callers are staff of each role who
serve 文山 (5326): they pass only where their role does and the request names nobody of 巴州, and
the lists they may read come back without 巴州's records (``FILTERED``)."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook

from gongji.gate.auth import api_routes, rules_of
from tests.api.test_four_eyes import big_claim
from tests.api.test_rest import VISIT, family, ok
from tests.service.flags import add_flag

STAFF = {"clerk", "supervisor", "auditor", "admin"}
CLERKS = {"clerk", "supervisor"}
FAR = {f"far_{r}": r for r in STAFF}  # staff of another area, by role
EVERYONE = STAFF | {"anon", "self", "other", "inst", "other_inst"}
CALLERS = sorted(EVERYONE | set(FAR))
# routes whose request names a person, binding, settlement or institution of 巴州 (652801)
TOUCHES_BAYINGOLIN = {
    "POST /api/v1/persons", "GET /api/v1/persons/{psn_no}", "POST /api/v1/persons/{psn_no}/status",
    "POST /api/v1/persons/{psn_no}/password", "POST /api/v1/institutions",
    "POST /api/v1/institutions/{code}/rotate-secret", "POST /api/v1/institutions/{code}/suspend",
    "POST /api/v1/bindings", "POST /api/v1/bindings/{binding_id}/review",
    "POST /api/v1/bindings/{binding_id}/withdraw", "POST /api/v1/bindings/{binding_id}/unbind",
    "GET /api/v1/accounts/{psn_no}", "GET /api/v1/accounts/{psn_no}/authorisations",
    "GET /api/v1/accounts/{psn_no}/transactions", "GET /api/v1/accounts/{psn_no}/settlements",
    "POST /api/v1/accounts/{psn_no}/freeze", "POST /api/v1/accounts/{psn_no}/unfreeze",
    "POST /api/v1/accounts/{psn_no}/credits", "POST /api/v1/filings", "POST /api/v1/sanctions",
    "POST /api/v1/settlements/{setl_id}/reverse", "GET /api/v1/settlements/{setl_id}",
    "POST /api/v1/reimbursements", "POST /desk/bindings/{binding_id}/review", "GET /statements/{setl_id}.pdf",
    "POST /api/v1/reimbursements/{setl_id}/approve", "POST /api/v1/reimbursements/{setl_id}/reject",
    "POST /desk/reimburse/{setl_id}/approve", "POST /desk/reimburse/{setl_id}/reject",
    "GET /people/{psn_no}", "POST /admin/institutions", "POST /admin/institutions/{code}/suspend",
    "POST /admin/institutions/{code}/resume", "POST /admin/institutions/{code}/secret",
    "POST /admin/staff/{username}/password",
    "GET /api/v1/flags/{flag_id}", "POST /api/v1/flags/{flag_id}/decision", "POST /api/v1/flags/{flag_id}/sanction",
    "GET /desk/supervision/{flag_id}", "POST /desk/supervision/{flag_id}/decision",
    "POST /desk/supervision/{flag_id}/sanction",
}
# lists another area's staff may read, and what they must not show of 巴州
FILTERED = {
    "GET /api/v1/bindings": lambda r: r.json()["total"] == 0,
    "GET /api/v1/audit": lambda r: r.json()["total"] == 0,
    "GET /desk": lambda r: "P1 →" not in r.text and "没有待审核的申请" in r.text,
    "GET /dashboard": lambda r: "巴州" not in r.text and "文山" in r.text,
    "GET /desk/materials": lambda r: "查无此主账户人" in r.text,
    "GET /desk/person-name": lambda r: r.status_code == 404 and r.json() == {"name": "查无此参保人"},
    "GET /api/v1/reimbursements": lambda r: r.json()["total"] == 0,
    "GET /desk/reimburse": lambda r: 'data-testid="pending"' not in r.text,
    "POST /people": lambda r: 'data-testid="found-P1"' not in r.text and "本服务区域内查无此人" in r.text,
    "GET /audit": lambda r: 'data-testid="entry-' not in r.text and "没有符合条件的记录" in r.text,
    "GET /admin/institutions": lambda r: 'data-testid="inst-H1"' not in r.text,
    "GET /admin/staff": lambda r: 'data-testid="staff-clerk1"' not in r.text and 'data-testid="staff-far_admin"' in r.text,
    "GET /api/v1/flags": lambda r: r.json()["total"] == 0,
    "GET /desk/supervision": lambda r: 'data-testid="flag-' not in r.text and "没有符合条件的线索" in r.text,
    "GET /desk/supervision.xlsx": lambda r: len(list(load_workbook(io.BytesIO(r.content)).active.iter_rows())) == 1,
}
READERS = {"clerk", "supervisor", "auditor"}

ALLOWED = {
    "POST /api/v1/persons": {"clerk", "supervisor", "admin"},
    "GET /api/v1/persons/{psn_no}": STAFF | {"self"},
    "POST /api/v1/persons/{psn_no}/status": {"supervisor"},
    "POST /api/v1/persons/{psn_no}/password": CLERKS,
    "POST /api/v1/institutions": {"admin"},
    "POST /api/v1/institutions/{code}/rotate-secret": {"admin"},
    "POST /api/v1/institutions/{code}/suspend": {"admin"},
    "GET /api/v1/institutions/{code}": EVERYONE,
    "POST /api/v1/staff": {"admin"},
    "GET /api/v1/audit": {"auditor", "admin"},
    "POST /api/v1/bindings": CLERKS | {"self"},
    "GET /api/v1/bindings": STAFF,
    "POST /api/v1/bindings/{binding_id}/review": CLERKS,
    "POST /api/v1/bindings/{binding_id}/withdraw": CLERKS | {"self"},
    "POST /api/v1/bindings/{binding_id}/unbind": CLERKS | {"self"},
    "GET /api/v1/accounts/{psn_no}": STAFF | {"self"},
    "GET /api/v1/accounts/{psn_no}/authorisations": STAFF | {"self"},
    "GET /api/v1/accounts/{psn_no}/transactions": STAFF | {"self"},
    "GET /api/v1/accounts/{psn_no}/settlements": STAFF | {"self"},
    "POST /api/v1/accounts/{psn_no}/freeze": CLERKS | {"self"},
    "POST /api/v1/accounts/{psn_no}/unfreeze": CLERKS | {"self"},
    "POST /api/v1/accounts/{psn_no}/credits": {"supervisor"},
    "POST /api/v1/filings": CLERKS | {"self"},
    "POST /api/v1/sanctions": {"supervisor"},
    "POST /api/v1/settlements/preview": {"inst"},
    "POST /api/v1/settlements": {"inst"},
    "POST /api/v1/settlements/{setl_id}/reverse": {"inst", "supervisor"},
    "GET /api/v1/settlements/{setl_id}": STAFF | {"inst", "self"},
    "POST /api/v1/calc": EVERYONE,
    "POST /nhsa": {"inst"},
    "POST /nhsa/{infno}": {"inst"},
    "POST /nhsa/": {"inst"},
    "POST /nhsa/{infno}/": {"inst"},
    "GET /api/v1/auth/me": EVERYONE,
    "POST /api/v1/auth/login": EVERYONE,
    "POST /api/v1/auth/logout": STAFF | {"self", "other"},
    "GET /healthz": EVERYONE,
    "GET /metrics": EVERYONE,
    "GET /docs": EVERYONE,
    "GET /favicon.ico": EVERYONE,
    # pages: an anonymous visitor is sent to /login, a wrong role gets a 403 page
    "GET /": EVERYONE,
    "GET /login": EVERYONE,
    "POST /login": EVERYONE,
    "POST /logout": STAFF | {"self", "other", "inst", "other_inst"},
    "GET /portal": {"self", "other"},
    "POST /portal/apply": {"self", "other"},
    "POST /portal/bindings/{binding_id}/withdraw": {"self", "other"},
    "POST /portal/bindings/{binding_id}/unbind": {"self", "other"},
    "POST /portal/freeze": {"self", "other"},
    "POST /portal/unfreeze": {"self", "other"},
    "GET /desk": STAFF,
    "POST /desk/bindings/{binding_id}/review": CLERKS,
    "GET /policies": EVERYONE,
    "GET /portal/records.xlsx": {"self", "other"},
    "GET /statements/{setl_id}.pdf": STAFF | {"inst", "self"},
    "GET /cashier": {"inst", "other_inst"},
    "POST /cashier/preview": {"inst", "other_inst"},
    "POST /cashier/settle": {"inst", "other_inst"},
    "POST /cashier/settlements/{setl_id}/reverse": {"inst", "other_inst"},
    "GET /cashier/search": {"inst", "other_inst"},
    "GET /cashier/history": {"inst", "other_inst"},
    "GET /desk/office": CLERKS,
    "GET /desk/materials": CLERKS,
    "GET /desk/person-name": CLERKS,
    "POST /desk/offline": CLERKS,
    "POST /desk/status": {"supervisor"},
    "POST /desk/sanction": {"supervisor"},
    "GET /dashboard": STAFF,
    "GET /desk/reimburse": CLERKS,
    "POST /desk/reimburse": CLERKS,
    "POST /api/v1/reimbursements": CLERKS,
    "GET /api/v1/reimbursements": CLERKS,
    "POST /api/v1/reimbursements/{setl_id}/approve": {"supervisor"},
    "POST /api/v1/reimbursements/{setl_id}/reject": {"supervisor"},
    "POST /desk/reimburse/{setl_id}/approve": {"supervisor"},
    "POST /desk/reimburse/{setl_id}/reject": {"supervisor"},
    "GET /people": {"clerk", "supervisor", "auditor"},
    "POST /people": {"clerk", "supervisor", "auditor"},
    "GET /people/{psn_no}": {"clerk", "supervisor", "auditor"},
    "GET /audit": {"auditor", "admin"},
    "POST /audit/verify": {"auditor", "admin"},
    "GET /admin/institutions": {"admin"},
    "POST /admin/institutions": {"admin"},
    "POST /admin/institutions/{code}/suspend": {"admin"},
    "POST /admin/institutions/{code}/resume": {"admin"},
    "POST /admin/institutions/{code}/secret": {"admin"},
    "GET /admin/staff": {"admin"},
    "POST /admin/staff": {"admin"},
    "POST /admin/staff/{username}/password": {"admin"},
    # supervision: staff who serve insured persons read; clerks decide; supervisors sanction
    "GET /api/v1/flags": READERS,
    "GET /api/v1/flags/{flag_id}": READERS,
    "POST /api/v1/flags/{flag_id}/decision": CLERKS,
    "POST /api/v1/flags/{flag_id}/sanction": {"supervisor"},
    "GET /desk/supervision": READERS,
    "GET /desk/supervision.xlsx": READERS,
    "GET /desk/supervision/{flag_id}": READERS,
    "POST /desk/supervision/{flag_id}/decision": CLERKS,
    "POST /desk/supervision/{flag_id}/sanction": {"supervisor"},
    "POST /desk/supervision/run": {"supervisor"},
}


def requests(ids: dict) -> dict:
    """A concrete request per route (path, JSON body, headers); bodies are valid enough that an
    allowed caller reaches the handler."""
    nhsa = {"infno": "9001", "msgid": "m1", "mdtrtarea_admvs": "652801", "insuplc_admdvs": "",
            "recer_sys_code": "X", "opter": "o", "inf_time": "2025-01-07 10:00:00", "fixmedins_code": "H1",
            "input": {"signIn": {"opter_no": "o", "mac": "m", "ip": "i"}}}
    return {
        "POST /api/v1/persons": ("/api/v1/persons", {"psn_no": "NEW", "insutype": "390", "insu_admdvs": "652801"}),
        "GET /api/v1/persons/{psn_no}": ("/api/v1/persons/P1", None),
        "POST /api/v1/persons/{psn_no}/status": ("/api/v1/persons/P1/status", {"status": "active"}),
        "POST /api/v1/persons/{psn_no}/password": ("/api/v1/persons/P4/password", None),
        "POST /api/v1/institutions": ("/api/v1/institutions", {"code": "H9", "level": 1, "admdvs": "652801", "kind": "pharmacy"}),
        "POST /api/v1/institutions/{code}/rotate-secret": ("/api/v1/institutions/H3/rotate-secret", None),
        "POST /api/v1/institutions/{code}/suspend": ("/api/v1/institutions/H3/suspend", {"suspended": False}),
        "GET /api/v1/institutions/{code}": ("/api/v1/institutions/H1", None),
        "POST /api/v1/staff": ("/api/v1/staff", {"username": "newclerk", "role": "clerk"}),
        "GET /api/v1/audit": ("/api/v1/audit", None),
        "POST /api/v1/bindings": ("/api/v1/bindings", {"holder": "P1", "beneficiary": "P4", "relation": "child", "channel": "online"}),
        "GET /api/v1/bindings": ("/api/v1/bindings", None),
        "POST /api/v1/bindings/{binding_id}/review": (f"/api/v1/bindings/{ids['pending']}/review", {"decision": "reject", "reason": "材料不全"}),
        "POST /api/v1/bindings/{binding_id}/withdraw": (f"/api/v1/bindings/{ids['pending']}/withdraw", None),
        "POST /api/v1/bindings/{binding_id}/unbind": (f"/api/v1/bindings/{ids['bound']}/unbind", None),
        "GET /api/v1/accounts/{psn_no}": ("/api/v1/accounts/P1", None),
        "GET /api/v1/accounts/{psn_no}/authorisations": ("/api/v1/accounts/P1/authorisations", None),
        "GET /api/v1/accounts/{psn_no}/transactions": ("/api/v1/accounts/P1/transactions", None),
        "GET /api/v1/accounts/{psn_no}/settlements": ("/api/v1/accounts/P1/settlements?role=payer", None),
        "POST /api/v1/accounts/{psn_no}/freeze": ("/api/v1/accounts/P1/freeze", None),
        "POST /api/v1/accounts/{psn_no}/unfreeze": ("/api/v1/accounts/P1/unfreeze", None),
        "POST /api/v1/accounts/{psn_no}/credits": ("/api/v1/accounts/P1/credits", {"amount": "1.00"}),
        "POST /api/v1/filings": ("/api/v1/filings", {"psn_no": "P1", "admdvs": "650100", "from": "2025-01-01", "to": "2025-01-31"}),
        "POST /api/v1/sanctions": ("/api/v1/sanctions", {"psn_no": "P3", "from": "2025-01-01", "to": "2025-01-02", "reason": "套现"}),
        "POST /api/v1/settlements/preview": ("/api/v1/settlements/preview", {"visit": VISIT}),
        "POST /api/v1/settlements": ("/api/v1/settlements", {"visit": VISIT}),
        "POST /api/v1/settlements/{setl_id}/reverse": (f"/api/v1/settlements/{ids['setl_id']}/reverse", None),
        "GET /api/v1/settlements/{setl_id}": (f"/api/v1/settlements/{ids['setl_id']}", None),
        "POST /api/v1/calc": ("/api/v1/calc", {"region": "652800"}),
        "POST /nhsa": ("/nhsa", nhsa),
        "POST /nhsa/{infno}": ("/nhsa/9001", nhsa),
        "POST /nhsa/": ("/nhsa/", nhsa),
        "POST /nhsa/{infno}/": ("/nhsa/9001/", nhsa),
        "GET /api/v1/auth/me": ("/api/v1/auth/me", None),
        "POST /api/v1/auth/login": ("/api/v1/auth/login", {"kind": "staff", "username": "spare1", "password": ids["spare"]}),
        "POST /api/v1/auth/logout": ("/api/v1/auth/logout", None),
        "GET /healthz": ("/healthz", None),
        "GET /metrics": ("/metrics", None),
        "GET /docs": ("/docs", None),
        "GET /favicon.ico": ("/favicon.ico", None),
        "GET /": ("/", None),
        "GET /login": ("/login", None),
        "POST /login": ("/login", None),
        "POST /logout": ("/logout", None),
        "GET /portal": ("/portal", None),
        "POST /portal/apply": ("/portal/apply", None),
        "POST /portal/bindings/{binding_id}/withdraw": (f"/portal/bindings/{ids['pending']}/withdraw", None),
        "POST /portal/bindings/{binding_id}/unbind": (f"/portal/bindings/{ids['bound']}/unbind", None),
        "POST /portal/freeze": ("/portal/freeze", None),
        "POST /portal/unfreeze": ("/portal/unfreeze", None),
        "GET /desk": ("/desk", None),
        "POST /desk/bindings/{binding_id}/review": (f"/desk/bindings/{ids['pending']}/review",
                                                     {"decision": "reject", "reason": "材料不全"}),
        "GET /policies": ("/policies", None),
        "GET /portal/records.xlsx": ("/portal/records.xlsx", None),
        "GET /statements/{setl_id}.pdf": (f"/statements/{ids['setl_id']}.pdf", None),
        "GET /cashier": ("/cashier", None),
        "POST /cashier/preview": ("/cashier/preview", None),
        "POST /cashier/settle": ("/cashier/settle", None),
        "POST /cashier/settlements/{setl_id}/reverse": (f"/cashier/settlements/{ids['setl_id']}/reverse", None),
        "GET /cashier/search": ("/cashier/search?q=xcg", None),
        "GET /cashier/history": ("/cashier/history?patient=P1", None),
        "GET /desk/office": ("/desk/office", None),
        "GET /desk/materials": ("/desk/materials?holder=P1", None),
        "GET /desk/person-name": ("/desk/person-name?psn_no=P1", None),
        "POST /desk/offline": ("/desk/offline", None),
        "POST /desk/status": ("/desk/status", None),
        "POST /desk/sanction": ("/desk/sanction", None),
        "GET /dashboard": ("/dashboard", None),
        "GET /desk/reimburse": ("/desk/reimburse", None),
        "POST /desk/reimburse": ("/desk/reimburse", None),
        "POST /api/v1/reimbursements": ("/api/v1/reimbursements", {
            "claim_no": "C1", "visit_on": "2025-01-05",
            "institution": {"code": "BJ01", "level": 2, "admdvs": "110105", "kind": "hospital", "name": "北京某医院"},
            "visit": dict(VISIT, psn_no="P1", fixmedins="BJ01", items=VISIT["items"][:1])}),
        "GET /api/v1/reimbursements": ("/api/v1/reimbursements", None),
        "POST /api/v1/reimbursements/{setl_id}/approve": (f"/api/v1/reimbursements/{ids['approve']}/approve", None),
        "POST /api/v1/reimbursements/{setl_id}/reject": (f"/api/v1/reimbursements/{ids['reject']}/reject", None),
        "POST /desk/reimburse/{setl_id}/approve": (f"/desk/reimburse/{ids['approve']}/approve", None),
        "POST /desk/reimburse/{setl_id}/reject": (f"/desk/reimburse/{ids['reject']}/reject", None),
        "GET /people": ("/people", None),
        "POST /people": ("/people", {"q": "P1"}),
        "GET /people/{psn_no}": ("/people/P1", None),
        "GET /audit": ("/audit", None),
        "POST /audit/verify": ("/audit/verify", None),
        "GET /admin/institutions": ("/admin/institutions", None),
        "POST /admin/institutions": ("/admin/institutions", {"code": "H8", "level": "1", "admdvs": "652801",
                                                             "kind": "pharmacy"}),
        "POST /admin/institutions/{code}/suspend": ("/admin/institutions/H3/suspend", None),
        "POST /admin/institutions/{code}/resume": ("/admin/institutions/H3/resume", None),
        # a fingerprint no secret has: refused as a page sent again, nothing changes
        "POST /admin/institutions/{code}/secret": ("/admin/institutions/H3/secret", {"expect": "0" * 16}),
        "GET /admin/staff": ("/admin/staff", None),
        "POST /admin/staff": ("/admin/staff", {"username": "pagestaff", "role": "clerk"}),
        "POST /admin/staff/{username}/password": ("/admin/staff/clerk1/password", {"expect": "0" * 16}),
        "GET /api/v1/flags": ("/api/v1/flags", None),
        "GET /api/v1/flags/{flag_id}": (f"/api/v1/flags/{ids['flag']}", None),
        "POST /api/v1/flags/{flag_id}/decision": (f"/api/v1/flags/{ids['flag']}/decision",
                                                  {"decision": "confirm", "reason": "核实"}),
        "POST /api/v1/flags/{flag_id}/sanction": (f"/api/v1/flags/{ids['confirmed']}/sanction", {"reason": "套现"}),
        "GET /desk/supervision": ("/desk/supervision", None),
        "GET /desk/supervision.xlsx": ("/desk/supervision.xlsx", None),
        "GET /desk/supervision/{flag_id}": (f"/desk/supervision/{ids['flag']}", None),
        "POST /desk/supervision/{flag_id}/decision": (f"/desk/supervision/{ids['flag']}/decision",
                                                      {"decision": "confirm", "reason": "核实"}),
        "POST /desk/supervision/{flag_id}/sanction": (f"/desk/supervision/{ids['confirmed']}/sanction",
                                                      {"from": "2025-01-07", "to": "2025-02-07", "reason": "套现"}),
        "POST /desk/supervision/run": ("/desk/supervision/run", {}),
    }


def refused(r) -> bool:
    if r.status_code in (401, 403):
        return True
    if r.status_code == 303 and r.headers["location"].startswith("/login"):
        return True  # a page sends the anonymous visitor to log in
    if r.status_code == 404 and ("查无此结算" in r.text if r.headers["content-type"].startswith("text/html")
                                 else r.json().get("code") == "UNKNOWN_SETTLEMENT"):
        return True  # a settlement not yours is not there
    if r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json") \
            and (r.json().get("detail") == "查无此人" or r.json().get("code") == "UNKNOWN_FLAG"):
        return True  # nor a person, or a supervision flag, of another area
    if r.status_code == 404 and r.headers["content-type"].startswith("text/html") \
            and ("查无此参保人" in r.text or "查无工作人员" in r.text or "查无此监管线索" in r.text):
        return True  # a page's person, or staff member, of another area is unknown
    body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
    # the national interface refuses in its envelope (HTTP 200): unsigned, or not the signer's
    return isinstance(body, dict) and body.get("infcode") == -1 and any(
        w in str(body.get("err_msg")) for w in ("身份认证失败", "未签名", "与签名的机构不符"))


def test_every_route_declares_a_rule_and_the_matrix_holds(api) -> None:
    from gongji.service import security
    family(api)
    ok(api.admin.post("/api/v1/institutions", json={"code": "H2", "level": 1, "admdvs": "652801", "kind": "hospital"}), 201)
    ok(api.admin.post("/api/v1/institutions", json={"code": "H3", "level": 1, "admdvs": "652801", "kind": "hospital"}), 201)
    for no in ("P3", "P4", "P5"):
        ok(api.clerk.post("/api/v1/persons", json={"psn_no": no, "insutype": "390", "insu_admdvs": "652801"}), 201)
    setl = ok(api.inst("H1").post("/api/v1/settlements", json={"visit": VISIT}, headers={"Idempotency-Key": "m0"}))
    pending = ok(api.clerk.post("/api/v1/bindings", json={"holder": "P1", "beneficiary": "P5", "relation": "child",
                                                          "channel": "offline"}), 201)
    bound = ok(api.clerk.get("/api/v1/bindings", params={"holder": "P1", "state": "approved"}))["items"][0]
    ids = {"setl_id": setl["setl_id"], "pending": pending["id"], "bound": bound["id"],
           "spare": api.service.secure(security.add_staff, "spare1", "auditor")}
    ids["flag"] = add_flag(api.service.engine, subject="person:P1", fixmedins="H1")
    ids["confirmed"] = add_flag(api.service.engine, subject="person:P1", fixmedins="H1", state="confirmed")
    for decision in ("approve", "reject"):  # waiting for a supervisor: entered by the clerk
        ids[decision] = ok(api.clerk.post("/api/v1/reimbursements", json=big_claim(decision)), 201)["setl_id"]
    routes = {f"{m} {r.path}": r for r in api_routes(api.app.routes) for m in r.methods}
    assert set(routes) == set(ALLOWED), f"routes without an expectation, or gone: {set(routes) ^ set(ALLOWED)}"
    for key, route in routes.items():
        assert rules_of(route), f"{key} declares no rule (Depends(allow(...)))"

    for far, role in FAR.items():
        api.passwords[far] = api.service.secure(security.add_staff, far, role, "5326")
    callers = {"anon": api.anon, "self": api.person("P1"), "other": api.person("P3"), "inst": api.inst("H1"),
               "other_inst": api.inst("H2"), **{r: getattr(api, r) for r in STAFF},
               **{f: api.login("staff", f, api.passwords[f]) for f in FAR}}
    api.clock.day = date(2025, 1, 7)
    reqs = requests(ids)
    failures = []
    identity = {"anon": ("anonymous", ""), "self": ("person", "P1"), "other": ("person", "P3"),
                "inst": ("institution", "H1"), "other_inst": ("institution", "H2"),
                **{r: ("staff", f"{r}1") for r in STAFF}, **{f: ("staff", f) for f in FAR}}
    for key in sorted(routes):
        method, _ = key.split(" ", 1)
        path, body = reqs[key]
        for who in CALLERS:
            headers = {"Idempotency-Key": f"m-{who}"} if key == "POST /api/v1/settlements" else {}
            # logging in or out changes the session: such calls get a client of their own
            client = api.fresh(*identity[who]) if key.endswith(("/login", "/logout")) and method == "POST" \
                else callers[who]
            form = path.startswith(("/desk/", "/people", "/audit", "/admin/"))  # pages take forms, signed or not
            r = client.request(method, path, headers=headers, follow_redirects=False,
                               **({"data": body} if form else {"json": body}))
            allowed = FAR[who] in ALLOWED[key] and key not in TOUCHES_BAYINGOLIN if who in FAR \
                else who in ALLOWED[key]
            if allowed == refused(r):
                failures.append(f"{key} as {who}: {r.status_code} {r.text[:120]}")
            elif allowed and who in FAR and key in FILTERED and not FILTERED[key](r):
                failures.append(f"{key} as {who} shows 巴州's records: {r.text[:200]}")
    assert not failures, "\n".join(failures)
