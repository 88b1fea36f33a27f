"""People by full name with the 个人编号 beside it (or the number and 未登记姓名), regions by their
GB/T 2260 names, relations and states in words: on the portal, the review desk, the office's
outcome, the dashboard and the policy comparison, each looked at on a desktop and at 390×844."""

from __future__ import annotations

from playwright.sync_api import expect

from gongji.service import commands as c
from gongji.service import security
from tests.web.dialog import confirm
from tests.web.look import look, sizes
from tests.web.test_pages import PASSWORD, login

KORLA = "新疆维吾尔自治区 巴音郭楞蒙古自治州 库尔勒市"


def named_family(site) -> None:
    s = site.service
    s.register_person(c.RegisterPerson(psn_no="P1", insutype="310", insu_admdvs="652801", balance="3000.00",
                                       name="王建国"))
    s.register_person(c.RegisterPerson(psn_no="P2", insutype="390", insu_admdvs="652801", name="李秀英"))
    s.register_person(c.RegisterPerson(psn_no="P3", insutype="390", insu_admdvs="652801"))  # no name on record
    s.secure(security.set_person_password, "P1", password=PASSWORD)
    s.secure(security.add_staff, "wang", "clerk", password=PASSWORD)
    s.secure(security.add_staff, "zhao", "supervisor", password=PASSWORD)
    done = s.apply(c.Apply(holder="P1", beneficiary="P2", relation="parent", channel="online"))
    s.review(c.Review(binding_id=done["id"], decision="approve"))
    s.apply(c.Apply(holder="P1", beneficiary="P3", relation="child", channel="online"))


def test_the_family_sees_names_and_places(site, browser) -> None:
    named_family(site)
    for size, page in sizes(browser):
        login(page, site.base, "person", "P1")
        header = page.inner_text("h1")
        assert "王建国(P1)" in header and "职工医保" in header and KORLA in header
        approved = page.inner_text("[data-testid=binding-P2]")
        assert "李秀英(P2)" in approved and "父母" in approved and "已生效" in approved
        pending = page.inner_text("[data-testid=binding-P3]")
        assert "P3(未登记姓名)" in pending and "子女" in pending and "待审核" in pending
        options = page.locator("#person option").all_inner_texts()
        assert options == ["全部", "王建国(P1)", "李秀英(P2)", "P3(未登记姓名)"]
        assert "parent" not in page.inner_text("main") and "652801" not in header
        look(page, f"names-portal-{size}")


def test_the_desk_queue_names_both_sides_and_the_region(site, browser) -> None:
    named_family(site)
    for size, page in sizes(browser):
        login(page, site.base, "staff", "wang")
        card = page.locator("[data-testid^=application-]").first.inner_text()
        assert "王建国(P1) → P3(未登记姓名) · 子女" in card and "巴音郭楞蒙古自治州 · 线上" in card
        look(page, f"names-desk-{size}")


def test_the_office_outcome_names_the_person(site, browser) -> None:
    named_family(site)
    for size, page in sizes(browser):
        login(page, site.base, "staff", "zhao")
        page.goto(f"{site.base}/desk/office")
        page.fill("#holder", "P1")
        page.locator("#holder").dispatch_event("change")
        legend = page.locator("#materials legend", has_text="线下申请材料")
        legend.wait_for()
        assert legend.inner_text().startswith("王建国(P1) · 巴音郭楞蒙古自治州线下申请材料")
        page.fill("#x-psn", "P2")
        page.fill("#x-from", "2025-01-02")
        page.fill("#x-to", "2025-03-31")
        page.get_by_role("button", name="暂停共济").click()
        confirm(page, "确认暂停")
        expect(page.locator(".flash")).to_contain_text("已暂停 李秀英(P2) 的共济:2025-01-02 至 2025-03-31")
        look(page, f"names-office-{size}")


def test_regions_by_name_on_the_dashboard_and_the_comparison(site, browser) -> None:
    named_family(site)
    for size, page in sizes(browser):
        login(page, site.base, "staff", "wang")
        page.goto(f"{site.base}/dashboard")
        main = page.inner_text("main")
        for name in ("巴音郭楞蒙古自治州", "文山壮族苗族自治州", "西双版纳傣族自治州", "淄博市"):
            assert name in main, name
        look(page, f"names-dashboard-{size}")
        page.goto(f"{site.base}/policies?date=2025-06-01")
        heads = page.locator("table.compare thead th").all_inner_texts()
        assert heads[0] == "对比项" and "文山壮族苗族自治州 云南省" in heads and "淄博市 山东省" in heads
        assert "巴音郭楞蒙古自治州 新疆维吾尔自治区" in heads
        body = page.inner_text("table.compare tbody")
        assert "配偶" in body and "spouse" not in body and "2级" not in body
        look(page, f"names-policies-{size}")
