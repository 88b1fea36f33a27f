"""No password, secret or password hash in the audit trail, in a log line or in a database error:
every security flow (staff, cashiers, person passwords, institution secrets, logins, the demo's
chosen passwords, the command line) is run, then every audit row and every log line is scanned
for every secret those flows used or stored."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from bench.world import World
from gongji.cli import app as cli
from gongji.demo import DEMO_PASSWORD
from gongji.demo import load as load_demo
from gongji.service import audit, security
from gongji.service import commands as c
from gongji.service.clock import FixedClock
from gongji.service.facade import Service
from gongji.store import models as m
from tests.conftest import CAPTURE

CHOSEN = "Chosen-pass-7431"  # a password picked by the caller, as the demo picks its own
SECURITY_ACTIONS = ("add_staff", "add_cashier", "set_person_password", "new_institution_secret")


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _cli_password(engine, *args: str) -> str:
    r = CliRunner().invoke(cli, [*args, "--db", _url(engine)])
    assert r.exit_code == 0, r.output
    return r.output.strip().splitlines()[-1]


def _stored_secrets(engine) -> set[str]:
    """Every password hash and institution secret the database holds."""
    with engine.connect() as conn:
        found = {h for t in (m.Staff, m.Person, m.Cashier) for h in conn.execute(select(t.password_hash)).scalars()}
        found |= set(conn.execute(select(m.Institution.secret)).scalars())
    return {s for s in found if s}


def test_no_secret_in_the_audit_trail_or_the_logs(engine) -> None:
    first_log_line = len(CAPTURE.lines)
    api = World(engine)  # four staff, added with made-up passwords, logged in
    secrets = set(api.passwords.values())
    r = api.admin.post("/api/v1/institutions", json={"code": "H1", "level": 2, "admdvs": "652801", "kind": "hospital"})
    secrets.add(r.json()["secret"])
    secrets.add(api.admin.post("/api/v1/institutions/H1/rotate-secret").json()["secret"])
    secrets.add(api.admin.post("/api/v1/staff", json={"username": "new1", "role": "clerk"}).json()["password"])
    api.service.register_person(c.RegisterPerson(psn_no="P1", insutype="310", insu_admdvs="652801"))
    secrets.add(api.clerk.post("/api/v1/persons/P1/password").json()["password"])
    api.person("P1")  # sets a password of its own and logs in
    secrets.update(api.passwords.values())
    # chosen passwords, the way the demo gives them
    api.service.secure(security.add_staff, "chosen1", "auditor", password=CHOSEN)
    api.service.secure(security.add_cashier, "till1", "H1", password=CHOSEN)
    api.service.register_person(c.RegisterPerson(psn_no="P2", insutype="390", insu_admdvs="652801"))
    api.service.secure(security.set_person_password, "P2", password=CHOSEN)
    for kind, name in (("staff", "chosen1"), ("cashier", "till1"), ("person", "P2")):
        api.login(kind, name, CHOSEN)
        api.anon.post("/api/v1/auth/login", json={"kind": kind, "username": name, "password": CHOSEN + "x"})
    secrets |= {CHOSEN, CHOSEN + "x"}
    # the command line
    secrets.add(_cli_password(engine, "staff", "add", "cli1", "--role", "clerk", "--area", "00"))
    secrets.add(_cli_password(engine, "institution", "add-cashier", "H1", "till2"))
    secrets.add(_cli_password(engine, "institution", "rotate-secret", "H1"))
    secrets |= _stored_secrets(engine)
    assert len(secrets) > 12

    A = m.AuditEntry
    with engine.connect() as conn:
        rows = conn.execute(select(A.id, A.at, A.actor, A.action, A.target, A.payload_digest, A.prev_hash,
                                   A.hash)).all()
    assert {"add_staff", "add_cashier", "set_person_password", "new_institution_secret"} <= {r.action for r in rows}
    for row in rows:
        fields = (row.at, row.actor, row.action, row.target, row.payload_digest, row.prev_hash, row.hash)
        assert not [s for s in secrets for f in fields if s in f], f"audit entry {row.id} holds a secret"
        if row.action in SECURITY_ACTIONS:  # the digest is of the recorded arguments alone
            assert row.payload_digest == audit.digest({"args": row.target.split(":")}), row.target
    lines = CAPTURE.lines[first_log_line:]
    assert any("login refused" in line for line in lines)
    assert not [line for line in lines for s in secrets if s in line]


def test_the_demo_logins_leave_no_password_in_the_trail(engine) -> None:
    today = date(2025, 12, 15)
    clock = FixedClock(today)
    load_demo(Service(engine, clock=clock), clock, today, days=1)
    with engine.connect() as conn:
        targets = conn.execute(select(m.AuditEntry.target).where(m.AuditEntry.action.in_(SECURITY_ACTIONS))).scalars()
        assert "demo-clerk:clerk" in set(targets)
        assert conn.execute(select(m.AuditEntry.id).where(m.AuditEntry.target.contains(DEMO_PASSWORD))).first() is None


def test_a_database_error_does_not_carry_the_values_written(engine) -> None:
    hashed = security._hasher.hash(CHOSEN)
    with pytest.raises(IntegrityError) as e:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO persons (psn_no, insutype, insu_admdvs, status, mulaid_frozen,"
                              " registered_on, password_hash, failed_logins)"
                              " VALUES ('P1', '390', '652801', 'active', false, '2025-01-01', :h, 0)"),
                         [{"h": hashed}, {"h": hashed}])
    assert hashed not in str(e.value) and "hidden" in str(e.value)
