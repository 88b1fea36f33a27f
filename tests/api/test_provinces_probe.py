"""Probes of the routing by province (docs/routing.md): an attacker, a hospital HIS and a clerk
trying to make a request act on the wrong province's data, or to make the edge fail with a 500."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import event

from gongji.service import security
from gongji.store import models as m
from gongji.store.db import make_engine
from tests.api import test_provinces
from tests.api.nhsa_his import CheckedClient
from tests.api.test_provinces import ITEMS, PASSWORD, certno, ok

two = test_provinces.two  # the Two world: two databases, 53 and 65


@pytest.fixture
def urls(tmp_path):
    """Two SQLite databases: the routing is decided at the edge, the same on PostgreSQL (whose two
    databases tests/api/test_provinces.py runs)."""
    return test_provinces.sqlite_urls(tmp_path)


def no_traceback(caplog) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [r.getMessage() for r in bad]


def visit(psn: str, fixmedins: str = "H65") -> dict:
    return {"visit": {"psn_no": psn, "fixmedins": fixmedins, "med_type": "11", "items": ITEMS}}


def test_an_area_header_of_another_province_settles_nothing_in_the_wrong_database(two, caplog) -> None:
    # H53 is registered in 53 only: sending 65 as the area takes it where its signature is unknown
    r = two.inst("H53").post("/api/v1/settlements", json=visit("Y2", "H53"),
                             headers={"Idempotency-Key": "a1", "X-Insuplc-Admdvs": "652801"})
    assert r.status_code == 401
    # H65, registered in both, names 65 for a 云南 patient: 65 has no such person
    r = two.inst("H65").post("/api/v1/settlements", json=visit("Y2"),
                             headers={"Idempotency-Key": "a2", "X-Insuplc-Admdvs": "652801"})
    assert r.status_code in (404, 422), r.text
    # a body naming both an area and a person: the area wins (it is the registration's field)
    r = two.inst("H65").post("/api/v1/settlements", json={**visit("Y2"), "insu_admdvs": "652801"},
                             headers={"Idempotency-Key": "a3"})
    assert r.status_code in (404, 422), r.text
    assert two.count("53", m.Settlement) == 0 and two.count("65", m.Settlement) == 0
    no_traceback(caplog)


@pytest.mark.parametrize("area", ["53260A", "53260", "５３２６０１", "5326011", " 532601", "", "53" * 500, "000000"])
def test_a_malformed_area_header_is_ignored_and_the_patient_routes(two, area, caplog) -> None:
    value = area.encode("utf-8")
    cl = two.inst("H65")
    r = cl.post("/api/v1/settlements", json=visit("Y2"),
                headers={"Idempotency-Key": f"m-{value.hex()[:40]}", "X-Insuplc-Admdvs": value})
    assert r.status_code == 200, r.text
    assert two.count("53", m.Settlement) == 1 and two.count("65", m.Settlement) == 0
    no_traceback(caplog)


def test_an_envelope_of_65_for_a_53_person_is_refused_in_65(two, caplog) -> None:
    h = CheckedClient("http://testserver", "H65", two.secrets["H65"], client=two.client())
    assert h.sign_in()["infcode"] == 0
    h.insuplc = "652801"
    out = h.register("Y2", "390", "", "OP1", "2025-01-07 09:00:00")
    assert out["infcode"] != 0, out
    assert two.count("53", m.Settlement) == 0 and two.count("65", m.Settlement) == 0
    no_traceback(caplog)


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
def test_a_deep_or_odd_body_is_never_a_500(two, content_type, caplog) -> None:
    deep = b"[" * 5000 + b"]" * 5000
    bodies = [deep, b'{"psn_no": ' + deep + b"}", b"[1, 2, 3]", b'"Y2"', b"null", b"\xff\xfe{",
              json.dumps({"psn_no": "Y" * 100_000}).encode(), json.dumps({"psn_no": ["Y2"], "holder": {"a": 1}}).encode()]
    headers = {"content-type": content_type} if content_type else {}
    for body in bodies:
        for path in ("/api/v1/settlements", "/api/v1/bindings", "/nhsa/2201"):
            r = two.client().post(path, content=body, headers=headers)
            assert r.status_code < 500, (path, body[:40], r.status_code, r.text[:300])
    no_traceback(caplog)


def test_an_envelope_whose_input_string_is_deep_is_never_a_500(two, caplog) -> None:
    deep = "[" * 5000 + "]" * 5000
    for inner in (deep, '{"data": ' + deep + "}", "not json", "[1]", '{"data": [1]}'):
        body = {"infno": "2201", "msgid": "H6520250107090000001", "insuplc_admdvs": "", "input": inner}
        r = two.client().post("/nhsa/2201", json=body)
        assert r.status_code < 500, (inner[:20], r.status_code, r.text[:300])
    no_traceback(caplog)


def test_a_forged_session_prefix_finds_no_session(two, caplog) -> None:
    two.provinces.get("53").secure(security.set_person_password, "Y1", password=PASSWORD)
    cl = two.login("person", "Y1")
    token = cl.cookies["gongji_session"]
    _, rest = token.split(".", 1)
    for forged in ("65." + rest, ".." + rest, "." + rest, "053." + rest, rest, "99." + rest, "%35%33." + rest):
        other = two.client()
        other.cookies.set("gongji_session", forged)
        other.headers["X-CSRF-Token"] = cl.headers["X-CSRF-Token"]
        assert other.get("/api/v1/accounts/Y1").status_code == 401, forged
        assert other.get("/api/v1/accounts/Y1", headers={"X-Insuplc-Admdvs": "532601"}).status_code == 401, forged
    # the real token still works, whatever area header it carries
    assert cl.get("/api/v1/accounts/Y1", headers={"X-Insuplc-Admdvs": "652801"}).status_code == 200
    no_traceback(caplog)


def test_two_session_cookies_never_mix_provinces(two) -> None:
    """The edge and the authentication read the same one of two session cookies."""
    for code, psn in (("53", "Y1"), ("65", "X1")):
        two.provinces.get(code).secure(security.set_person_password, psn, password=PASSWORD)
    y1, x1 = two.login("person", "Y1"), two.login("person", "X1")
    ty, tx = y1.cookies["gongji_session"], x1.cookies["gongji_session"]
    cl = two.client()
    for first, second, psn in ((ty, tx, "X1"), (tx, ty, "Y1")):  # Starlette reads the last of two
        r = cl.get(f"/api/v1/accounts/{psn}", headers={"cookie": f"gongji_session={first}; gongji_session={second}"})
        assert r.status_code == 200, r.text
        r = cl.get(f"/api/v1/accounts/{psn}", headers=[("cookie", f"gongji_session={first}"),
                                                       ("cookie", f"gongji_session={second}")])
        assert r.status_code == 200, r.text  # two Cookie headers: the last is read, as Starlette does


def _count_queries(two) -> list[str]:
    seen: list[str] = []
    for _code, svc in two.provinces:
        event.listen(svc.engine, "before_cursor_execute",
                     lambda conn, cursor, statement, *a: seen.append(statement))
    return seen


def test_a_flood_of_unknown_psn_nos_costs_a_bounded_number_of_queries(two) -> None:
    seen = _count_queries(two)
    cl = two.client()
    n = 20
    for i in range(n):  # unauthenticated: refused, but the edge has looked the person up first
        cl.post("/api/v1/settlements", json=visit(f"RAND{i:06d}"))
    per_request = len([q for q in seen if q.lstrip().upper().startswith("SELECT")]) / n
    # a directory row in the first database, then each province's persons: 1 + 2 with two provinces
    assert per_request <= 1 + len(two.provinces.codes()) + 1, per_request
    before = len(two.provinces._persons)
    for i in range(n):
        cl.get(f"/api/v1/persons/RANDP{i:06d}")
    assert len(two.provinces._persons) == before  # an unknown psn_no is not remembered
    from gongji.service.provinces import CACHE_LIMIT
    assert CACHE_LIMIT <= 1_000_000


def test_a_clerk_of_53_cannot_touch_65(two, caplog) -> None:
    boss, clerk = two.login("staff", "boss@53"), two.login("staff", "clerk@53")
    r = boss.post("/api/v1/persons", json={"psn_no": "Z9", "insutype": "390", "insu_admdvs": "652801"})
    assert r.status_code == 422 and r.json()["code"] == "PROVINCE_NOT_SERVED"
    # an unserved province in the area: the same refusal, no row anywhere
    r = boss.post("/api/v1/persons", json={"psn_no": "Z8", "insutype": "390", "insu_admdvs": "990000"})
    assert r.status_code == 422 and r.json()["code"] == "PROVINCE_NOT_SERVED", r.text
    assert two.count("53", m.Person) == 2 and two.count("65", m.Person) == 2
    assert two.provinces.province_of("Z8") is None and two.provinces.province_of("Z9") is None
    # a binding between a 53 holder and a 65 person: 53 has no X2
    r = clerk.post("/api/v1/bindings", json={"holder": "Y1", "beneficiary": "X2", "relation": "parent",
                                             "channel": "offline", "materials": ["身份证"]})
    assert r.status_code in (404, 422), r.text
    # review a binding id that exists only in 65 (65's second binding: 53 has one)
    clerk65 = two.login("staff", "clerk@65")
    ok(two.login("staff", "boss@65").post("/api/v1/persons", json={"psn_no": "X3", "insutype": "390",
                                                                   "insu_admdvs": "652801"}), 201)
    r = clerk65.post("/api/v1/bindings", json={"holder": "X1", "beneficiary": "X3", "relation": "child",
                                               "channel": "offline", "materials": ["家庭共济申请表", "主账户人社保卡",
                                                                                   "被绑定人户口本或结婚证等关系证明"]})
    ids53 = two.provinces.get("53").read(lambda uow: {b.id for b in uow.session.query(m.Binding)})
    ids65 = two.provinces.get("65").read(lambda uow: {b.id for b in uow.session.query(m.Binding)})
    only65 = sorted(ids65 - ids53)
    assert only65, r.text
    r = clerk.post(f"/api/v1/bindings/{only65[0]}/review", json={"decision": "approve"},
                   headers={"X-Insuplc-Admdvs": "652801"})
    assert r.status_code == 404, r.text
    assert two.provinces.get("65").read(lambda uow: uow.session.get(m.Binding, only65[0]).state) == "pending"
    no_traceback(caplog)


def test_settlement_ids_collide_and_are_read_in_the_named_province(two, caplog) -> None:
    h65, h53 = two.inst("H65"), two.inst("H53")
    ok(h65.post("/api/v1/settlements", json=visit("X2"), headers={"Idempotency-Key": "c1"}))
    ok(h53.post("/api/v1/settlements", json=visit("Y2", "H53"), headers={"Idempotency-Key": "c2"}))
    # without the header: H65's own province, its own settlement
    assert ok(h65.get("/api/v1/settlements/S00000001"))["psn_no"] == "X2"
    # naming 53: S00000001 there is H53's, not a party of H65
    r = h65.get("/api/v1/settlements/S00000001", headers={"X-Insuplc-Admdvs": "532601"})
    assert r.status_code in (403, 404), r.text
    r = h65.post("/api/v1/settlements/S00000001/reverse", headers={"X-Insuplc-Admdvs": "532601",
                                                                  "Idempotency-Key": "rv"})
    assert r.status_code in (403, 404), r.text
    assert ok(h53.get("/api/v1/settlements/S00000001"))["psn_no"] == "Y2"
    no_traceback(caplog)


@pytest.mark.parametrize("username", ["clerk@99", "@", "@53", "clerk@", "clerk@53@65", "c" * 5000,
                                      "clerk@５３", "clerk@053"])
def test_odd_staff_names_are_refused_as_any_wrong_password(two, username, caplog) -> None:
    r = two.client().post("/api/v1/auth/login", json={"kind": "staff", "username": username, "password": PASSWORD})
    assert r.status_code in (401, 422), r.text
    no_traceback(caplog)


def test_a_person_of_65_logs_in_to_65_and_odd_person_names_fail_closed(two, caplog) -> None:
    two.provinces.get("65").secure(security.set_person_password, "X1", password=PASSWORD)
    assert two.login("person", "X1").cookies["gongji_session"].startswith("65.")
    for name in ("X1@53", "X1@65", "@", "X" * 5000, ""):
        r = two.client().post("/api/v1/auth/login", json={"kind": "person", "username": name, "password": PASSWORD})
        assert r.status_code in (401, 422), (name[:10], r.text)
    no_traceback(caplog)


def test_a_certno_read_in_no_province_is_a_clear_answer(two, caplog) -> None:
    h = CheckedClient("http://testserver", "H65", two.secrets["H65"], client=two.client())
    assert h.sign_in()["infcode"] == 0
    out = h.person(certno="110101199003070011")
    assert out["infcode"] != 0, out
    out = h.person(certno=certno("652801").lower())
    assert out["infcode"] == 0 and out["output"]["baseinfo"]["psn_no"] == "X1"
    no_traceback(caplog)
def test_an_area_of_a_province_not_served_is_a_clear_refusal(two, caplog) -> None:
    """X-Insuplc-Admdvs (or the envelope's insuplc_admdvs) naming a province no database serves
    must not be answered silently by the first province: 新疆's X2 would be '查无此参保人' there."""
    r = two.inst("H65").post("/api/v1/settlements", json=visit("X2"),
                             headers={"Idempotency-Key": "u1", "X-Insuplc-Admdvs": "990000"})
    assert r.status_code == 422 and r.json()["code"] == "PROVINCE_NOT_SERVED", r.text
    h = CheckedClient("http://testserver", "H65", two.secrets["H65"], client=two.client())
    h.insuplc = "990000"
    out = h.call("2201", {"mdtrtinfo": {"psn_no": "X2", "insutype": "390", "begntime": "2025-01-07 09:00:00",
                                        "mdtrt_cert_type": "02", "mdtrt_cert_no": "X2", "ipt_otp_no": "OP1",
                                        "atddr_no": "D1", "dr_name": "医生", "dept_code": "01", "dept_name": "内科",
                                        "caty": "A01"}})
    assert out["infcode"] != 0 and "99" in out["err_msg"], out
    assert two.count("53", m.Settlement) == 0 and two.count("65", m.Settlement) == 0
    no_traceback(caplog)


def test_an_institution_code_is_not_a_psn_no_in_the_cache(two) -> None:
    """The cache keeps institutions under 'inst:' + code: a psn_no spelled so must not borrow it."""
    two.inst("H65").get("/api/v1/settlements/S00000001")  # caches inst:H65 -> 65
    assert two.provinces.province_of("inst:H65") is None




def test_an_institution_of_53_only_reaching_a_65_patient_over_the_national_interface(two, caplog) -> None:
    """The envelope names no area; the input's psn_no is 新疆's: 65, where H53 is unknown. The
    refusal is the envelope's own, never a 500 and never a visit in either database."""
    h = CheckedClient("http://testserver", "H53", two.secrets["H53"], client=two.client())
    assert h.sign_in()["infcode"] == 0
    out = h.register("X2", "390", "", "OP9", "2025-01-07 09:00:00")
    assert out["infcode"] != 0, out
    for code in ("53", "65"):
        assert two.provinces.get(code).read(lambda uow: uow.session.query(m.Settlement).count()) == 0
    no_traceback(caplog)


def test_unknown_institution_codes_cost_one_read_per_province(two) -> None:
    seen = _count_queries(two)
    cl = two.client()
    n = 10
    for i in range(n):
        r = cl.get("/api/v1/settlements/S00000001", headers={"X-Inst-Code": f"FAKE{i}", "X-Timestamp": "1",
                                                              "X-Nonce": "n", "X-Signature": "x"})
        assert r.status_code == 401
    selects = [q for q in seen if q.lstrip().upper().startswith("SELECT")]
    # the edge asks each province for the institution, then the signature check reads it once
    assert len(selects) / n <= len(two.provinces.codes()) + 2, len(selects) / n


def test_a_person_session_naming_another_provinces_person_is_refused(two, caplog) -> None:
    two.provinces.get("53").secure(security.set_person_password, "Y1", password=PASSWORD)
    cl = two.login("person", "Y1")
    for path in ("/api/v1/accounts/X1", "/api/v1/persons/X1", "/api/v1/accounts/" + "Z" * 3000):
        r = cl.get(path, headers={"X-Insuplc-Admdvs": "652801"})
        assert r.status_code in (403, 404), (path[:30], r.text)
    no_traceback(caplog)


def test_the_portal_reads_the_standby_but_never_hides_the_familys_own_change(two, urls, tmp_path) -> None:
    """A read_url (a standby) serves /portal; right after the family's own change the page reads
    the primary. The "standby" here is a copy of 53's database taken before the change: as stale
    as a standby can be."""
    import sqlite3

    from gongji.service.facade import Service

    stale = tmp_path / "standby53.db"
    src, dst = sqlite3.connect(urls["53"]), sqlite3.connect(stale)
    src.backup(dst)
    src.close()
    dst.close()
    two.provinces.get("53").secure(security.set_person_password, "Y1", password=PASSWORD)
    two.provinces.read_services["53"] = Service(make_engine(str(stale)), clock=two.clock)
    cl = two.login("person", "Y1")
    assert "冻结共济支付" in cl.get("/portal").text
    r = cl.post("/portal/freeze", data={"csrf_token": cl.headers["X-CSRF-Token"]}, follow_redirects=False)
    assert r.status_code == 303
    assert "共济已冻结" in cl.get("/portal").text  # the flash of its own change: the primary
    assert "共济已冻结" not in cl.get("/portal").text  # then the standby, still behind in this test
    assert "冻结共济支付" in cl.get("/portal").text
