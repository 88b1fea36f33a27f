"""records.xlsx over HTTP on both databases: every record, however many; amounts numbers that add
up to the fen, dates dates, words Chinese, whose bill each was, the filter in the title; every text
cell text (no formula, whatever a value starts with); and the person numbers that could start one
are refused."""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import select

from bench.world import World
from gongji.service import commands as c
from gongji.store import models as m
from gongji.web import documents

HOSTILE_NAME = '=HYPERLINK("http://x","点我")'


@pytest.fixture
def world(engine) -> World:
    w = World(engine)
    w.service.register_person(c.RegisterPerson(psn_no="P1", insutype="310", insu_admdvs="652801", balance="3000.00",
                                         name="王建国"))
    return w


def workbook(client, query: str = "") -> openpyxl.Workbook:
    r = client.get("/portal/records.xlsx" + query)
    assert r.status_code == 200, r.text[:200]
    assert r.headers["content-disposition"] == 'attachment; filename="records-P1.xlsx"'
    return openpyxl.load_workbook(io.BytesIO(r.content))


def test_a_person_number_is_1_to_30_letters_and_digits(world) -> None:
    for psn_no in ("=1+1", "+1", "-1", "@SUM(A1)", "P 1", "P-1", "人1", "P" * 31, ""):
        r = world.clerk.post("/api/v1/persons", json={"psn_no": psn_no, "insutype": "390", "insu_admdvs": "652801"})
        assert r.status_code == 422 and r.json()["field"] == "psn_no", (psn_no, r.text)
    r = world.clerk.post("/api/v1/persons", json={"psn_no": "Ab1" * 10, "insutype": "390", "insu_admdvs": "652801"})
    assert r.status_code == 201, r.text


def test_text_cells_stay_text_even_one_registered_before_the_rule(world) -> None:
    s = world.service
    legacy = c.RegisterPerson.model_construct(psn_no="=1+1", insutype="390", insu_admdvs="652801", balance=0,
                                              name=None, certno=None, phone=None)
    s.register_person(legacy)  # as an older release let it in
    s.apply(c.Apply(holder="P1", beneficiary="=1+1", relation="child", channel="offline"))
    book = workbook(world.person("P1"))
    cell = book["共济授权记录"]["D2"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == ("=1+1", "s", True)
    assert book["共济授权记录"]["C2"].value == documents.UNREGISTERED  # no name on file
    assert book["共济授权记录"]["E2"].value == "子女"  # the relation in words, as the portal shows it
    every = [cl for sheet in book for row in sheet.iter_rows() for cl in row if cl.value is not None]
    assert every and all(cl.data_type == "s" or cl.is_date or isinstance(cl.value, float | int) for cl in every)
    assert not [cl for cl in every if cl.data_type == "f"]


def test_the_writer_keeps_formula_text_as_text() -> None:
    out = io.BytesIO()
    hostile = ["=HYPERLINK(\"http://x\")", "+1", "-2", "@A1", "=1+1"]
    documents.records_xlsx(out, "=cmd|' /C calc'!A0",
                           [{"on": "2025-01-02", "kind": "settle", "amount": "-1.00", "setl_id": v, "patient": v}
                            for v in hostile], [], None, None, names=dict(zip(hostile, hostile, strict=True)))
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue()))["收支明细"]
    rows = [row[3:] for row in sheet.iter_rows(min_row=3)]  # 就诊人, 个人编号, 结算流水号
    assert [[cl.value for cl in row] for row in rows] == [[v, v, v] for v in hostile]
    assert all(cl.data_type == "s" and cl.quotePrefix for row in rows for cl in row)


def family(world: World) -> dict[str, str]:
    """P1 (王建国, an employee with an account) pays for themself, a parent and a child whose name,
    registered before the rule, starts a formula; each bill's setl_id by patient."""
    s = world.service
    s.register_institution(c.RegisterInstitution(code="H1", level=2, admdvs="652801", kind="hospital"))
    s.register_person(c.RegisterPerson(psn_no="P2", insutype="390", insu_admdvs="652801", name="李秀英"))
    s.register_person(c.RegisterPerson.model_construct(psn_no="P3", insutype="390", insu_admdvs="652801",
                                                       balance=0, name=HOSTILE_NAME, certno=None, phone=None))
    for psn_no, relation in (("P2", "parent"), ("P3", "child")):
        bound = s.apply(c.Apply(holder="P1", beneficiary=psn_no, relation=relation, channel="online"))
        s.review(c.Review(binding_id=bound["id"], decision="approve"))
    bills = {}
    for psn_no, amount in (("P1", "10.10"), ("P2", "20.20"), ("P3", "0.30"), ("P2", "0.70")):
        bills[psn_no] = s.settle(f"bill-{psn_no}-{amount}", c.VisitRef.model_validate(
            {"psn_no": psn_no, "fixmedins": "H1", "med_type": "11",
             "items": [{"code": "X1", "list_class": "A", "category": "exam", "amount": amount}]}))["setl_id"]
    return bills


def test_amounts_are_numbers_dates_are_dates_and_each_bill_names_its_patient(world) -> None:
    bills = family(world)
    balance = world.service.read(lambda uow: uow.session.scalar(
        select(m.Account.balance).where(m.Account.psn_no == "P1")))
    book = workbook(world.person("P1"))
    sheet = book["收支明细"]
    assert sheet["A1"].value == "个人账户收支明细 最早 至 今日,账户人:王建国(P1),就诊人:全部"
    assert [cl.value for cl in sheet[2]] == ["日期", "事项", "金额(元)", "就诊人", "就诊人个人编号", "结算流水号"]
    rows = list(sheet.iter_rows(min_row=3))
    assert len(rows) == 5  # the opening balance and four bills, newest first
    amounts = [row[2] for row in rows]
    assert all(isinstance(cl.value, float | int) and cl.data_type == "n" and cl.number_format == "0.00"
               for cl in amounts)
    # each number as written is the amount to the fen, and they add up to the balance exactly
    assert sum(Decimal(repr(cl.value)) for cl in amounts) == Decimal(balance) / 100
    assert round(sum(cl.value for cl in amounts), 2) == balance / 100  # as a spreadsheet's SUM shows it
    assert all(cl.is_date and cl.number_format == "yyyy-mm-dd" and cl.value == datetime(2025, 1, 2)
               for cl in (row[0] for row in rows))
    values = [[cl.value for cl in row[1:]] for row in rows]
    assert values[-1] == ["期初余额", 3000, None, None, None]
    paid = {v[4]: v for v in values[:-1]}
    assert paid[bills["P1"]][0] == "医疗费用支付" and paid[bills["P1"]][1] < 0
    assert paid[bills["P1"]][2:4] == ["王建国", "P1"]
    assert paid[bills["P2"]][2:4] == ["李秀英", "P2"]
    hostile = next(row[3] for row in rows if row[5].value == bills["P3"])
    assert (hostile.value, hostile.data_type, hostile.quotePrefix) == (HOSTILE_NAME, "s", True)
    auth = book["共济授权记录"]
    assert [cl.value for cl in auth[1]][:6] == ["主账户人", "主账户人个人编号", "被绑定人", "被绑定人个人编号", "关系", "状态"]
    bindings = {row[3]: row for row in auth.iter_rows(min_row=2, values_only=True)}
    assert bindings["P2"][:6] == ("王建国", "P1", "李秀英", "P2", "父母", "已生效")
    assert bindings["P2"][6] == datetime(2025, 1, 2) and bindings["P2"][9] is None
    assert auth["G2"].is_date and auth["G2"].number_format == "yyyy-mm-dd"
    for s in book:  # Chinese words, no English word or internal code where people read
        for row in s.iter_rows(values_only=True):
            for v in row:
                if isinstance(v, str) and v not in bills.values() and not re.fullmatch(r"P\d", v) and v != HOSTILE_NAME:
                    assert not re.search(r"[a-z]{2,}", v.replace("P1", "")), v


def test_the_title_says_the_filter_and_the_rows_follow_it(world) -> None:
    bills = family(world)
    sheet = workbook(world.person("P1"), "?from=2025-01-01&to=2025-12-31&person=P2")["收支明细"]
    assert sheet["A1"].value == "个人账户收支明细 2025-01-01 至 2025-12-31,账户人:王建国(P1),就诊人:李秀英(P2)"
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert {r[3] for r in rows} == {"李秀英"} and bills["P2"] in {r[5] for r in rows} and len(rows) == 2
    assert rows[0][0] == datetime(2025, 1, 2) and rows[0][0].date() == date(2025, 1, 2)


def test_every_record_is_exported_not_the_first_page(world) -> None:
    s = world.service
    for _ in range(1000):
        s.credit(c.Credit(psn_no="P1", amount="1.00"))
    book = workbook(world.person("P1"))
    rows = list(book["收支明细"].iter_rows(min_row=3, values_only=True))
    assert len(rows) == 1001  # the opening balance and every credit
    assert rows[0][1:3] == ("个人账户划入", 1) and rows[-1][1:3] == ("期初余额", 3000)
    assert sum(Decimal(repr(r[2])) for r in rows) == Decimal("4000.00")
    assert len(list(workbook(world.person("P1"), "?from=2030-01-01")["收支明细"].iter_rows(min_row=3))) == 0


def test_the_family_downloads_the_filtered_records_from_the_portal_at_both_sizes(site, browser, tmp_path) -> None:
    """Item 11 as the family meets it: filter the records on the portal, press 导出 Excel, and the
    workbook holds that filter's rows with its title, amounts as numbers and dates as dates."""
    from gongji.service import security
    from tests.web.look import look, sizes
    from tests.web.test_pages import PASSWORD, login

    site.service.register_person(c.RegisterPerson(psn_no="P1", insutype="310", insu_admdvs="652801",
                                                  balance="3000.00", name="王建国"))
    bills = family(site)
    site.service.secure(security.set_person_password, "P1", password=PASSWORD)
    for size, page in sizes(browser, accept_downloads=True):
        login(page, site.base, "person", "P1")
        page.select_option("#person", "P2")
        page.click("text=筛选")
        page.wait_for_url("**person=P2**")
        look(page, f"records-filtered-{size}")
        with page.expect_download() as download:
            page.click("text=导出 Excel")
        path = tmp_path / f"records-{size}.xlsx"
        download.value.save_as(path)
        sheet = openpyxl.load_workbook(path)["收支明细"]
        assert sheet["A1"].value.endswith("账户人:王建国(P1),就诊人:李秀英(P2)")
        rows = list(sheet.iter_rows(min_row=3))
        assert rows and {r[4].value for r in rows} == {"P2"} and bills["P2"] in {r[5].value for r in rows}
        assert all(r[2].data_type == "n" and r[0].is_date for r in rows)
