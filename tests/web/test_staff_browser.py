"""The staff pages in Chromium on the demo data, at desktop and at 390×844: each page looked at
(screenshot, axe-core, nothing sideways), the search by each key and within the area, the audit
log's filter, paging and chain check, and the admin's forms with their confirm dialogs; a secret or
password is shown once and a reload shows it no more."""

from __future__ import annotations

import re

from sqlalchemy import text

from gongji.service import queries as q
from gongji.service.facade import Service
from tests.web.look import look, sizes
from tests.web.test_phone import demo, sign_in  # noqa: F401  (demo: the fixture)

OTHER_AREA = {"6528": "demo-clerk-532600", "5326": "demo-clerk-652800"}


def test_person_search_and_page(demo, browser, engine) -> None:  # noqa: F811
    base, counts = demo
    holder = counts["demo_holder"]
    me = Service(engine).read(q.person_view, holder, unmasked=True)
    area = me["insu_admdvs"][:4]
    for size, page in sizes(browser):
        sign_in(page, base, "staff", f"demo-clerk-{area}00")
        page.goto(f"{base}/people")
        look(page, f"staff-people-{size}")
        for key in (me["name"][1:], me["certno"], holder):  # part of the name, the ID card, the 个人编号
            page.fill("#f-q", key)
            page.click("main button[type=submit]")
            assert page.locator(f'[data-testid="found-{holder}"]').count() == 1, key
        look(page, f"staff-people-found-{size}")
        page.fill("#f-q", "   ")
        page.click("main button[type=submit]")
        assert page.locator("#f-q-err").inner_text() == "不能为空"
        look(page, f"staff-people-refused-{size}")
        page.fill("#f-q", holder)
        page.click("main button[type=submit]")
        page.click(f'[data-testid="found-{holder}"] a')
        assert page.url.endswith(f"/people/{holder}")
        assert me["name"] in page.locator("h1").inner_text()
        assert me["certno"] not in page.content()  # masked
        statement = page.locator('a[href^="/statements/"]').first
        if statement.count():
            assert re.fullmatch(r"/statements/S\d+\.pdf", statement.get_attribute("href"))
        look(page, f"staff-person-{size}")
        page.context.clear_cookies()

        sign_in(page, base, "staff", OTHER_AREA[area])
        page.goto(f"{base}/people")
        page.fill("#f-q", me["certno"])
        page.click("main button[type=submit]")
        assert page.locator('[data-testid="none-found"]').count() == 1
        response = page.goto(f"{base}/people/{holder}")
        assert response.status == 404 and "查无此参保人" in page.content() and me["name"] not in page.content()


def test_audit_log(demo, browser, engine) -> None:  # noqa: F811
    base, _ = demo
    for size, page in sizes(browser):
        sign_in(page, base, "staff", "demo-auditor")
        page.goto(f"{base}/audit")
        assert page.locator('[data-testid^="entry-"]').count() == 50
        look(page, f"staff-audit-{size}")
        page.select_option("#f-action", "apply")
        page.click("form.filters button[type=submit]")
        assert "action=apply" in page.url
        assert set(page.locator('td[data-label="操作"]').all_inner_texts()) == {"申请绑定"}
        if page.locator("nav.pager").count():
            page.click("nav.pager >> text=下一页")
            assert "page=2" in page.url and "action=apply" in page.url
            assert "第 2 /" in page.locator("nav.pager").inner_text()
        look(page, f"staff-audit-filtered-{size}")
        page.fill("#f-from", "2025-12-10")
        page.fill("#f-to", "2025-12-01")
        page.click("form.filters button[type=submit]")
        assert page.locator("#f-to-err").inner_text() == "终止日期不能早于起始日期"
        assert page.input_value("#f-from") == "2025-12-10"
        look(page, f"staff-audit-refused-{size}")
        page.click("text=校验哈希链")
        assert "哈希链完整" in page.locator('[data-testid="verdict"]').inner_text()
        look(page, f"staff-audit-verified-{size}")

    with engine.begin() as conn:  # one entry altered behind the application's back
        target = conn.execute(text("SELECT target FROM audit WHERE id = 7")).scalar_one()
        conn.execute(text("UPDATE audit SET target = 'X' WHERE id = 7"))
    try:
        for size, page in sizes(browser):
            sign_in(page, base, "staff", "demo-admin")
            page.goto(f"{base}/audit")
            page.click("text=校验哈希链")
            verdict = page.locator('[data-testid="verdict"]').inner_text()
            assert "哈希链已被破坏" in verdict and "审计记录 7 内容被改动" in verdict
            look(page, f"staff-audit-broken-{size}")
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit SET target = :t WHERE id = 7"), {"t": target})


def confirm(page, row: str, button: str, ok: str, names: str) -> None:
    """Click ``button`` in ``row``; the page's dialog names the subject; confirm with ``ok``."""
    page.locator(f'[data-testid="{row}"] button', has_text=button).click()
    dialog = page.locator("#confirm-dialog")
    assert names in dialog.locator(".confirm-text").inner_text()
    page.locator(f"#confirm-dialog >> text={ok}").click()


def test_admin_pages(demo, browser) -> None:  # noqa: F811
    base, _ = demo
    for size, page in sizes(browser):
        code, user = f"HX{size[:2].upper()}", f"clerk-{size}"
        sign_in(page, base, "staff", "demo-admin")
        page.goto(f"{base}/admin/institutions")
        look(page, f"admin-institutions-{size}")
        page.fill("#f-code", code)
        page.fill("#f-name", "演示新医院")
        page.fill("#f-admdvs", "65280")
        page.click("text=登记并生成签名密钥")
        assert "6 位行政区划代码" in page.locator("#f-admdvs-err").inner_text()
        assert page.input_value("#f-name") == "演示新医院"  # what was typed stays
        look(page, f"admin-institutions-refused-{size}")
        page.fill("#f-admdvs", "652801")
        page.click("text=登记并生成签名密钥")
        secret = page.locator('[data-testid="secret"]').inner_text()
        assert re.fullmatch(r"[0-9a-f]{64}", secret)
        look(page, f"admin-secret-{size}")
        page.reload()
        assert secret not in page.content() and page.locator('[data-testid="secret"]').count() == 0

        page.goto(f"{base}/admin/institutions")
        confirm(page, f"inst-{code}", "暂停", "确认暂停", f"演示新医院({code})")
        assert f"已暂停 {code} 的结算资格" in page.locator(".flash.ok").inner_text()
        assert page.locator(f'[data-testid="inst-{code}"] .badge').inner_text() == "已暂停"
        confirm(page, f"inst-{code}", "更换密钥", "确认更换", f"演示新医院({code})")
        rotated = page.locator('[data-testid="secret"]').inner_text()
        assert re.fullmatch(r"[0-9a-f]{64}", rotated) and rotated != secret
        page.reload()
        assert rotated not in page.content() and page.locator('[data-testid="secret"]').count() == 0

        page.goto(f"{base}/admin/staff")
        look(page, f"admin-staff-{size}")
        page.fill("#f-username", user)
        page.select_option("#f-role", "clerk")
        page.fill("#f-area", "6528")
        page.click("text=新增并生成初始密码")
        first = page.locator('[data-testid="secret"]').inner_text()
        look(page, f"admin-staff-added-{size}")
        page.reload()
        assert first not in page.content()
        page.goto(f"{base}/admin/staff")
        confirm(page, f"staff-{user}", "重置密码", "确认重置", user)
        second = page.locator('[data-testid="secret"]').inner_text()
        assert second and second != first
        look(page, f"admin-password-{size}")
        page.reload()
        assert second not in page.content()
