"""The supervision pages in Chromium at phone width (360 px) and desktop: nothing scrolls sideways,
axe-core finds nothing, the chart is drawn, and a clerk confirms a flag by the page's own form."""

from __future__ import annotations

from gongji.service import commands as c
from tests.api.server import serving
from tests.web.look import look
from tests.web.test_supervision_pages import build

NARROW = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


def sign_in(page, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/login?kind=staff")
    page.select_option("#kind", "staff")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit]")
    assert "/login" not in page.url


def test_the_pages_at_360_px_and_a_decision_by_form(engine, browser) -> None:
    w = build(engine)
    confirmed = w.family_flag
    w.service.decide_flag(c.FlagDecision(flag_id=confirmed, decision="confirm", reason="核实"), actor="staff:clerk1")
    with serving(w.app) as base:
        for name, viewport in (("narrow", NARROW), ("desktop", DESKTOP)):
            ctx = browser.new_context(viewport=viewport, locale="zh-CN")
            page = ctx.new_page()
            sign_in(page, base, "supervisor1", w.passwords["supervisor1"])
            for path in ("/desk/supervision", f"/desk/supervision/{confirmed}", f"/desk/supervision/{w.low}"):
                page.goto(f"{base}{path}")
                look(page, f"supervision-{path.replace('/', '_')}-{name}")
            ctx.close()

        ctx = browser.new_context(viewport=NARROW, locale="zh-CN")
        page = ctx.new_page()
        sign_in(page, base, "clerk1", w.passwords["clerk1"])
        page.goto(f"{base}/desk/supervision")
        assert page.locator("svg.chart rect[data-rule]").count() == 3
        page.click(f'[data-testid="flag-{w.low}"] a')
        page.fill("#d-reason", "慢病患者按月取药,属正常")
        page.click("button[value=exclude]")
        assert "已排除该线索" in page.inner_text("main")
        look(page, "supervision-decided-narrow")
        ctx.close()


def test_the_chart_reads_on_a_phone(engine, browser) -> None:
    """At 360 px the chart's words (最高 N 条, the weeks) are drawn at least 10 px high, whole
    inside the chart, not the 5 px a 640-wide drawing shrinks them to."""
    w = build(engine)
    with serving(w.app) as base:
        for viewport in (NARROW, DESKTOP):
            ctx = browser.new_context(viewport=viewport, locale="zh-CN")
            page = ctx.new_page()
            sign_in(page, base, "clerk1", w.passwords["clerk1"])
            page.goto(f"{base}/desk/supervision")
            box = page.locator("svg.chart").bounding_box()
            texts = page.locator("svg.chart text").evaluate_all(
                "ts => ts.map(t => { const r = t.getBoundingClientRect(); "
                "return [t.textContent, r.height, r.top, r.bottom, r.left, r.right]; })")
            assert texts
            for text, height, top, bottom, _left, right in texts:
                assert height >= 10, (viewport, text, height)
                assert top >= box["y"] - 0.5 and bottom <= box["y"] + box["height"] + 0.5, (viewport, text)
                assert right <= box["x"] + box["width"] + 0.5, (viewport, text)
            ctx.close()


def test_a_sanctioned_persons_page_fits_a_phone(engine, browser) -> None:
    from tests.web.look import problems
    w = build(engine)
    w.service.decide_flag(c.FlagDecision(flag_id=w.family_flag, decision="confirm", reason="核实"), actor="staff:clerk1")
    w.service.sanction_flag(c.FlagSanction.model_validate({"flag_id": w.family_flag, "reason": "套现"}),
                            actor="staff:supervisor1")
    with serving(w.app) as base:
        ctx = browser.new_context(viewport=NARROW, locale="zh-CN")
        page = ctx.new_page()
        sign_in(page, base, "clerk1", w.passwords["clerk1"])
        page.goto(f"{base}/people/A")
        assert page.locator('[data-testid="sanction"]').count() == 1
        assert problems(page) == []
        ctx.close()
