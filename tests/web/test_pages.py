"""The main flows in Chromium: a family applies online, a clerk approves at the desk, the family
sees the binding in force; freezing; the policy comparison with its sources and badges."""

from __future__ import annotations

from bench.world import World
from gongji.service import commands as c
from gongji.service import security

PASSWORD = "family-pass-1"


def family(site: World) -> None:
    s = site.service
    s.register_person(c.RegisterPerson(psn_no="P1", insutype="310", insu_admdvs="652801", balance="3000.00"))
    s.register_person(c.RegisterPerson(psn_no="P2", insutype="390", insu_admdvs="652801"))
    s.secure(security.set_person_password, "P1", PASSWORD)
    s.secure(security.add_staff, "wang", "clerk", PASSWORD)


def login(page, base: str, kind: str, user: str) -> None:
    page.goto(f"{base}/login?kind={kind}")
    page.select_option("#kind", kind)
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def test_family_applies_clerk_approves_family_sees_it(site, browser, shot) -> None:
    family(site)
    fam = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    login(fam, site.base, "person", "P1")
    assert fam.inner_text("[data-testid=balance]") == "3000.00 元"
    fam.fill("#beneficiary", "P2")
    fam.select_option("#relation", "parent")
    fam.check("input[name=face_check]")
    fam.check("input[name=e_commitment]")
    fam.click("text=提交申请")
    assert "申请已提交" in fam.inner_text(".flash")
    row = fam.inner_text("[data-testid=binding-P2]")
    assert "待审核" in row and "审核期限 2025-01-07" in row
    shot(fam, "applied")

    desk = browser.new_page()
    login(desk, site.base, "staff", "wang")
    card = desk.locator("[data-testid^=application-]").first
    assert "P1 → P2(父母)" in card.inner_text() and "期限内" in card.inner_text()
    shot(desk, "queue")
    card.locator("text=通过").click()
    assert "已审核通过" in desk.inner_text(".flash")
    assert "没有待审核的申请" in desk.inner_text("main")

    fam.goto(f"{site.base}/portal")
    row = fam.inner_text("[data-testid=binding-P2]")
    assert "已生效" in row and "2025-01-02 起生效" in row
    fam.click("text=冻结共济支付")
    assert "共济已冻结" in fam.inner_text("main")
    shot(fam, "frozen")
    fam.on("dialog", lambda d: d.accept())
    fam.click("text=解除冻结")
    fam.locator("[data-testid=binding-P2] >> text=解绑").click()
    assert "明天起停止" in fam.inner_text(".flash")
    assert site.service.verify() == []


def test_refusals_are_shown_in_chinese(site, browser, shot) -> None:
    family(site)
    page = browser.new_page()
    login(page, site.base, "person", "P1")
    page.fill("#beneficiary", "NOBODY")
    page.check("input[name=face_check]")
    page.check("input[name=e_commitment]")
    page.click("text=提交申请")
    assert "查无此参保人" in page.inner_text(".flash")
    page.goto(f"{site.base}/desk")
    assert "无权访问" in page.inner_text("h1")
    page.goto(f"{site.base}/nowhere")
    assert "页面不存在" in page.inner_text("h1")
    shot(page, "not-found")
    anon = browser.new_page()
    anon.goto(f"{site.base}/portal")
    assert anon.url.endswith("/login?next=/portal")


def test_policy_comparison_shows_sources_and_badges(site, browser, shot) -> None:
    page = browser.new_page()
    page.goto(f"{site.base}/policies?date=2025-06-01")
    head = page.inner_text("thead")
    for name in ("巴音郭楞", "文山", "淄博", "西双版纳"):
        assert name in head
    limit_row = page.locator("tr", has_text="年度限额")
    assert "2000" in limit_row.inner_text() and "未公布" in limit_row.inner_text()
    source = limit_row.locator("span[title]").first.get_attribute("title")
    assert "“" in source  # the seed's own sentence
    assert page.locator(".badge.warn", has_text="假设").count() > 0
    shot(page, "policies")
