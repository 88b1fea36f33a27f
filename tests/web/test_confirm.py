"""Weighty actions ask first, in the page's dialog, naming the person and what follows: 取消
leaves everything as it was (checked in the database through the service), 确认 does it. Each
at desktop and phone size, the dialog open under axe-core."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from bench.world import World
from gongji.service import commands as c
from gongji.service import queries as q
from gongji.service import security
from gongji.service.settlements import pending_reimbursements
from gongji.store import models as m
from tests.web.dialog import asked, cancel, confirm
from tests.web.look import look, sizes
from tests.web.test_pages import PASSWORD, login


def staff(site: World) -> None:
    for name, role in (("wang", "clerk"), ("zhao", "supervisor"), ("li", "supervisor")):
        site.service.secure(security.add_staff, name, role, password=PASSWORD)


def pair(site: World, tag: str, bound: bool = True) -> tuple[str, str]:
    """A holder 张建国 and his daughter 张小梅, bound (or not yet), numbered for ``tag``."""
    s = site.service
    holder, ben = f"H{tag}", f"B{tag}"
    s.register_person(c.RegisterPerson(psn_no=holder, insutype="310", insu_admdvs="652801", balance="3000.00",
                                       name="张建国"))
    s.register_person(c.RegisterPerson(psn_no=ben, insutype="390", insu_admdvs="652801", name="张小梅"))
    if bound:
        b = s.apply(c.Apply(holder=holder, beneficiary=ben, relation="child", channel="online",
                            face_check=True, e_commitment=True))
        s.review(c.Review(binding_id=b["id"], decision="approve"))
    return holder, ben


def status(site: World, psn_no: str) -> str:
    return site.service.read(q.person_view, psn_no)["status"]


def binding_states(site: World, psn_no: str) -> list[str]:
    return [b["state"] for b in site.service.read(q.bindings_list, site.clock(), person_no=psn_no)["items"]]


def sanctions(site: World, psn_no: str) -> list[tuple[str, str, str]]:
    return site.service.read(lambda uow: [(x.start.isoformat(), x.end.isoformat(), x.reason) for x in
                                          uow.session.scalars(select(m.Sanction).where(m.Sanction.psn_no == psn_no))])


def test_a_death_names_the_person_and_ends_everything_only_when_confirmed(site, browser) -> None:
    staff(site)
    for size, page in sizes(browser):
        holder, ben = pair(site, size[0].upper())
        login(page, site.base, "staff", "zhao")
        page.goto(f"{site.base}/desk/office")
        page.fill("#s-psn", holder)
        page.select_option("#s-status", "transferred")
        page.get_by_role("button", name="确认变更").click()
        words = asked(page)
        assert f"张建国(个人编号 {holder})登记为医保关系转移" in words and "作为主账户人的共济绑定" in words
        cancel(page)
        page.select_option("#s-status", "deceased")
        page.get_by_role("button", name="确认变更").click()
        words = asked(page)
        assert f"将 张建国(个人编号 {holder})登记为身故" in words
        assert "全部共济绑定" in words and "清零" in words and "不能撤销" in words
        look(page, f"confirm-death-{size}")
        cancel(page)
        assert status(site, holder) == "active" and binding_states(site, holder) == ["approved"]  # nothing done

        page.get_by_role("button", name="确认变更").click()
        asked(page)
        confirm(page, "确认变更")
        expect(page.locator(".flash")).to_contain_text(f"已变更 张建国({holder}) 的参保状态:终止绑定 1 个")
        assert status(site, holder) == "deceased" and binding_states(site, holder) == ["ended"]


def test_restoring_normal_insurance_needs_no_dialog(site, browser) -> None:
    staff(site)
    holder, _ = pair(site, "R")
    site.service.change_status(c.StatusChange(psn_no=holder, status="interrupted"))
    page = browser.new_page()
    login(page, site.base, "staff", "zhao")
    page.goto(f"{site.base}/desk/office")
    page.fill("#s-psn", holder)
    page.select_option("#s-status", "active")
    with page.expect_navigation():
        page.get_by_role("button", name="确认变更").click()
    expect(page.locator(".flash")).to_contain_text("已变更")
    assert status(site, holder) == "active"


def test_a_sanction_names_the_person_the_period_and_what_follows(site, browser) -> None:
    staff(site)
    for size, page in sizes(browser):
        holder, _ = pair(site, size[0].upper())
        login(page, site.base, "staff", "zhao")
        page.goto(f"{site.base}/desk/office")
        page.fill("#x-psn", holder)
        page.fill("#x-from", "2025-02-01")
        page.fill("#x-to", "2025-03-31")
        reason = page.locator("#x-reason option").nth(1).inner_text()
        page.select_option("#x-reason", label=reason)
        page.get_by_role("button", name="暂停共济").click()
        words = asked(page)
        assert f"暂停 张建国(个人编号 {holder})的家庭共济:2025-02-01 至 2025-03-31,原因:{reason}" in words
        assert "家人不能用其个人账户支付" in words
        look(page, f"confirm-sanction-{size}")
        cancel(page)
        assert sanctions(site, holder) == []

        page.get_by_role("button", name="暂停共济").click()
        asked(page)
        confirm(page, "确认暂停")
        expect(page.locator(".flash")).to_contain_text(f"已暂停 张建国({holder}) 的共济")
        assert sanctions(site, holder) == [("2025-02-01", "2025-03-31", reason)]


def test_approving_with_a_material_missing_names_it(site, browser) -> None:
    staff(site)
    for size, page in sizes(browser):
        holder, ben = pair(site, size[0].upper(), bound=False)
        whole, _ = pair(site, size[0].upper() + "2", bound=False)
        short = site.service.apply(c.Apply(holder=holder, beneficiary=ben, relation="child", channel="offline",
                                           materials=["家庭共济申请表"]))["id"]
        full = site.service.apply(c.Apply(holder=whole, beneficiary=f"B{size[0].upper()}2", relation="child",
                                          channel="offline", materials=["家庭共济申请表", "主账户人社保卡",
                                                                        "被绑定人户口本或结婚证等关系证明"]))["id"]
        login(page, site.base, "staff", "wang")
        card = page.locator(f"[data-testid=application-{short}]")
        card.get_by_role("button", name="通过").click()
        words = asked(page)
        assert f"{holder} → {ben} 的申请缺少:主账户人社保卡、被绑定人户口本或结婚证等关系证明" in words
        assert "即时生效" in words
        look(page, f"confirm-approve-{size}")
        cancel(page)
        assert binding_states(site, holder) == ["pending"]

        card.get_by_role("button", name="通过").click()
        asked(page)
        confirm(page, "确认仍予通过")
        expect(page.locator(".flash")).to_contain_text("已审核通过")
        assert binding_states(site, holder) == ["approved"]

        with page.expect_navigation():  # every material there: no dialog
            page.locator(f"[data-testid=application-{full}]").get_by_role("button", name="通过").click()
        expect(page.locator(".flash")).to_contain_text("已审核通过")
        assert binding_states(site, whole) == ["approved"]


def claim(tag: str, psn_no: str, amount: str) -> c.Reimburse:
    return c.Reimburse.model_validate({
        "claim_no": f"BX-{tag}", "visit_on": "2025-06-03",
        "institution": {"code": "BJ01", "name": "北京某医院", "level": 2, "admdvs": "110105", "kind": "hospital"},
        "visit": {"psn_no": psn_no, "fixmedins": "BJ01", "med_type": "11",
                  "items": [{"code": "X1", "list_class": "A", "category": "exam", "amount": amount}]}})


def manual(site: World) -> int:
    return site.service.read(q.settlements_of, fixmedins="BJ01")["total"] if site.service.read(
        lambda uow: uow.session.get(m.Institution, "BJ01")) else 0


def test_a_manual_reimbursement_names_the_patient_and_the_amount(site, browser) -> None:
    staff(site)
    site.clock.day = site.clock.day.replace(month=6, day=20)
    for size, page in sizes(browser):
        tag = size[0].upper()
        _, ben = pair(site, tag)
        login(page, site.base, "staff", "wang")
        page.goto(f"{site.base}/desk/reimburse")
        for field, value in (("#claim_no", f"BX-{tag}"), ("#psn_no", ben), ("#visit_on", "2025-06-03"),
                             ("#i-code", "BJ01"), ("#i-admdvs", "110105"), ("[aria-label=第1行金额]", "300.00"),
                             ("[aria-label=第2行金额]", "50.5")):
            page.fill(field, value)
        page.get_by_role("button", name="计算并登记").click()
        words = asked(page)
        assert f"为 张小梅(个人编号 {ben})登记手工报销 BX-{tag}" in words
        assert "费用合计 350.50 元" in words and "统筹基金" in words and "支付给参保人" in words
        look(page, f"confirm-reimburse-{size}")
        before = manual(site)
        cancel(page)
        assert manual(site) == before

        page.get_by_role("button", name="计算并登记").click()
        asked(page)
        confirm(page, "确认登记")
        assert "应付参保人" in page.inner_text("[data-testid=done]") and manual(site) == before + 1


def test_the_second_supervisor_is_told_whom_the_fund_pays_and_how_much(site, browser) -> None:
    staff(site)
    site.clock.day = site.clock.day.replace(month=6, day=20)
    for size, page in sizes(browser):
        tag = size[0].upper()
        _, ben = pair(site, tag)
        paid = site.service.reimburse(claim(f"{tag}1", ben, "20000.00"), actor="wang1")["setl_id"]
        refused = site.service.reimburse(claim(f"{tag}2", ben, "20002.00"), actor="wang1")["setl_id"]
        login(page, site.base, "staff", "li")
        page.goto(f"{site.base}/desk/reimburse")
        page.locator(f"[data-testid=pending-{paid}]").get_by_role("button", name="复核通过并支付").click()
        words = asked(page)
        assert f"张小梅({ben})的手工报销 BX-{tag}1" in words and "统筹基金即时支付 9950.00 元" in words
        look(page, f"confirm-pay-{size}")
        cancel(page)
        assert site.service.read(q.settlement, paid)["state"] == "pending_approval"
        page.locator(f"[data-testid=pending-{paid}]").get_by_role("button", name="复核通过并支付").click()
        asked(page)
        confirm(page, "确认支付")
        expect(page.locator(".flash")).to_contain_text("已复核通过")
        assert site.service.read(q.settlement, paid)["state"] == "settled"

        page.locator(f"[data-testid=pending-{refused}]").get_by_role("button", name="不予支付").click()
        words = asked(page)
        assert f"不予支付 张小梅({ben})的手工报销 BX-{tag}2" in words and "统筹基金不支付" in words
        cancel(page)
        assert site.service.read(q.settlement, refused)["state"] == "pending_approval"
        page.locator(f"[data-testid=pending-{refused}]").get_by_role("button", name="不予支付").click()
        asked(page)
        confirm(page, "确认不予支付")
        assert site.service.read(q.settlement, refused)["state"] == "rejected"
    assert site.service.read(pending_reimbursements)["total"] == 0


def test_a_person_outside_the_area_is_not_named(site, browser) -> None:
    staff(site)
    holder, _ = pair(site, "F")
    site.service.secure(security.add_staff, "far", "supervisor", "5326", password=PASSWORD)
    page = browser.new_page()
    login(page, site.base, "staff", "far")
    page.goto(f"{site.base}/desk/office")
    page.fill("#x-psn", holder)
    page.fill("#x-from", "2025-02-01")
    page.fill("#x-to", "2025-03-31")
    page.get_by_role("button", name="暂停共济").click()
    words = asked(page)
    assert f"查无此参保人(个人编号 {holder})" in words and "张" not in words
    confirm(page, "确认暂停")
    assert "不在本经办机构的服务区域" in page.inner_text("main") and sanctions(site, holder) == []


def test_without_script_the_form_is_simply_sent(site, browser) -> None:
    """The dialog is a courtesy: with scripts off the action goes through, the server deciding."""
    staff(site)
    holder, _ = pair(site, "N")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    login(page, site.base, "staff", "zhao")
    page.goto(f"{site.base}/desk/office")
    page.fill("#x-psn", holder)
    page.fill("#x-from", "2025-02-01")
    page.fill("#x-to", "2025-03-31")
    page.get_by_role("button", name="暂停共济").click()
    expect(page.locator(".flash")).to_contain_text(f"已暂停 张建国({holder}) 的共济")
    assert len(sanctions(site, holder)) == 1
    context.close()


def test_the_name_lookup_answers_only_within_the_area(site) -> None:
    """Over HTTP: the name of a person of the staff member's area; anyone else, or nobody, alike."""
    staff(site)
    holder, _ = pair(site, "L")
    site.service.secure(security.add_staff, "far", "clerk", "5326", password=PASSWORD)
    near, far = site.login("staff", "wang", PASSWORD), site.login("staff", "far", PASSWORD)
    r = near.get("/desk/person-name", params={"psn_no": holder})
    assert r.status_code == 200 and r.json() == {"name": "张建国"}
    for client, psn_no in ((far, holder), (near, "NOBODY"), (near, "")):
        r = client.get("/desk/person-name", params={"psn_no": psn_no})
        assert r.status_code == 404 and r.json() == {"name": "查无此参保人"}, psn_no
    assert site.person(holder).get("/desk/person-name", params={"psn_no": holder}).status_code == 403
