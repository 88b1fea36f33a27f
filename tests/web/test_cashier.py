"""The cashier's desk in a browser, on the demo data, at desktop and phone size (390×844): a bill
entered by keyboard alone (rows added and removed), the catalogue found by pinyin initials, a
refused bill kept whole with its bad row marked, amounts as 1,200.00, and the settlement history
(search, pages, reprint, reverse). Each page is looked at (tests/web/look.py)."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest

from gongji.app import create_app
from gongji.demo import load
from gongji.service import cashier_history
from gongji.service import commands as c
from gongji.service import queries as q
from gongji.service.clock import FixedClock
from gongji.service.facade import Service
from tests.api.server import serving
from tests.web.look import SIZES, look, sizes
from tests.web.test_phone import sign_in

TODAY = date(2025, 12, 15)
EXTRA = 45  # settlements of the demo holder at the cashier's hospital today, for the history's pages


@pytest.fixture
def desk(engine):
    clock = FixedClock(TODAY)
    svc = Service(engine, clock=clock)
    counts = load(svc, clock, TODAY, days=40)
    inst, holder = counts["demo_cashier_at"], counts["demo_holder"]
    for i in range(EXTRA):
        svc.settle(f"extra-{i}", c.VisitRef.model_validate({
            "psn_no": holder, "fixmedins": inst, "med_type": "11",
            "items": [{"code": "DEMO-X001", "list_class": "A", "category": "exam", "amount": f"{i + 1}.50"}]}),
            by_catalog=True)
    app = create_app(engine, clock=clock)
    with serving(app) as base:
        yield {"base": base, "svc": svc, "inst": inst, "holder": holder}


def focused(page) -> str:
    return page.evaluate("() => document.activeElement.getAttribute('aria-label')"
                         " || document.activeElement.textContent.trim()")


def tab(page, times: int = 1) -> str:
    for _ in range(times):
        page.keyboard.press("Tab")
    return focused(page)


def open_desk(page, d: dict) -> None:
    sign_in(page, d["base"], "cashier", "demo-cashier")
    page.goto(f"{d['base']}/cashier?patient={d['holder']}")
    assert d["holder"] in page.inner_text("[data-testid=patient]")


def suggestions(page):
    options = page.locator("#catalog-suggest [role=option][data-code]")
    options.first.wait_for()
    return options


def test_a_three_line_bill_by_keyboard_alone(desk, browser) -> None:
    """Tab goes field by field and row by row; Enter in a field never sends the bill; the add
    button is reached by Tab and puts the cursor in the new row; a row's 删除 removes it."""
    for size, page in sizes(browser):
        open_desk(page, desk)
        url = page.url
        page.focus("[aria-label=第1行编码]")  # where the cashier starts; from here only keys
        page.keyboard.type("xcg")
        suggestions(page)
        page.keyboard.press("Enter")  # the first suggestion
        assert focused(page) == "第1行金额" and page.input_value("[aria-label=第1行名称]").startswith("血常规")
        page.keyboard.type("30")
        page.keyboard.press("Enter")
        assert page.url == url and page.locator("[data-testid=done]").count() == 0  # not sent
        assert tab(page, 3) == "第2行编码"  # 自付比例, 删除第1行, then the next row
        page.keyboard.type("amxl")
        suggestions(page)
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        page.keyboard.type("1,200.00")
        assert tab(page, 3) == "第3行编码"
        page.keyboard.type("Y001")
        assert tab(page) == "第3行名称"
        page.keyboard.type("院内制剂")
        assert tab(page, 3) == "第3行金额"
        page.keyboard.type("20")
        assert tab(page, 9) == "删除第4行"  # the two empty rows the page began with go
        page.keyboard.press("Enter")
        assert focused(page) == "第4行编码" and page.locator("#bill-table tbody tr").count() == 4
        assert tab(page, 6) == "删除第4行"
        page.keyboard.press("Enter")
        assert focused(page) == "第3行编码" and page.locator("#bill-table tbody tr").count() == 3
        assert tab(page, 7) == "添加一行"
        page.keyboard.press("Enter")
        assert focused(page) == "第4行编码" and page.input_value("[aria-label=第4行金额]") == ""
        look(page, f"cashier-keyboard-{size}")
        assert tab(page, 6) == "删除第4行"
        page.keyboard.press("Enter")
        assert page.locator("#bill-table tbody tr").count() == 3
        assert tab(page, 7) == "添加一行"
        assert tab(page, 1) == "预结算"
        page.keyboard.press("Enter")
        split = page.locator("#split [data-testid=split]")
        split.wait_for()
        assert "1,250.00 元" in split.inner_text()
        assert tab(page) == "结算"
        page.keyboard.press("Enter")
        done = page.locator("[data-testid=done]")
        done.wait_for()
        assert "结算完成" in done.inner_text() and "1,250.00 元" in done.inner_text()
        look(page, f"cashier-keyboard-done-{size}")


def test_without_javascript_the_bill_still_settles(desk, browser) -> None:
    context = browser.new_context(java_script_enabled=False, viewport=SIZES["phone"])
    page = context.new_page()
    open_desk(page, desk)
    assert not page.locator("[data-add]").is_visible()  # nothing that needs a script is offered
    page.fill("[aria-label=第1行编码]", "DEMO-X001")
    page.fill("[aria-label=第1行金额]", "88")
    page.fill("[aria-label=第2行名称]", "挂号")
    page.fill("[aria-label=第2行金额]", "１２")
    page.click("text=预结算")
    assert "100.00 元" in page.inner_text("#split") and page.input_value("[aria-label=第2行名称]") == "挂号"
    page.get_by_role("button", name="结算", exact=True).click()
    assert "结算完成" in page.inner_text("[data-testid=done]")
    context.close()


def test_pinyin_initials_find_and_fill_a_catalogue_item(desk, browser) -> None:
    for size, page in sizes(browser):
        open_desk(page, desk)
        page.fill("[aria-label=第1行编码]", "")
        page.focus("[aria-label=第1行编码]")
        page.keyboard.type("xcg")
        options = suggestions(page)
        assert "血常规" in options.first.inner_text() and "甲类" in options.first.inner_text()
        assert page.get_attribute("[aria-label=第1行编码]", "aria-expanded") == "true"
        look(page, f"cashier-search-{size}")
        page.keyboard.press("Enter")
        assert page.input_value("[aria-label=第1行编码]") == "DEMO-X001"
        assert page.input_value("[aria-label=第1行类别]") == "A"
        assert page.input_value("[aria-label=第1行费用类型]") == "exam"
        page.focus("[aria-label=第2行名称]")  # the name field searches too; a tap picks
        page.keyboard.type("cc")
        option = suggestions(page).filter(has_text="彩超")
        assert "乙类" in option.inner_text() and "限价 180.00 元" in option.inner_text()
        option.click()
        assert page.input_value("[aria-label=第2行编码]") == "DEMO-X002"
        assert page.input_value("[aria-label=第2行类别]") == "B"
        assert page.input_value("[aria-label=第2行自付比例]") == "0.10"
        assert page.input_value("[aria-label=第2行金额]") == "180.00"  # the catalogue's price cap
        assert focused(page) == "第2行金额"
        page.focus("[aria-label=第3行编码]")
        page.keyboard.type("amxl")
        suggestions(page).filter(has_text="阿莫西林胶囊").click()
        assert page.input_value("[aria-label=第3行编码]") == "DEMO-D001"
        assert page.locator("#catalog-suggest").is_hidden()


BAD_ROWS = [("DEMO-X001", "15"), ("DEMO-D001", "1,200.00"), ("", " 36.5 "), ("DEMO-T001", "1.2.3"),
            ("DEMO-C001", "１２００")]


def fill_five(page) -> None:
    for i, (code, amount) in enumerate(BAD_ROWS, start=1):
        page.fill(f"[aria-label=第{i}行编码]", code)
        page.fill(f"[aria-label=第{i}行名称]", f"项目{i}")
        page.fill(f"[aria-label=第{i}行金额]", amount)
    page.fill("#dise_codg", "J06.900")
    page.check("text=本次不使用个人账户")


def kept(page) -> None:
    """The whole bill as typed, the fourth row marked and named."""
    for i, (code, amount) in enumerate(BAD_ROWS, start=1):
        assert page.input_value(f"[aria-label=第{i}行编码]") == code
        assert page.input_value(f"[aria-label=第{i}行名称]") == f"项目{i}"
        assert page.input_value(f"[aria-label=第{i}行金额]") == amount.strip()  # as typed, spaces aside
    bad = page.locator("[aria-label=第4行金额]")
    assert bad.get_attribute("aria-invalid") == "true"
    why = page.locator("#" + bad.get_attribute("aria-describedby"))
    assert why.inner_text() == "第 4 行金额:只能有一个小数点,如 1,200.00"
    assert page.locator("[aria-invalid=true]").count() == 1
    assert page.input_value("#dise_codg") == "J06.900" and page.is_checked("text=本次不使用个人账户")


def test_a_refused_bill_stays_whole_with_the_bad_row_marked(desk, browser) -> None:
    for size, page in sizes(browser):
        open_desk(page, desk)
        key = page.input_value("input[name=key]")
        fill_five(page)
        page.click("text=预结算")  # HTMX: the rows come back marked, the cursor on the bad one
        page.locator("#split .flash.bad").wait_for()
        kept(page)
        assert focused(page) == "第4行金额"
        page.get_by_role("button", name="结算", exact=True).click()
        page.wait_for_load_state()
        assert page.url.endswith("/cashier/settle")
        kept(page)
        assert "第 4 行金额" in page.inner_text(".flash.bad")
        assert page.input_value("input[name=key]") == key  # nothing was booked: the same key
        look(page, f"cashier-refused-{size}")
        page.fill("[aria-label=第4行金额]", "-3")
        page.get_by_role("button", name="结算", exact=True).click()
        assert "第 4 行金额:不能为负数" in page.inner_text(".flash.bad")
        page.fill("[aria-label=第4行金额]", "3.141")
        page.get_by_role("button", name="结算", exact=True).click()
        assert "第 4 行金额:最多两位小数" in page.inner_text(".flash.bad")
        page.fill("[aria-label=第4行金额]", "100")
        page.get_by_role("button", name="结算", exact=True).click()
        done = page.inner_text("[data-testid=done]")
        assert "结算完成" in done and "2,551.50 元" in done  # 15 + 1,200 + 36.50 + 100 + 1,200
        setl_id = re.search(r"S\d{8}", done).group(0)
        row = page.locator(f"[data-testid=recent-{setl_id}]")
        assert "2,551.50" in row.inner_text()


def test_history_search_pages_reprint_and_reverse(desk, browser) -> None:
    svc, inst, holder = desk["svc"], desk["inst"], desk["holder"]
    total = svc.read(cashier_history.history, inst)["total"]
    assert total > 2 * cashier_history.PAGE_SIZE  # three pages at least
    name = svc.read(q.person_view, holder, unmasked=True)["name"]
    for size, page in sizes(browser):
        sign_in(page, desk["base"], "cashier", "demo-cashier")
        page.click("text=结算记录 · 补打 · 冲正")
        assert page.url.endswith("/cashier/history")
        assert f"共 {total} 笔" in page.inner_text("#list")
        assert page.locator("[data-testid^=history-]").count() == cashier_history.PAGE_SIZE
        look(page, f"cashier-history-{size}")
        page.locator("nav.pages").get_by_role("link", name="第 2 页").click()
        assert "第 2/" in page.inner_text("#list") and "page=2" in page.url
        assert page.locator("[aria-current=page]").inner_text() == "2"
        # by patient (name), then by date and number
        page.goto(f"{desk['base']}/cashier/history")
        page.fill("#patient", name)
        page.fill("#from", TODAY.isoformat())
        page.fill("#to", TODAY.isoformat())
        page.get_by_role("button", name="查询", exact=True).click()
        wanted = svc.read(cashier_history.history, inst, patient=name, start=TODAY, end=TODAY)
        assert wanted["total"] >= EXTRA and f"共 {wanted['total']} 笔" in page.inner_text("#list")
        assert page.input_value("#patient") == name
        page.locator("nav.pages").get_by_role("link", name="第 2 页").click()
        assert page.input_value("#patient") == name  # the search holds across pages
        row = page.locator("[data-testid^=history-]", has_text="已结算").first  # one not yet reversed
        setl_id = row.get_attribute("data-testid").removeprefix("history-")
        text = row.inner_text()
        assert f"{name}({holder})" in text and "已结算" in text  # the full name, as the desk shows it
        assert re.search(r"\d\.\d{2}", text)
        reprint = row.get_by_role("link", name=f"补打结算单 {setl_id}")
        assert reprint.get_attribute("href") == f"/statements/{setl_id}.pdf"  # no first=1: marked 补打
        pdf = page.request.get(desk["base"] + reprint.get_attribute("href"))
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
        from pypdf import PdfReader
        assert "补打" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
        amount = svc.read(q.settlement, setl_id)["medfee_sumamt"]
        here = page.url
        row.get_by_role("button", name=f"冲正结算 {setl_id}").click()
        ask = page.inner_text("#confirm-dialog")
        assert f"{name}({holder})" in ask and setl_id in ask and f"总额 {amount} 元" in ask
        page.locator("#confirm-dialog >> text=确认冲正").click()
        page.wait_for_url(here)
        assert "已冲正" in page.inner_text(".flash.ok")
        assert "已冲正" in page.inner_text(f"[data-testid=history-{setl_id}]")
        assert svc.read(q.settlement, setl_id)["state"] == "reversed"
        page.fill("#setl_id", setl_id)
        page.fill("#patient", "")
        page.get_by_role("button", name="查询", exact=True).click()
        assert page.locator("[data-testid^=history-]").count() == 1
        page.goto(f"{desk['base']}/cashier/history?from=2025-13-01")
        assert "起始日期应为日期" in page.inner_text(".flash.bad")
    assert svc.verify() == []
