"""Item 8: every page at phone size (390×844) on the demo data, as each audience: nothing scrolls
sideways, and a screenshot per page at phone and desktop size goes to screenshots/ (git-ignored)."""

from __future__ import annotations

from datetime import date

import pytest

from gongji.app import create_app
from gongji.demo import DEMO_PASSWORD, load
from gongji.service.clock import FixedClock
from gongji.service.facade import Service
from tests.api.server import serving
from tests.web.conftest import SHOTS

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


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


def overflow(page) -> dict:
    return page.evaluate("""() => ({
        scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
        wide: [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
              .slice(0, 5).map(e => e.tagName + (e.className ? '.' + e.className : '') + ' ' + (e.textContent || '').trim().slice(0, 30)),
    })""")


def test_no_page_scrolls_sideways_on_a_phone(demo, browser) -> None:
    base, counts = demo
    holder = counts["demo_holder"]
    audiences = [
        (None, None, ["/", "/login", "/policies", "/policies?date=2025-03-01"]),
        ("person", holder, ["/portal", "/policies"]),
        ("staff", "demo-clerk", ["/desk", "/desk/office", "/desk/reimburse", "/dashboard"]),
        ("staff", "demo-supervisor", ["/desk/office", "/desk/reimburse", "/dashboard"]),
        ("cashier", "demo-cashier", ["/cashier", f"/cashier?patient={holder[:6]}02"]),
    ]
    SHOTS.mkdir(exist_ok=True)
    failures = []
    for kind, user, paths in audiences:
        for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            if kind:
                sign_in(page, base, kind, user)
            for path in paths:
                page.goto(f"{base}{path}")
                assert page.locator("main").count() == 1, path
                name = f"{user or 'public'}{path}".replace("/", "_").replace("?", "_").replace("=", "-")
                page.screenshot(path=str(SHOTS / f"phone-{name}-{size}.png"), full_page=True)
                if size == "phone":
                    o = overflow(page)
                    if o["scroll"] > o["inner"]:
                        failures.append((user or "public", path, o))
                    # every button can be reached: inside the page's width
                    for box in page.locator("main button:visible").evaluate_all(
                            "bs => bs.map(b => [b.textContent.trim(), b.getBoundingClientRect().right])"):
                        if box[1] > PHONE["width"] + 0.5:
                            failures.append((user or "public", path, {"button": box}))
            context.close()
    assert not failures, "\n".join(map(str, failures))


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
