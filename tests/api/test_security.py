"""Signed requests, logins, lockout, CSRF and cookies, over HTTP on both databases."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy import event, func, select

from gongji.client import signed_headers
from gongji.gate import login as login_api
from gongji.service import security
from gongji.service.uow import run
from gongji.store.models import Base
from tests.api.test_rest import VISIT, family, ok, problem


def post_signed(api, code, secret, path, body: bytes, **over):
    headers = signed_headers(code, secret, "POST", path, body, **over)
    return api.anon.post(path, content=body, headers={**headers, "content-type": "application/json"})


def test_signature_freshness_replay_and_suspension(api, caplog) -> None:
    family(api)
    secret = security.institution_secret(api.service.engine, "H1")
    body = b'{"visit": %s}' % __import__("json").dumps(VISIT).encode()
    path = "/api/v1/settlements/preview"
    assert ok(post_signed(api, "H1", secret, path, body))["acct_mulaid_pay"] == "255.00"
    caplog.set_level(logging.WARNING, logger="gongji.auth")
    problem(post_signed(api, "H1", "00" * 32, path, body), 401, "BAD_SIGNATURE")
    problem(post_signed(api, "H1", secret, path, body, timestamp=int(time.time()) - 301), 401, "STALE_REQUEST")
    # ahead by more than the window even if the request is answered a few seconds later (a loaded CI)
    problem(post_signed(api, "H1", secret, path, body, timestamp=int(time.time()) + 305), 401, "STALE_REQUEST")
    replay = signed_headers("H1", secret, "POST", path, body, nonce="n-1")
    assert api.anon.post(path, content=body, headers={**replay, "content-type": "application/json"}).status_code == 200
    problem(api.anon.post(path, content=body, headers={**replay, "content-type": "application/json"}), 401, "REPLAYED_NONCE")
    tampered = signed_headers("H1", secret, "POST", path, body)
    problem(api.anon.post(path, content=body.replace(b"300.00", b"3.00"),
                          headers={**tampered, "content-type": "application/json"}), 401, "BAD_SIGNATURE")
    problem(post_signed(api, "NOPE", secret, path, body), 401, "BAD_SIGNATURE")
    ok(api.admin.post("/api/v1/institutions/H1/suspend", json={"suspended": True}))
    problem(post_signed(api, "H1", secret, path, body), 403, "INSTITUTION_SUSPENDED")
    ok(api.admin.post("/api/v1/institutions/H1/suspend", json={"suspended": False}))
    new = ok(api.admin.post("/api/v1/institutions/H1/rotate-secret"))["secret"]
    problem(post_signed(api, "H1", secret, path, body), 401, "BAD_SIGNATURE")
    assert ok(post_signed(api, "H1", new, path, body))["acct_mulaid_pay"] == "255.00"
    refusals = [r.getMessage() for r in caplog.records if "signed request refused" in r.getMessage()]
    assert {m.split(":")[1].split()[0] for m in refusals} >= {"BAD_SIGNATURE", "STALE_REQUEST", "REPLAYED_NONCE",
                                                            "INSTITUTION_SUSPENDED"}


def test_the_settlement_lane_refuses_as_the_route_does(api, caplog) -> None:
    """POST /api/v1/settlements, signed, is answered by the fast lane (api.lane): every refusal is
    the one the FastAPI route gives, and what the lane is unsure of reaches the route."""
    import json

    family(api)
    secret = security.institution_secret(api.service.engine, "H1")
    path = "/api/v1/settlements"
    body = json.dumps({"visit": VISIT}).encode()

    def settle(body: bytes, key: str | None = "lane-1", secret: str = secret, code: str = "H1", **over):
        headers = signed_headers(code, secret, "POST", path, body, **over) | {"content-type": "application/json"}
        return api.anon.post(path, content=body, headers=headers | ({"Idempotency-Key": key} if key else {}))

    caplog.set_level(logging.WARNING, logger="gongji.auth")
    problem(settle(body, secret="00" * 32), 401, "BAD_SIGNATURE")
    problem(settle(body, timestamp=int(time.time()) - 301), 401, "STALE_REQUEST")
    problem(settle(body, code="NOPE"), 401, "BAD_SIGNATURE")
    first = ok(settle(body, nonce="lane-n"))
    assert first["acct_mulaid_pay"] == "255.00" and first["state"] == "settled"
    problem(settle(body, nonce="lane-n"), 401, "REPLAYED_NONCE")
    assert ok(settle(body)) == first  # the same key: the first answer, nothing paid twice
    problem(settle(body.replace(b"300.00", b"3.00")), 409, "IDEMPOTENCY_CONFLICT")
    other = json.dumps({"visit": VISIT | {"fixmedins": "H2"}}).encode()
    problem(settle(other, key="lane-2"), 403, "FORBIDDEN")
    # not for the lane: FastAPI's route answers, in its own words
    assert problem(settle(body, key="bad key!"), 422, "INVALID_INPUT")["field"] == "Idempotency-Key"
    assert problem(settle(body, key=None), 422, "INVALID_INPUT")["field"] == "Idempotency-Key"
    problem(settle(b'{"visit": ', key="lane-3"), 422, "INVALID_INPUT")
    problem(settle(json.dumps({"visit": VISIT | {"items": "x"}}).encode(), key="lane-4"), 422, "INVALID_INPUT")
    problem(api.anon.post(path, content=body, headers={"content-type": "application/json", "Idempotency-Key": "k"}),
            401, "UNAUTHENTICATED")
    ok(api.admin.post("/api/v1/institutions/H1/suspend", json={"suspended": True}))
    problem(settle(body, key="lane-5"), 403, "INSTITUTION_SUSPENDED")
    refusals = [r.getMessage() for r in caplog.records if "signed request refused" in r.getMessage()]
    assert {m.split(":")[1].split()[0] for m in refusals} >= {"BAD_SIGNATURE", "STALE_REQUEST", "REPLAYED_NONCE",
                                                            "INSTITUTION_SUSPENDED"}


def test_login_lockout_cookie_and_csrf(api) -> None:
    password = api.service.secure(security.add_staff, "c9", "clerk")
    wrong = {"kind": "staff", "username": "c9", "password": "guess"}
    answers = [problem(api.anon.post("/api/v1/auth/login", json=wrong), 401, "LOGIN_FAILED")
               for _ in range(security.MAX_FAILURES)]
    # locked now: the right password is refused, and a locked, an unknown and a wrong login
    # get one and the same answer (issue 12, item 14a: no telling which accounts exist)
    answers.append(problem(api.anon.post("/api/v1/auth/login", json=wrong | {"password": password}), 401, "LOGIN_FAILED"))
    answers.append(problem(api.anon.post("/api/v1/auth/login", json=wrong), 401, "LOGIN_FAILED"))
    answers.append(problem(api.anon.post("/api/v1/auth/login", json={"kind": "staff", "username": "ghost",
                                                                     "password": "x"}), 401, "LOGIN_FAILED"))
    assert all(a == answers[0] for a in answers) and "锁定" in answers[0]["detail"]
    page = api.anon.post("/login", data={"kind": "staff", "username": "c9", "password": password})
    assert page.status_code == 401 and "锁定" in page.text and "gongji_session" not in page.headers.get("set-cookie", "")

    password = api.service.secure(security.add_staff, "c8", "clerk")
    client = api.client()
    r = client.post("/api/v1/auth/login", json={"kind": "staff", "username": "c8", "password": password})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    csrf = r.json()["csrf_token"]
    assert ok(client.get("/api/v1/auth/me")) == {"kind": "staff", "id": "c8", "role": "clerk"}
    new_person = {"psn_no": "Z1", "insutype": "390", "insu_admdvs": "652801"}
    problem(client.post("/api/v1/persons", json=new_person), 403, "CSRF")
    problem(client.post("/api/v1/persons", json=new_person, headers={"X-CSRF-Token": "forged"}), 403, "CSRF")
    ok(client.post("/api/v1/persons", json=new_person, headers={"X-CSRF-Token": csrf}), 201)
    ok(client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}))
    problem(client.get("/api/v1/bindings"), 401, "UNAUTHENTICATED")


def test_every_change_is_audited_with_its_actor(api) -> None:
    family(api)
    # personal data in a query string reaches the access log, masked (see tests/conftest.py)
    ok(api.clerk.get("/api/v1/persons/P1", params={"note": "652801198001011238 13912345678"}))
    ok(api.inst("H1").post("/api/v1/settlements", json={"visit": VISIT}, headers={"Idempotency-Key": "a1"}))
    log = ok(api.auditor.get("/api/v1/audit", params={"limit": 200}))["items"]
    actions = [(e["actor"], e["action"]) for e in reversed(log)]
    assert ("institution:H1", "settle") in actions
    assert ("staff:clerk1", "review") in actions and ("person:P1", "apply") in actions
    assert ("staff:admin1", "register_institution") in actions
    assert all("652801198001011238" not in str(e) and "王建国" not in str(e) for e in log)
    assert api.service.verify() == []


def test_hostile_bodies_get_a_clear_4xx(api) -> None:
    import json
    family(api)
    client = api.inst("H1")
    problem(client.post("/api/v1/settlements/preview", content=b'{"visit": "' + b"x" * (3 * 1024 * 1024) + b'"}',
                        headers={"content-type": "application/json"}), 413, "TOO_LARGE")
    deep = b'{"visit": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    problem(client.post("/api/v1/settlements/preview", content=deep, headers={"content-type": "application/json"}),
            422, "INVALID_INPUT")
    items = [{"code": f"X{i}", "name": "检查", "list_class": "A", "category": "exam", "amount": "1.00"} for i in range(10000)]
    body = problem(client.post("/api/v1/settlements/preview", content=json.dumps({"visit": dict(VISIT, items=items)}),
                               headers={"content-type": "application/json"}), 422, "INVALID_INPUT")
    assert body["field"] == "visit.items"
    problem(api.anon.post("/api/v1/calc", content=b"{not json", headers={"content-type": "application/json"}),
            422, "INVALID_INPUT")


def test_what_holders_beneficiaries_and_institutions_see(api) -> None:
    family(api)
    ok(api.clerk.post("/api/v1/persons", json={"psn_no": "P3", "insutype": "390", "insu_admdvs": "652801"}), 201)
    b = ok(api.person("P1").post("/api/v1/bindings", json={"holder": "P1", "beneficiary": "P3", "relation": "child",
                                                           "channel": "online"}), 201)
    ok(api.clerk.post(f"/api/v1/bindings/{b['id']}/review", json={"decision": "approve"}))
    s2 = ok(api.inst("H1").post("/api/v1/settlements", json={"visit": VISIT}, headers={"Idempotency-Key": "v2"}))
    s3 = ok(api.inst("H1").post("/api/v1/settlements", json={"visit": dict(VISIT, psn_no="P3")},
                                headers={"Idempotency-Key": "v3"}))
    paid = ok(api.person("P1").get("/api/v1/accounts/P1/settlements", params={"role": "payer"}))
    assert {x["setl_id"] for x in paid["items"]} == {s2["setl_id"], s3["setl_id"]}  # every payment from it
    assert ok(api.person("P2").get(f"/api/v1/settlements/{s2['setl_id']}"))["psn_no"] == "P2"
    problem(api.person("P2").get(f"/api/v1/settlements/{s3['setl_id']}"), 404, "UNKNOWN_SETTLEMENT")
    quota = ok(api.person("P2").get("/api/v1/accounts/P2"))["caps"]["beneficiary_year"]
    assert quota["left"] == "1745.00"
    problem(api.person("P2").get("/api/v1/accounts/P1/transactions"), 403, "FORBIDDEN")
    problem(api.person("P2").get("/api/v1/accounts/P3/settlements"), 403, "FORBIDDEN")
    own = ok(api.person("P2").get("/api/v1/accounts/P2/authorisations"))
    assert [x["holder"] for x in own["items"]] == ["P1"]


def test_nul_characters_are_refused_before_the_database(api) -> None:
    for path, body in (("/api/v1/persons", {"psn_no": "A\u0000", "insutype": "390", "insu_admdvs": "652801"}),
                       ("/api/v1/sanctions", {"psn_no": "P", "from": "2025-01-01", "to": "2025-01-02", "reason": "x\u0000"})):
        problem(api.supervisor.post(path, json=body), 422, "INVALID_INPUT")
    problem(api.clerk.get("/api/v1/bindings", params={"holder": "a\u0000b"}), 422, "INVALID_INPUT")
    problem(api.anon.post("/api/v1/auth/login", json={"kind": "staff", "username": "\u0000", "password": "x"}),
            422, "INVALID_INPUT")


def _login_body(username: str, password: str = "guess", kind: str = "staff") -> dict:
    return {"kind": kind, "username": username, "password": password}


def test_parallel_guesses_are_counted_atomically(engine, monkeypatch) -> None:
    """Forty guesses at once, straight at the service (no login queue in between): the first
    MAX_FAILURES are checked and lock the login, the rest are refused unchecked (issue 12, item 9)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # the count is under test, not argon2
    monkeypatch.setattr(security, "_hasher", cheap)
    monkeypatch.setattr(security, "_DUMMY", cheap.hash("not a password"))
    run(engine, lambda uow: security.add_staff(uow, "c6", "clerk", password="right-one"))
    now = datetime(2025, 1, 7, 9)
    with ThreadPoolExecutor(40) as pool:
        results = list(pool.map(lambda i: security.login(engine, "staff", "c6", f"guess-{i}", now), range(40)))
    assert Counter(r.error for r in results) == {"WRONG_PASSWORD": security.MAX_FAILURES,
                                                 "LOCKED": 40 - security.MAX_FAILURES}
    assert security.login(engine, "staff", "c6", "right-one", now).error == "LOCKED"
    later = now + timedelta(minutes=security.LOCK_MINUTES, seconds=1)
    assert security.login(engine, "staff", "c6", "right-one", later).ok  # the lock ends by itself


def test_unknown_and_locked_logins_write_nothing_and_cost_a_dummy_check(api, monkeypatch) -> None:
    """Issue 12, item 10: no write transaction (so no SQLite write lock while argon2 runs), no
    changed row, and the same one argon2 check as a wrong password."""
    engine = api.service.engine
    api.service.secure(security.add_staff, "c5", "clerk")
    for _ in range(security.MAX_FAILURES):
        problem(api.anon.post("/api/v1/auth/login", json=_login_body("c5")), 401, "LOGIN_FAILED")
    checked: list[str] = []
    real_check = security._check
    monkeypatch.setattr(security, "_check", lambda stored, password: checked.append(stored) or real_check(stored, password))
    statements: list[str] = []

    def listener(_conn, _cursor, statement, *_rest) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    before = _row_counts(engine)
    try:
        for body in (_login_body("ghost"), _login_body("ghost", kind="person"), _login_body("ghost", kind="cashier"),
                     _login_body("c5")):
            problem(api.anon.post("/api/v1/auth/login", json=body), 401, "LOGIN_FAILED")
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    writes = [s for s in statements if s.split()[0].upper() in ("INSERT", "UPDATE", "DELETE") or "IMMEDIATE" in s]
    assert writes == [] and statements  # it did read
    assert _row_counts(engine) == before
    assert checked == [security._DUMMY] * 4


def _row_counts(engine) -> dict:
    with engine.connect() as c:
        return {t.name: c.execute(select(func.count()).select_from(t)).scalar() for t in Base.metadata.sorted_tables}


def test_logins_beyond_the_queue_are_turned_away_at_once(api, monkeypatch) -> None:
    """Password checks run a few at a time; beyond the queue a login gets 429 and Retry-After
    at once, in Chinese, over REST and on the login page."""
    queue = security.LoginQueue(workers=1, waiting=1)
    monkeypatch.setattr(security, "LOGINS", queue)
    monkeypatch.setattr(login_api, "BUSY_PAUSE", 0)
    release = threading.Event()
    nice = queue.submit(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())).result(timeout=30)
    assert nice >= security.LOGIN_NICE  # argon2 yields the CPU to settlements
    held = [queue.submit(release.wait) for _ in range(2)]  # one being checked, one waiting
    assert all(held) and queue.submit(release.wait) is None
    r = api.anon.post("/api/v1/auth/login", json=_login_body("clerk1", api.passwords["clerk1"]))
    assert problem(r, 429, "LOGIN_BUSY")["detail"].startswith("登录请求过多")
    assert int(r.headers["retry-after"]) > 0
    page = api.anon.post("/login", data=_login_body("clerk1", api.passwords["clerk1"]))
    assert page.status_code == 429 and "登录请求过多" in page.text and page.headers["retry-after"]
    release.set()
    assert all(f.result(timeout=30) for f in held)
    ok(api.anon.post("/api/v1/auth/login", json=_login_body("clerk1", api.passwords["clerk1"])))


def test_a_password_reset_ends_the_persons_sessions(api) -> None:
    """Issue 12, item 12: a session opened with the old password does not survive its reset."""
    family(api)
    holder = api.person("P1")
    assert ok(holder.get("/api/v1/auth/me"))["kind"] == "person"
    other = api.person("P2")
    ok(api.clerk.post("/api/v1/persons/P1/password"))
    assert ok(holder.get("/api/v1/auth/me")) == {"kind": "anonymous", "id": "", "role": ""}
    problem(holder.get("/api/v1/accounts/P1"), 401, "UNAUTHENTICATED")
    assert ok(other.get("/api/v1/auth/me"))["id"] == "P2"  # nobody else's session ends


def test_a_cashier_logs_out_over_rest_and_from_the_page(api) -> None:
    """Issue 12, item 14: the cashier's session ends on logout (the token is dead, not just the cookie)."""
    ok(api.admin.post("/api/v1/institutions", json={"code": "H1", "level": 2, "admdvs": "652801", "kind": "hospital"}), 201)
    api.service.secure(security.add_cashier, "li", "H1", password="cashier-pass-1")
    cashier = api.login("cashier", "li", "cashier-pass-1")
    token = cashier.cookies["gongji_session"]
    assert ok(cashier.get("/api/v1/auth/me")) == {"kind": "institution", "id": "H1", "role": "cashier"}
    ok(cashier.post("/api/v1/auth/logout"))
    assert _kind_of(api, token) == "anonymous"
    problem(api.inst("H1").post("/api/v1/auth/logout"), 403, "FORBIDDEN")  # a signed request has no session

    page = api.client()
    assert page.post("/login", data=_login_body("li", "cashier-pass-1", "cashier")).status_code == 200  # → /cashier
    desk = page.get("/cashier")
    assert "退出(li)" in desk.text
    csrf = desk.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    token = page.cookies["gongji_session"]
    assert page.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert _kind_of(api, token) == "anonymous"


def _kind_of(api, token: str) -> str:
    """Who a request carrying this session token is."""
    client = api.client()
    client.cookies.set("gongji_session", token)
    return ok(client.get("/api/v1/auth/me"))["kind"]
