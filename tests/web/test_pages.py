"""The main flows in Chromium: a family applies online, a clerk approves at the desk, the family
sees the binding in force; freezing; the policy comparison with its sources and badges."""

from __future__ import annotations

from playwright.sync_api import expect

from bench.world import World
from gongji.service import commands as c
from gongji.service import queries as q
from gongji.service import security
from tests.web.dialog import confirm

PASSWORD = "family-pass-1"


def family(site: World) -> None:
    s = site.service
    s.register_person(c.RegisterPerson(psn_no="P1", insutype="310", insu_admdvs="652801", balance="3000.00"))
    s.register_person(c.RegisterPerson(psn_no="P2", insutype="390", insu_admdvs="652801"))
    s.secure(security.set_person_password, "P1", password=PASSWORD)
    s.secure(security.add_staff, "wang", "clerk", password=PASSWORD)


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
    expect(fam.locator(".flash")).to_contain_text("申请已提交")
    row = fam.inner_text("[data-testid=binding-P2]")
    assert "待审核" in row and "审核期限 2025-01-07" in row
    shot(fam, "applied")

    desk = browser.new_page()
    login(desk, site.base, "staff", "wang")
    card = desk.locator("[data-testid^=application-]").first
    assert "P1(未登记姓名) → P2(未登记姓名) · 父母" in card.inner_text() and "期限内" in card.inner_text()
    assert "巴音郭楞蒙古自治州" in card.inner_text()
    shot(desk, "queue")
    card.locator("text=通过").click()
    expect(desk.locator(".flash")).to_contain_text("已审核通过")
    assert "没有待审核的申请" in desk.inner_text("main")

    fam.goto(f"{site.base}/portal")
    row = fam.inner_text("[data-testid=binding-P2]")
    assert "已生效" in row and "2025-01-02 起生效" in row
    fam.click("text=冻结共济支付")
    assert "共济已冻结" in fam.inner_text("main")
    shot(fam, "frozen")
    fam.click("text=解除冻结")
    fam.locator("[data-testid=binding-P2] >> text=解绑").click()
    dialog = fam.locator("#confirm-dialog")
    assert "P2" in dialog.inner_text() and "明天起停止" in dialog.inner_text()
    dialog.locator("text=取消").click()  # nothing happens
    assert fam.locator("[data-testid=binding-P2]").inner_text().count("已生效") == 1
    fam.locator("[data-testid=binding-P2] >> text=解绑").click()
    dialog.locator("text=确认解绑").click()
    expect(fam.locator(".flash")).to_contain_text("明天起停止")
    assert site.service.verify() == []


def test_refusals_are_shown_in_chinese(site, browser, shot) -> None:
    family(site)
    page = browser.new_page()
    login(page, site.base, "person", "P1")
    page.fill("#beneficiary", "NOBODY")
    page.check("input[name=face_check]")
    page.check("input[name=e_commitment]")
    page.click("text=提交申请")
    assert "无法为该人员办理绑定" in page.inner_text(".flash")  # never whether that person exists
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
    limit_row = page.locator("tr", has=page.get_by_role("rowheader", name="年度限额", exact=True))
    assert "2000" in limit_row.inner_text() and "未公布" in limit_row.inner_text()
    source = limit_row.locator("details.src .source").first.text_content()
    assert "“" in source  # the seed's own sentence
    assert page.locator(".badge.warn", has_text="假设").count() > 0
    shot(page, "policies")


def test_cashier_settles_family_sees_record_pdf_and_excel(site, browser, shot, tmp_path) -> None:
    import io
    from datetime import datetime

    import openpyxl
    from pypdf import PdfReader

    from gongji.web import documents

    family(site)
    s = site.service
    s.register_institution(c.RegisterInstitution(code="H1", level=2, admdvs="652801", kind="hospital", name="库尔勒市人民医院"))
    s.secure(security.add_cashier, "li", "H1", password=PASSWORD)
    applied = s.apply(c.Apply(holder="P1", beneficiary="P2", relation="parent", channel="online"))
    s.review(c.Review(binding_id=applied["id"], decision="approve"))

    desk = browser.new_page()
    login(desk, site.base, "cashier", "li")
    assert desk.url.endswith("/cashier")
    desk.fill("#patient", "P2")
    desk.click("text=查询")
    assert "P2" in desk.inner_text("[data-testid=patient]")
    desk.fill("[aria-label=第1行编码]", "X001")  # not in any catalogue here: the cashier's class stays
    desk.fill("[aria-label=第1行名称]", "血常规")
    desk.select_option("[aria-label=第1行费用类型]", "exam")
    desk.fill("[aria-label=第1行金额]", "300.00")
    rows = [("X2", "阿莫西林", "B", "drug", "100.00", "0.10"), ("X3", "营养品", "C", "drug", "50.00", "")]
    for i, (code, name, cls, cat, amount, prop) in enumerate(rows, start=2):
        desk.fill(f"[aria-label=第{i}行编码]", code)
        desk.fill(f"[aria-label=第{i}行名称]", name)
        desk.select_option(f"[aria-label=第{i}行类别]", cls)
        desk.select_option(f"[aria-label=第{i}行费用类型]", cat)
        desk.fill(f"[aria-label=第{i}行金额]", amount)
        if prop:
            desk.fill(f"[aria-label=第{i}行自付比例]", prop)
    desk.click("text=预结算")
    split = desk.locator("#split [data-testid=split]")
    split.wait_for()
    assert "255.00 元" in split.inner_text() and "145.00 元" in split.inner_text()
    shot(desk, "preview")
    desk.get_by_role("button", name="结算", exact=True).click()
    done = desk.inner_text("[data-testid=done]")
    assert "结算完成 · S00000001" in done and "255.00 元" in done
    shot(desk, "settled")

    fam = browser.new_page()
    login(fam, site.base, "person", "P1")
    row = fam.locator("tr", has_text="S00000001")
    assert "-255.00" in row.inner_text() and "P2" in row.inner_text()
    pdf = fam.request.get(f"{site.base}/statements/S00000001.pdf")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
    for amount in ("450.00", "145.00", "255.00", "50.00", "S00000001"):
        assert amount in text
    with fam.expect_download() as download:
        fam.click("text=导出 Excel")
    assert download.value.suggested_filename == "records-P1.xlsx"
    download.value.save_as(tmp_path / "records.xlsx")
    book = openpyxl.load_workbook(tmp_path / "records.xlsx")
    sheet = book["收支明细"]
    cells = [[c.value for c in r] for r in sheet.iter_rows(min_row=3)]
    assert [datetime(2025, 1, 2), "医疗费用支付", -255, documents.UNREGISTERED, "P2", "S00000001"] in cells
    assert book["共济授权记录"]["F2"].value == "已生效"
    fam.select_option("#person", "P1")
    fam.click("text=筛选")
    assert fam.locator("tr", has_text="S00000001").count() == 0  # only bills of P1 now
    shot(fam, "records")

    desk.goto(f"{site.base}/cashier")
    desk.locator("[data-testid=recent-S00000001] >> text=冲正").click()
    assert "S00000001" in desk.inner_text("#confirm-dialog")
    desk.locator("#confirm-dialog >> text=确认冲正").click()
    expect(desk.locator(".flash")).to_contain_text("已冲正")
    assert site.service.verify() == []


def test_window_office_and_dashboard(site, browser, shot) -> None:
    family(site)
    s = site.service
    s.secure(security.add_staff, "zhao", "supervisor", password=PASSWORD)
    s.register_person(c.RegisterPerson(psn_no="P3", insutype="390", insu_admdvs="652801"))
    page = browser.new_page()
    login(page, site.base, "staff", "zhao")
    page.goto(f"{site.base}/desk/office")
    page.fill("#holder", "P1")
    page.fill("#beneficiary", "P3")
    page.select_option("#relation", "child")
    page.locator("#holder").dispatch_event("change")
    page.locator("#materials input[value=家庭共济申请表]").check()  # HTMX brought the region's list
    page.locator("#materials input[value=主账户人社保卡]").check()
    shot(page, "offline-form")
    page.click("text=提交申请")
    card = page.locator("[data-testid^=application-]").first
    assert "线下窗口" in card.inner_text()
    assert "✓ 家庭共济申请表" in card.inner_text() and "✗ 被绑定人户口本或结婚证等关系证明" in card.inner_text()
    card.locator("select").select_option("材料不全")
    card.get_by_role("button", name="驳回").click()
    expect(page.locator(".flash")).to_contain_text("已驳回")

    page.goto(f"{site.base}/desk/office")
    page.fill("#x-psn", "P1")
    page.fill("#x-from", "2025-01-02")
    page.fill("#x-to", "2025-03-31")
    page.get_by_role("button", name="暂停共济").click()
    confirm(page, "确认暂停")  # tests/web/test_confirm.py: what it says
    expect(page.locator(".flash")).to_contain_text("已暂停 P1(未登记姓名) 的共济")
    page.fill("#s-psn", "P1")
    page.select_option("#s-status", "transferred")
    page.click("text=确认变更")
    confirm(page, "确认变更")
    expect(page.locator(".flash")).to_contain_text("已变更 P1(未登记姓名) 的参保状态:终止绑定 0 个")

    page.goto(f"{site.base}/dashboard")
    assert page.locator("svg").count() == 3 and "各地区共济支付" in page.inner_text("main")
    shot(page, "dashboard")
    assert site.service.verify() == []


def test_manual_reimbursement_of_a_remote_bill(site, browser, shot) -> None:
    family(site)
    site.clock.day = site.clock.day.replace(month=6, day=20)
    page = browser.new_page()
    login(page, site.base, "staff", "wang")
    page.goto(f"{site.base}/desk/reimburse")
    page.fill("#claim_no", "BX-2025-0001")
    page.fill("#psn_no", "P2")
    page.fill("#visit_on", "2025-06-03")
    page.fill("#i-code", "BJ01")
    page.fill("#i-name", "北京某医院")
    page.fill("#i-admdvs", "110105")
    page.select_option("[aria-label=第1行费用类型]", "exam")
    page.fill("[aria-label=第1行金额]", "300.00")
    page.click("text=计算并登记")
    confirm(page, "确认登记")
    done = page.inner_text("[data-testid=done]")
    # resident, level 2, Bayingolin: (300 − 100) × 50% = 100 paid back; the rest was the patient's
    assert "应付参保人 100.00 元" in done and "200.00 元" in done
    shot(page, "reimbursed")
    pdf = page.request.get(f"{site.base}/statements/S00000001.pdf")
    assert pdf.status == 200
    assert site.service.verify() == []


def test_a_large_reimbursement_waits_for_a_second_supervisor(site, browser, shot) -> None:
    family(site)
    site.service.secure(security.add_staff, "li", "supervisor", password=PASSWORD)
    site.clock.day = site.clock.day.replace(month=6, day=20)
    clerk = browser.new_page()
    login(clerk, site.base, "staff", "wang")
    clerk.goto(f"{site.base}/desk/reimburse")
    for field, value in (("#claim_no", "BX-2025-0002"), ("#psn_no", "P2"), ("#visit_on", "2025-06-03"),
                         ("#i-code", "BJ01"), ("#i-admdvs", "110105"), ("[aria-label=第1行金额]", "20000.00")):
        clerk.fill(field, value)
    clerk.select_option("[aria-label=第1行费用类型]", "exam")
    clerk.click("text=计算并登记")
    confirm(clerk, "确认登记")
    # (20000 − 100) × 50% = 9950, above Bayingolin's 5000: recorded, not paid
    assert "待复核 · 应付参保人 9950.00 元" in clerk.inner_text("[data-testid=done]")
    assert "待另一名主管复核" in clerk.inner_text("[data-testid=pending-S00000001]")

    sup = browser.new_page()
    login(sup, site.base, "staff", "li")
    sup.goto(f"{site.base}/desk/reimburse")
    shot(sup, "pending")
    sup.click("[data-testid=pending-S00000001] >> text=复核通过并支付")
    confirm(sup, "确认支付")
    expect(sup.locator(".flash")).to_contain_text("已复核通过")
    assert sup.locator("[data-testid=pending]").count() == 0
    assert site.service.read(q.settlement, "S00000001")["state"] == "settled"
    assert site.service.verify() == []
