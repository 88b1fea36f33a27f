"""An app on a database, and a client per kind of caller: anonymous, each staff role (logged in,
with the CSRF header), a signed client per institution, a logged-in client per person. Used by the
API tests and by the fuzzing bench."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from gongji.app import create_app
from gongji.client import InstitutionAuth
from gongji.service import security
from gongji.service.clock import FixedClock

ROLES = ("clerk", "supervisor", "auditor", "admin")


def logged_in(c: TestClient, kind: str, username: str, password: str) -> TestClient:
    """``c`` logged in over REST, carrying its CSRF header."""
    r = c.post("/api/v1/auth/login", json={"kind": kind, "username": username, "password": password})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c


class World:
    def __init__(self, engine) -> None:
        self.clock = FixedClock(date(2025, 1, 2))
        self.app = create_app(engine, clock=self.clock)
        self.service = self.app.state.service
        self.anon = self.client()
        self._people: dict[str, TestClient] = {}
        self.passwords: dict[str, str] = {}
        for role in ROLES:
            password = self.passwords[f"{role}1"] = self.service.secure(security.add_staff, f"{role}1", role)
            setattr(self, role, self.login("staff", f"{role}1", password))

    def client(self, auth=None) -> TestClient:
        c = TestClient(self.app, raise_server_exceptions=False)
        if auth is not None:
            c.auth = auth
        return c

    def login(self, kind: str, username: str, password: str) -> TestClient:
        return logged_in(self.client(), kind, username, password)

    def inst(self, code: str) -> TestClient:
        secret = security.institution_secret(self.service.engine, code)
        assert secret, f"institution {code} has no secret"
        return self.client(auth=InstitutionAuth(code, secret))

    def person(self, psn_no: str) -> TestClient:
        if psn_no not in self._people:
            password = self.passwords[psn_no] = self.service.secure(security.set_person_password, psn_no)
            self._people[psn_no] = self.login("person", psn_no, password)
        return self._people[psn_no]

    def fresh(self, kind: str, name: str) -> TestClient:
        """A new client (its own session) for the same caller."""
        if kind == "anonymous":
            return self.client()
        if kind == "institution":
            return self.inst(name)
        return self.login(kind, name, self.passwords[name])

