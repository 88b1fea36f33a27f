"""Every page on the demo data, as each audience, at desktop and phone size (390×844): nothing
scrolls sideways, axe-core finds no violation, and a screenshot of each goes to screenshots/
(git-ignored)."""

from __future__ import annotations

from datetime import date

import pytest

from gongji.app import create_app
from gongji.demo import DEMO_PASSWORD, load
from gongji.service.clock import FixedClock
from gongji.service.facade import Service
from tests.api.server import serving
from tests.web.look import PHONE, look, sizes


@pytest.fixture
def demo(engine):
    today = date(2025, 12, 15)
    clock = FixedClock(today)
    counts = load(Service(engine, clock=clock), clock, today, days=40)
    app = create_app(engine, clock=clock)
    with serving(app) as base:
        yield base, counts


def sign_in(page, base: str, kind: str, user: str) -> None:
    page.goto(f"{base}/login?kind={kind}")
    page.select_option("#kind", kind)
    page.fill("#username", user)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    assert "/login" not in page.url, (kind, user)


def test_every_page_at_both_sizes(demo, browser) -> None:
    """Each audience's pages: a screenshot at each size, no axe-core violation, nothing sideways."""
    base, counts = demo
    holder = counts["demo_holder"]
    beneficiary = next(p["psn_no"] for p in counts["demo_persons"] if p["holder"])  # a bound member's own login
    audiences = [
        (None, None, ["/", "/login", "/policies", "/policies?date=2025-03-01"]),
        ("person", holder, ["/portal", "/policies"]),
        ("person", beneficiary, ["/portal"]),
        ("staff", "demo-clerk", ["/desk", "/desk/office", "/desk/reimburse", "/dashboard", "/people",
                                 f"/people/{holder}"]),
        ("staff", "demo-supervisor", ["/desk/office", "/desk/reimburse", "/dashboard"]),
        ("staff", "demo-auditor", ["/audit", "/people", "/desk/supervision"]),
        ("staff", "demo-admin", ["/admin/institutions", "/admin/staff", "/audit"]),
        ("cashier", "demo-cashier", ["/cashier", f"/cashier?patient={holder[:6]}02", "/cashier/history",
                                     "/cashier/history?page=2"]),
    ]
    failures = []
    for kind, user, paths in audiences:
        for size, page in sizes(browser):
            if kind:
                sign_in(page, base, kind, user)
            for path in paths:
                page.goto(f"{base}{path}")
                assert page.locator("main").count() == 1, path
                name = f"{user or 'public'}{path}".replace("/", "_").replace("?", "_").replace("=", "-")
                try:
                    look(page, f"page-{name}-{size}")
                except AssertionError as e:
                    failures.append(str(e))
    assert not failures, "\n".join(failures)


def test_policy_sources_open_by_tap(demo, browser) -> None:
    base, _ = demo
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(f"{base}/policies?date=2025-06-01")
    row = page.locator("tr", has=page.get_by_role("rowheader", name="年度限额", exact=True))
    source = row.locator("details").first
    assert not source.locator(".source").is_visible()
    source.locator("summary").tap()
    quote = source.locator(".source")
    assert quote.is_visible() and "“" in quote.inner_text()
    context.close()
