"""Two provinces on two databases (53 云南, 65 新疆): a family in each, served each from its own
database through one app; a remote visit settled in the patient's province; sessions, the
national interface and the directory routed; verify over both from the CLI."""

from __future__ import annotations

import os
import secrets
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from bench.world import logged_in
from gongji.app import create_app
from gongji.client import InstitutionAuth
from gongji.routing import Province, Routes, dump
from gongji.service import commands as c
from gongji.service import security
from gongji.service.clock import FixedClock
from gongji.service.provinces import Provinces
from gongji.store import models as m
from gongji.store.db import database_url, make_engine, migrate
from tests.api.nhsa_his import WORKED_LINES, CheckedClient, catalogue
from tests.api.test_rest import WORKED_ITEMS
from tests.conftest import LOCAL_PG

ITEMS = WORKED_ITEMS
PASSWORD = "province-test-pass-1"


@pytest.fixture(params=["sqlite", "postgresql"])
def urls(request, tmp_path):
    """Two migrated, empty databases: two SQLite files, or two PostgreSQL databases."""
    if request.param == "sqlite":
        yield sqlite_urls(tmp_path)
        return
    server = os.environ.get("GONGJI_TEST_PG") or LOCAL_PG
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    made = [f"gongji_prov_{code}_{secrets.token_hex(3)}" for code in ("53", "65")]
    with admin.connect() as conn:
        for name in made:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    base = make_url(database_url(server))
    yield _migrated({code: base.set(database=name).render_as_string(hide_password=False)
                     for code, name in zip(("53", "65"), made, strict=True)})
    with admin.connect() as conn:
        for name in made:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _migrated(found: dict[str, str]) -> dict[str, str]:
    for url in found.values():
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
    return found


def sqlite_urls(tmp_path) -> dict[str, str]:
    return _migrated({code: str(tmp_path / f"p{code}.db") for code in ("53", "65")})


class Two:
    """An app routed over the two databases, with staff, a family and an institution in each;
    H65 (a 巴州 hospital) also registered in 53, where it treats 云南 patients (a remote visit)."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.clock = FixedClock(date(2025, 1, 2))
        self.routes = Routes(tuple(Province(code, url) for code, url in urls.items()))
        self.provinces = Provinces.open(self.routes, clock=self.clock)
        self.app = create_app(None, provinces=self.provinces)
        for _code, svc in self.provinces:
            svc.secure(security.add_staff, "boss", "supervisor", password=PASSWORD)
            svc.secure(security.add_staff, "clerk", "clerk", password=PASSWORD)
            catalogue(svc.engine)
        secret = None
        for code in ("65", "53"):
            svc = self.provinces.get(code)
            svc.register_institution(c.RegisterInstitution(code="H65", level=2, admdvs="652801", kind="hospital"))
            secret = svc.secure(security.new_institution_secret, "H65", secret=secret)
        self.provinces.get("53").register_institution(c.RegisterInstitution(code="H53", level=2, admdvs="532601",
                                                                            kind="hospital"))
        self.secrets = {"H65": secret, "H53": self.provinces.get("53").secure(security.new_institution_secret, "H53")}

    def client(self) -> TestClient:
        return TestClient(self.app, raise_server_exceptions=False)

    def login(self, kind: str, username: str, password: str = PASSWORD) -> TestClient:
        return logged_in(self.client(), kind, username, password)

    def inst(self, code: str) -> TestClient:
        cl = self.client()
        cl.auth = InstitutionAuth(code, self.secrets[code])
        return cl

    def count(self, code: str, model) -> int:
        return self.provinces.get(code).read(lambda uow: uow.session.scalar(select(func.count()).select_from(model)))


def ok(r, status: int = 200) -> dict:
    assert r.status_code == status, r.text
    return r.json()


CERTNOS = {"53": "532621198001011235", "65": "652801198001011238"}  # valid, birthplaces python-stdnum knows


MATERIALS = {"53": ["身份证", "社保卡", "亲属关系证明"],  # each region's list for the offline window
             "65": ["家庭共济申请表", "主账户人社保卡", "被绑定人户口本或结婚证等关系证明"]}


def certno(area: str) -> str:
    return CERTNOS[area[:2]]


def family(two: Two, admin: TestClient, clerk: TestClient, area: str, holder: str, member: str) -> None:
    ok(admin.post("/api/v1/persons", json={"psn_no": holder, "insutype": "310", "insu_admdvs": area,
                                           "balance": "3000.00", "certno": certno(area)}), 201)
    ok(admin.post("/api/v1/persons", json={"psn_no": member, "insutype": "390", "insu_admdvs": area}), 201)
    two.clock.day = date(2025, 1, 3)
    b = ok(clerk.post("/api/v1/bindings", json={"holder": holder, "beneficiary": member, "relation": "parent",
                                                "channel": "offline", "materials": MATERIALS[area[:2]]}), 201)
    ok(clerk.post(f"/api/v1/bindings/{b['id']}/review", json={"decision": "approve"}))
    two.clock.day = date(2025, 1, 7)


@pytest.fixture
def two(urls):
    world = Two(urls)
    family(world, world.login("staff", "boss@53"), world.login("staff", "clerk@53"), "532601", "Y1", "Y2")
    family(world, world.login("staff", "boss@65"), world.login("staff", "clerk@65"), "652801", "X1", "X2")
    yield world
    world.provinces.dispose()


def test_each_family_lives_in_its_province_and_the_directory_knows_all(two) -> None:
    assert two.count("53", m.Person) == 2 and two.count("65", m.Person) == 2
    for code in ("53", "65"):  # every database's directory names all four
        rows = two.provinces.get(code).read(lambda uow: dict(uow.session.execute(
            select(m.DirectoryEntry.psn_no, m.DirectoryEntry.province)).all()))
        assert rows == {"Y1": "53", "Y2": "53", "X1": "65", "X2": "65"}
    # a staff member of 53 cannot register a 新疆 person into 53's database
    r = two.login("staff", "boss@53").post("/api/v1/persons", json={"psn_no": "Z9", "insutype": "390",
                                                                      "insu_admdvs": "652801"})
    assert r.status_code == 422 and r.json()["code"] == "PROVINCE_NOT_SERVED"
    assert two.count("53", m.Person) == 2


def test_a_remote_visit_settles_in_the_patients_province(two) -> None:
    h65 = two.inst("H65")
    local = ok(h65.post("/api/v1/settlements", json={"visit": {"psn_no": "X2", "fixmedins": "H65", "med_type": "11",
                                                               "items": ITEMS}}, headers={"Idempotency-Key": "k-local"}))
    remote = ok(h65.post("/api/v1/settlements", json={"visit": {"psn_no": "Y2", "fixmedins": "H65", "med_type": "11",
                                                                "items": ITEMS}}, headers={"Idempotency-Key": "k-remote"}))
    assert local["setl_id"] == remote["setl_id"] == "S00000001"  # each province numbers its own
    assert two.count("65", m.Settlement) == 1 and two.count("53", m.Settlement) == 1
    patient = two.provinces.get("53").read(lambda uow: uow.session.scalar(select(m.Settlement.psn_no)))
    assert patient == "Y2"
    # the retry is answered by the province that settled it, charging nothing more
    again = ok(h65.post("/api/v1/settlements", json={"visit": {"psn_no": "Y2", "fixmedins": "H65", "med_type": "11",
                                                               "items": ITEMS}}, headers={"Idempotency-Key": "k-remote"}))
    assert again == remote and two.count("53", m.Settlement) == 1
    # the settlement is read back in its province when the HIS names the patient's area
    got = ok(h65.get("/api/v1/settlements/S00000001", headers={"X-Insuplc-Admdvs": "532601"}))
    assert got["psn_no"] == "Y2"
    # an institution registered only in 53 treating a 新疆 patient: 65 does not know it
    r = two.inst("H53").post("/api/v1/settlements", json={"visit": {"psn_no": "X2", "fixmedins": "H53", "med_type": "11",
                                                                    "items": ITEMS}}, headers={"Idempotency-Key": "k-x"})
    assert r.status_code == 401 and two.count("65", m.Settlement) == 1


def test_persons_log_in_to_their_own_province(two) -> None:
    for psn, code in (("Y1", "53"), ("X1", "65")):
        two.provinces.get(code).secure(security.set_person_password, psn, password=PASSWORD)
        cl = two.client()
        r = cl.post("/api/v1/auth/login", json={"kind": "person", "username": psn, "password": PASSWORD})
        assert r.status_code == 200, r.text
        assert cl.cookies["gongji_session"].startswith(f"{code}.")
        cl.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        assert ok(cl.get(f"/api/v1/accounts/{psn}"))["balance"] == "3000.00"
        assert "我的账户" in cl.get("/portal").text
    # the login page tells staff how to name a province
    page = two.client().get("/login?kind=staff").text
    assert "clerk@53" in page and "53、65" in page
    # a session token with another province's prefix finds no session there
    cl = two.login("person", "Y1")
    token = cl.cookies["gongji_session"]
    cl.cookies.set("gongji_session", "65." + token.split(".", 1)[1])
    assert cl.get("/api/v1/accounts/Y1").status_code == 401


def test_the_national_interface_routes_by_the_card_and_the_envelope(two) -> None:
    h = CheckedClient("http://testserver", "H65", two.secrets["H65"], client=two.client())
    assert h.sign_in()["infcode"] == 0
    info = h.person(certno=certno("532601"))  # a 云南 card read at a 新疆 counter, area not yet known
    assert info["infcode"] == 0, info
    assert info["output"]["baseinfo"]["psn_no"] == "Y1" and h.insuplc == "532601"
    reg = h.register("Y2", "390", "", "OP1", "2025-01-07 09:00:00")
    assert reg["infcode"] == 0, reg
    mdtrt_id = reg["output"]["data"]["mdtrt_id"]
    assert h.describe(mdtrt_id, "Y2", "11", "2025-01-07 09:00:00")["infcode"] == 0
    assert h.upload(mdtrt_id, "Y2", "B1", WORKED_LINES, "2025-01-07 09:00:00")["infcode"] == 0
    data = h.settle_data(mdtrt_id, "Y2", "", "11", 450, "B1", "390")
    out = h.call("2207", {"data": data})
    assert out["infcode"] == 0, out
    assert two.count("53", m.Settlement) == 1 and two.count("65", m.Settlement) == 0


def test_a_lost_directory_row_heals(two) -> None:
    from gongji.service.uow import run

    for code in ("53", "65"):
        run(two.provinces.get(code).engine, lambda uow: uow.session.execute(
            text("DELETE FROM person_directory WHERE psn_no = 'X1'")), True)
    fresh = Provinces(two.provinces.services)  # no cache
    assert fresh.province_of("X1") == "65"
    back = two.provinces.get("53").read(lambda uow: uow.session.scalar(
        select(m.DirectoryEntry.province).where(m.DirectoryEntry.psn_no == "X1")))
    assert back == "65"
    assert fresh.province_of("NOBODY") is None


def test_verify_goes_over_every_province(two, urls, tmp_path) -> None:
    from gongji.cli import app

    config = tmp_path / "gongji.toml"
    config.write_text(dump([Province(code, url) for code, url in urls.items()]), encoding="utf-8")
    runner = CliRunner()
    env = {"GONGJI_CONFIG": str(config)}
    result = runner.invoke(app, ["verify"], env=env)
    assert result.exit_code == 0, result.output
    assert "省份 53" in result.output and "省份 65" in result.output
    from gongji.service.uow import run
    run(two.provinces.get("65").engine, lambda uow: uow.session.execute(
        text("UPDATE accounts SET balance = balance + 1 WHERE psn_no = 'X1'")), True)
    result = runner.invoke(app, ["verify"], env=env)
    assert result.exit_code == 1
    assert "省份 65" in result.output and "账务校验未通过" in result.output
    run(two.provinces.get("65").engine, lambda uow: uow.session.execute(
        text("UPDATE accounts SET balance = balance - 1 WHERE psn_no = 'X1'")), True)
    # a command on one database must name its province
    result = runner.invoke(app, ["statement", "S00000001"], env=env)
    assert result.exit_code == 2 and "--db NN" in result.output


def test_staff_log_in_where_their_name_is_known_or_where_they_say(two) -> None:
    two.provinces.get("65").secure(security.add_staff, "only65", "clerk", password=PASSWORD)
    assert two.login("staff", "only65").cookies["gongji_session"].startswith("65.")
    assert two.login("staff", "clerk").cookies["gongji_session"].startswith("53.")  # the first that knows it
    assert two.login("staff", "clerk@65").cookies["gongji_session"].startswith("65.")
    r = two.client().post("/api/v1/auth/login", json={"kind": "staff", "username": "only65@53", "password": PASSWORD})
    assert r.status_code == 401  # 53 does not know that name
    r = two.client().post("/api/v1/auth/login", json={"kind": "staff", "username": "nobody", "password": PASSWORD})
    assert r.status_code == 401
