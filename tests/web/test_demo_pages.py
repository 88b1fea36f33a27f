"""Every page against the demo data (as `make run` loads it), as the people who use it: each
answers 200 with Chinese content and nothing a person should not see (no codes, no traceback)."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient

from gongji.app import create_app
from gongji.demo import DEMO_PASSWORD, load
from gongji.service.clock import FixedClock
from gongji.service.facade import Service


def test_pages_on_demo_data(engine) -> None:
    today = date(2025, 12, 15)
    clock = FixedClock(today)
    counts = load(Service(engine, clock=clock), clock, today, days=40)
    app = create_app(engine, clock=clock)

    def visit(kind: str, user: str, paths: list[str]) -> None:
        client = TestClient(app)
        r = client.post("/login", data={"kind": kind, "username": user, "password": DEMO_PASSWORD})
        assert r.status_code == 200 and "登录" not in r.url.path, (kind, user)
        for path in paths:
            r = client.get(path)
            assert r.status_code == 200, (path, r.status_code)
            assert 'lang="zh-CN"' in r.text and "Traceback" not in r.text
            for raw in ("NOT_BOUND", "CAP_SETTLEMENT", "INVALID_INPUT", "None"):
                assert raw not in r.text.split("<main>")[1], (path, raw)

    visit("person", counts["demo_holder"], ["/portal", "/policies"])
    visit("staff", "demo-clerk", ["/desk", "/desk/office", "/dashboard"])
    visit("staff", "demo-supervisor", ["/desk/office", "/dashboard"])
    visit("staff", "demo-auditor", ["/people", f"/people/{counts['demo_holder']}", "/audit"])
    visit("staff", "demo-admin", ["/audit", "/audit?action=settle&page=2", "/admin/institutions", "/admin/staff"])
    for region in ("652800", "532600", "370300", "532800"):  # a clerk per prefecture sees its own queue
        visit("staff", f"demo-clerk-{region}", ["/desk", "/dashboard"])
        client = TestClient(app)
        client.post("/login", data={"kind": "staff", "username": f"demo-clerk-{region}", "password": DEMO_PASSWORD})
        holders = re.findall(r"<h2>[^<(]+\((\w+)\) →", client.get("/desk").text)  # 王建国(652801…) →
        assert holders and all(h.startswith(region[:4]) for h in holders), (region, holders)
    visit("cashier", "demo-cashier", ["/cashier", f"/cashier?patient={counts['demo_holder'][:6]}02"])
    anon = TestClient(app)
    for path in ("/", "/policies", "/policies?date=2025-03-01", "/login"):
        assert anon.get(path).status_code == 200
