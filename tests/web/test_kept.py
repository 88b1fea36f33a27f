"""A refused form comes back as it was typed (every field, ticked boxes, chosen options, every bill
row), the refusal beside it and the field it names marked aria-invalid; nothing is recorded. At
desktop and phone size."""

from __future__ import annotations

from gongji.service import queries as q
from gongji.service import security
from tests.web.dialog import asked, confirm
from tests.web.look import look, sizes
from tests.web.test_confirm import pair, sanctions, staff, status
from tests.web.test_pages import PASSWORD, login


def invalid(page, selector: str) -> bool:
    return page.get_attribute(selector, "aria-invalid") == "true"


def test_the_portal_application_keeps_what_was_typed(site, browser) -> None:
    for size, page in sizes(browser):
        holder, _ = pair(site, size[0].upper(), bound=False)
        site.service.secure(security.set_person_password, holder, password=PASSWORD)
        login(page, site.base, "person", holder)
        page.fill("#beneficiary", "NOBODY1")
        page.select_option("#relation", "spouse")
        page.check("input[name=face_check]")
        page.check("input[name=e_commitment]")
        page.get_by_role("button", name="提交申请").click()
        assert "无法为该人员办理绑定" in page.inner_text("#apply-refused")
        assert page.input_value("#beneficiary") == "NOBODY1" and invalid(page, "#beneficiary")
        assert page.input_value("#relation") == "spouse"
        assert page.is_checked("input[name=face_check]") and page.is_checked("input[name=e_commitment]")
        look(page, f"kept-apply-{size}")
        assert site.service.read(q.bindings_list, site.clock(), person_no=holder)["total"] == 0


def test_the_offline_application_keeps_what_was_typed(site, browser) -> None:
    staff(site)
    for size, page in sizes(browser):
        holder, _ = pair(site, size[0].upper(), bound=False)
        login(page, site.base, "staff", "wang")
        page.goto(f"{site.base}/desk/office")
        page.fill("#holder", holder)
        page.fill("#beneficiary", "NOBODY2")
        page.select_option("#relation", "spouse")
        page.locator("#holder").dispatch_event("change")
        page.locator("#materials input[value=家庭共济申请表]").check()
        page.locator("#materials input[value=主账户人社保卡]").check()
        page.get_by_role("button", name="提交申请").click()
        assert "查无此参保人 NOBODY2" in page.inner_text("#offline-refused")
        assert page.input_value("#holder") == holder and not invalid(page, "#holder")
        assert page.input_value("#beneficiary") == "NOBODY2" and invalid(page, "#beneficiary")
        assert page.input_value("#relation") == "spouse"
        ticked = page.locator("#materials input:checked").evaluate_all("bs => bs.map(b => b.value)")
        assert ticked == ["家庭共济申请表", "主账户人社保卡"]
        assert page.locator("#materials input").count() == 3  # the region's list, the third unticked
        look(page, f"kept-offline-{size}")
        assert site.service.read(q.bindings_list, site.clock(), person_no=holder)["total"] == 0


def test_the_status_and_sanction_forms_keep_what_was_typed(site, browser) -> None:
    staff(site)
    for size, page in sizes(browser):
        holder, _ = pair(site, size[0].upper())
        login(page, site.base, "staff", "zhao")
        page.goto(f"{site.base}/desk/office")
        page.fill("#s-psn", "NOBODY3")
        page.select_option("#s-status", "interrupted")
        page.get_by_role("button", name="确认变更").click()
        assert "查无此参保人(个人编号 NOBODY3)" in asked(page)
        confirm(page, "确认变更")
        assert "查无此参保人 NOBODY3" in page.inner_text("#status-refused")
        assert page.input_value("#s-psn") == "NOBODY3" and invalid(page, "#s-psn")
        assert page.input_value("#s-status") == "interrupted"

        reason = page.locator("#x-reason option").nth(1).inner_text()
        page.fill("#x-psn", holder)
        page.fill("#x-from", "2025-03-31")
        page.fill("#x-to", "2025-02-01")
        page.select_option("#x-reason", label=reason)
        page.get_by_role("button", name="暂停共济").click()
        asked(page)
        confirm(page, "确认暂停")
        assert page.inner_text("#sanction-refused") == "未能办理:终止日期:不能早于起始日期"
        assert page.input_value("#x-psn") == holder and page.input_value("#x-from") == "2025-03-31"
        assert page.input_value("#x-to") == "2025-02-01" and invalid(page, "#x-to") and not invalid(page, "#x-from")
        assert page.locator("#x-reason option:checked").inner_text() == reason
        assert page.locator("#status-refused").count() == 0  # one refusal, beside its own form
        look(page, f"kept-sanction-{size}")
        assert sanctions(site, holder) == [] and status(site, holder) == "active"


ROWS = (("BJ-X1", "血常规", "A", "exam", "300.00", ""), ("BJ-D2", "硝苯地平缓释片", "B", "drug", "80.00", "0.10"),
        ("BJ-T1", "针灸", "B", "tcm", "1.234", "0.05"))  # codes outside the catalog: typed as they are


def test_the_reimbursement_keeps_every_field_and_bill_row(site, browser) -> None:
    staff(site)
    site.clock.day = site.clock.day.replace(month=6, day=20)
    fields = {"#claim_no": "BX-KEEP", "#visit_on": "2025-06-03", "#i-code": "BJ01", "#i-name": "北京某医院",
              "#i-admdvs": "110105", "#dise_codg": "I10"}
    for size, page in sizes(browser):
        _, ben = pair(site, size[0].upper())
        login(page, site.base, "staff", "wang")
        page.goto(f"{site.base}/desk/reimburse")
        for selector, value in (fields | {"#psn_no": ben}).items():
            page.fill(selector, value)
        page.select_option("#i-level", "3")
        page.select_option("#med_type", "14")
        for i, (code, name, cls, cat, amount, prop) in enumerate(ROWS, start=1):
            page.fill(f"[aria-label=第{i}行编码]", code)
            page.fill(f"[aria-label=第{i}行名称]", name)
            page.select_option(f"[aria-label=第{i}行类别]", cls)
            page.select_option(f"[aria-label=第{i}行费用类型]", cat)
            page.fill(f"[aria-label=第{i}行金额]", amount)
            page.fill(f"[aria-label=第{i}行自付比例]", prop)
        page.get_by_role("button", name="计算并登记").click()
        asked(page)
        confirm(page, "确认登记")
        assert "第 3 行金额:最多两位小数" in page.inner_text("#reimburse-refused")
        for selector, value in (fields | {"#psn_no": ben, "#i-level": "3", "#med_type": "14"}).items():
            assert page.input_value(selector) == value, selector
        for i, row in enumerate(ROWS, start=1):
            typed = tuple(page.input_value(f"[aria-label=第{i}行{col}]") for col in
                          ("编码", "名称", "类别", "费用类型", "金额", "自付比例"))
            assert typed == row, i
        assert invalid(page, "[aria-label=第3行金额]") and not invalid(page, "[aria-label=第1行金额]")
        look(page, f"kept-reimburse-{size}")
        assert site.service.read(q.settlements_of, psn_no=ben)["total"] == 0


def test_a_refusal_by_the_service_keeps_the_bill_too(site) -> None:
    """Over HTTP: a claim number already used (409) comes back filled in, the number marked."""
    staff(site)
    site.clock.day = site.clock.day.replace(month=6, day=20)
    _, ben = pair(site, "S")
    clerk = site.login("staff", "wang", PASSWORD)
    form = {"claim_no": "BX-S", "psn_no": ben, "visit_on": "2025-06-03", "inst_code": "BJ01", "inst_admdvs": "110105",
            "code": ["X001", ""], "name": ["血常规", ""], "list_class": ["A", "A"], "category": ["exam", "exam"],
            "amount": ["300.00", ""], "selfpay_prop": ["", ""]}
    assert clerk.post("/desk/reimburse", data=form, follow_redirects=False).status_code == 303
    r = clerk.post("/desk/reimburse", data=form | {"amount": ["310.00", ""]}, follow_redirects=False)
    assert r.status_code == 409 and "报销单号 BX-S 已用于另一笔报销" in r.text
    assert 'name="claim_no" required maxlength="64" pattern="[A-Za-z0-9._:-]+" value="BX-S" aria-invalid="true"' in r.text
    assert '"amount": ["310.00", ""]' in r.text  # the rows, for the page to put back
    assert site.service.read(q.settlements_of, psn_no=ben)["total"] == 1
