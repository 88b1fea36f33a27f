"""The demo loader goes through the service: families in all four regions, settlements,
pending and overdue applications, and a database that passes ``verify``."""

from __future__ import annotations

from datetime import date

from gongji.demo import load
from gongji.service.clock import FixedClock
from gongji.service.facade import Service


def test_demo_data_is_sound(engine) -> None:
    today = date(2025, 12, 15)
    clock = FixedClock(today)
    svc = Service(engine, clock=clock)
    counts = load(svc, clock, today, days=45)
    assert counts["families"] == 20 and counts["institutions"] == 19
    assert counts["settlements"] > 30 and counts["pending"] == 7
    assert svc.verify() == []
    queue = svc.pending()
    assert len(queue) == 7 and any(q["overdue"] for q in queue) and not all(q["overdue"] for q in queue)
    assert {q["region"] for q in queue} == {"652800", "532600", "370300", "532800"}


def test_the_demo_gives_the_supervision_desk_its_cases(engine) -> None:
    from sqlalchemy import select

    from gongji.store import models as m
    today = date(2025, 12, 15)
    clock = FixedClock(today)
    svc = Service(engine, clock=clock)
    counts = load(svc, clock, today, days=45)
    with engine.connect() as conn:
        found = {(rule, subject) for rule, subject in conn.execute(
            select(m.SupervisionFlag.rule, m.SupervisionFlag.subject))}
    assert counts["flags"] == len(found)
    assert {rule for rule, _ in found} >= {"pharmacy_hopping", "split_bills", "high_frequency"}
    assert ("split_bills", "person:53260201") in found


def test_every_demo_person_has_a_name_and_a_valid_id_card_number(engine) -> None:
    """The national interface's 1101 looks persons up by ID card: every demo person can be found."""
    from sqlalchemy import select
    from stdnum.cn import ric

    from gongji.store import models as m

    today = date(2025, 12, 15)
    clock = FixedClock(today)
    load(Service(engine, clock=clock), clock, today, days=1)
    with engine.connect() as conn:
        persons = conn.execute(select(m.Person.psn_no, m.Person.name, m.Person.certno)).all()
    assert len(persons) > 60
    assert [p.psn_no for p in persons if not p.name or not p.certno] == []
    assert all(ric.is_valid(p.certno) for p in persons)
    assert len({p.certno for p in persons}) == len(persons)


def _demo(engine, days: int) -> tuple[Service, FixedClock, dict]:
    today = date(2025, 12, 15)
    clock = FixedClock(today)
    svc = Service(engine, clock=clock)
    return svc, clock, load(svc, clock, today, days=days)


def _name(svc: Service, psn_no: str) -> str:
    from gongji.service import queries as q

    return svc.read(q.person_view, psn_no, unmasked=True)["name"]


def test_demo_summary_lists_the_beneficiary_logins_with_their_names(engine, monkeypatch) -> None:
    """`gongji demo` prints each portal login as 个人编号 and full name: the holder, then bound
    members of two families (a spouse, a resident child), each with the relation."""
    from typer.testing import CliRunner

    import gongji.demo
    from gongji.cli import app as cli

    real = gongji.demo.load
    monkeypatch.setattr(gongji.demo, "load", lambda *a, **kw: real(*a, **kw, days=20))  # not a whole year
    r = CliRunner().invoke(cli, ["demo", "--db", engine.url.render_as_string(hide_password=False)])
    assert r.exit_code == 0, r.output
    svc = Service(engine)
    out = " ".join(r.output.split("\n"))  # however the terminal wrapped it
    assert f"参保人(主账户)65280001 {_name(svc, '65280001')};" in out
    assert (f"被绑定人 65280002 {_name(svc, '65280002')}(配偶)、65280003 {_name(svc, '65280003')}(子女)、"
            f"53260002 {_name(svc, '53260002')}(配偶,主账户 53260001);") in out


def test_a_demo_beneficiary_logs_in_and_sees_their_own_records(engine) -> None:
    from fastapi.testclient import TestClient

    from gongji.app import create_app
    from gongji.demo import DEMO_PASSWORD

    svc, clock, counts = _demo(engine, days=60)
    logins = {p["psn_no"]: p for p in counts["demo_persons"]}
    assert logins["65280001"]["holder"] is None
    assert {no: (p["relation"], p["holder"]) for no, p in logins.items() if p["holder"]} == {
        "65280002": ("spouse", "65280001"), "65280003": ("child", "65280001"), "53260002": ("spouse", "53260001")}
    assert all(p["name"] == _name(svc, no) for no, p in logins.items())
    app = create_app(engine, clock=clock)
    for ben in ("65280003", "53260002"):  # a resident child; a member of another region's family
        client = TestClient(app)
        r = client.post("/api/v1/auth/login", json={"kind": "person", "username": ben, "password": DEMO_PASSWORD})
        assert r.status_code == 200 and r.json()["subject"] == ben, r.text
        assert client.get("/api/v1/auth/me").json()["id"] == ben
        own = client.get(f"/api/v1/accounts/{ben}/settlements").json()
        assert own["total"] > 0 and {s["psn_no"] for s in own["items"]} == {ben}
        assert client.get(f"/api/v1/accounts/{logins[ben]['holder']}/settlements").status_code in (403, 404)
        page = client.get("/portal")
        named = f"{logins[ben]['name']}({ben})"  # full name, the 个人编号 beside it
        assert page.status_code == 200 and f"我的账户 <span class=\"muted\">{named} " in page.text
        binding = page.text.split(f'data-testid="binding-{ben}"')[1].split("</tr>")[0]
        assert logins[ben]["holder"] in binding and "已生效" in binding  # the binding that pays for them
