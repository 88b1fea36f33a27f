"""Logins and the server log against a real ``gongji serve`` process (issue 12, items 9 and 11),
on SQLite and on PostgreSQL (there with two server processes, so attempts really race)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import httpx
from sqlalchemy import select, text

from gongji.logs import ID_CARD, PHONE
from gongji.service import security
from gongji.service.commands import RegisterPerson
from gongji.service.facade import Service
from gongji.service.uow import run
from gongji.store import models as m
from tests.api.live import live_server

RIGHT = "the-right-password-9"
CERTNO, MOBILE = "652801198001011238", "13912345678"


def login(url: str, username: str, password: str, kind: str = "person") -> httpx.Response:
    """One login, answered: a 429 (the login queue is full) is retried after its Retry-After."""
    while True:
        r = httpx.post(f"{url}/api/v1/auth/login", json={"kind": kind, "username": username, "password": password},
                       timeout=120)
        if r.status_code != 429:
            return r
        time.sleep(float(r.headers["retry-after"]))


def test_forty_parallel_wrong_passwords_check_five_and_lock(engine, tmp_path) -> None:
    Service(engine).register_person(RegisterPerson(psn_no="L1", insutype="390", insu_admdvs="652801"))
    run(engine, lambda uow: security.set_person_password(uow, "L1", password=RIGHT))
    workers = 1 if engine.dialect.name == "sqlite" else 2
    with live_server(engine, tmp_path, workers) as server:
        with ThreadPoolExecutor(40) as pool:
            answers = list(pool.map(lambda i: login(server.url, "L1", f"guess-{i}"), range(40)))
        refused_right = login(server.url, "L1", RIGHT)
    assert [a.status_code for a in answers] == [401] * 40
    assert len({a.text for a in answers}) == 1  # wrong and locked answered alike
    log = server.log()
    assert log.count("login refused (WRONG_PASSWORD)") == security.MAX_FAILURES  # guesses really checked
    assert log.count("login refused (LOCKED)") == 40 - security.MAX_FAILURES + 1
    assert refused_right.status_code == 401 and "set-cookie" not in refused_right.headers
    locked_until = run(engine, lambda uow: uow.session.scalar(
        select(m.Person.locked_until).where(m.Person.psn_no == "L1")), write=False)
    assert locked_until is not None and locked_until > datetime.now()


def test_a_crash_logs_no_id_card_or_phone_number(engine, tmp_path) -> None:
    """A fault injected into the test's own database (a trigger refusing every new person, with
    personal data in its message) makes registering a person crash in the real server: uvicorn's
    "Exception in ASGI application" traceback, gongji's own error line and SQLAlchemy's message
    (which repeats the statement's parameters) must all come out masked."""
    run(engine, lambda uow: security.add_staff(uow, "clerk7", "clerk", password=RIGHT))
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as c:
        if sqlite:
            c.execute(text(f"CREATE TRIGGER boom BEFORE INSERT ON persons "
                           f"BEGIN SELECT RAISE(ABORT, 'refused {CERTNO} {MOBILE}'); END"))
        else:
            c.execute(text("CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS "
                           "$$ BEGIN RAISE EXCEPTION 'refused % %', NEW.certno, NEW.phone; END $$"))
            c.execute(text("CREATE TRIGGER boom BEFORE INSERT ON persons FOR EACH ROW EXECUTE FUNCTION boom()"))
    try:
        with live_server(engine, tmp_path, workers=1 if sqlite else 2) as server:  # both ways uvicorn logs
            client = httpx.Client(base_url=server.url, timeout=120)
            csrf = client.post("/api/v1/auth/login", json={"kind": "staff", "username": "clerk7",
                                                           "password": RIGHT}).json()["csrf_token"]
            r = client.post("/api/v1/persons", headers={"X-CSRF-Token": csrf},
                            json={"psn_no": "Q1", "insutype": "390", "insu_admdvs": "652801", "certno": CERTNO,
                                  "phone": MOBILE})
            assert r.status_code == 500 and CERTNO not in r.text
    finally:
        with engine.begin() as c:
            c.execute(text("DROP TRIGGER boom" if sqlite else "DROP TRIGGER boom ON persons"))
            if not sqlite:
                c.execute(text("DROP FUNCTION boom()"))
    log = server.log()
    assert "Exception in ASGI application" in log and "unhandled error on /api/v1/persons" in log
    assert "652801********1238" in log and "139****5678" in log
    leaks = [line for line in log.splitlines() if ID_CARD.search(line) or PHONE.search(line)]
    assert not leaks, leaks[:5]
