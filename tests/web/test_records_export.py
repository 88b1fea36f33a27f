"""records.xlsx over HTTP on both databases: every record, however many, and every cell text (no
formula, whatever a value starts with); and the person numbers that could start one are refused."""

from __future__ import annotations

import io

import openpyxl
import pytest

from bench.world import World
from gongji.service import commands as c
from gongji.web import documents


@pytest.fixture
def world(engine) -> World:
    w = World(engine)
    w.service.register_person(c.RegisterPerson(psn_no="P1", insutype="310", insu_admdvs="652801", balance="3000.00"))
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


def test_every_cell_is_text_even_one_registered_before_the_rule(world) -> None:
    s = world.service
    legacy = c.RegisterPerson.model_construct(psn_no="=1+1", insutype="390", insu_admdvs="652801", balance=0,
                                              name=None, certno=None, phone=None)
    s.register_person(legacy)  # as an older release let it in
    s.apply(c.Apply(holder="P1", beneficiary="=1+1", relation="child", channel="offline"))
    book = workbook(world.person("P1"))
    cell = book["共济授权记录"]["B2"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == ("=1+1", "s", True)
    assert book["共济授权记录"]["C2"].value == "子女"  # the relation in words, as the portal shows it
    every = [cl for sheet in book for row in sheet.iter_rows() for cl in row if cl.value is not None]
    assert every and all(cl.data_type == "s" for cl in every)


def test_the_writer_keeps_formula_text_as_text() -> None:
    out = io.BytesIO()
    hostile = ["=HYPERLINK(\"http://x\")", "+1", "-2", "@A1", "=1+1"]
    documents.records_xlsx(out, "=cmd|' /C calc'!A0", [{"on": v, "kind": v, "amount": v, "setl_id": v} for v in hostile],
                           [], None, None)
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue()))["收支明细"]
    cells = [cl for row in sheet.iter_rows(min_row=3) for cl in row]
    assert [cl.value for cl in cells[::4]] == hostile
    assert all(cl.data_type == "s" and cl.quotePrefix for cl in cells)


def test_every_record_is_exported_not_the_first_page(world) -> None:
    s = world.service
    for _ in range(1000):
        s.credit(c.Credit(psn_no="P1", amount="1.00"))
    book = workbook(world.person("P1"))
    rows = list(book["收支明细"].iter_rows(min_row=3, values_only=True))
    assert len(rows) == 1001  # the opening balance and every credit
    assert rows[0][1:3] == ("个人账户划入", "1.00") and rows[-1][1:3] == ("期初余额", "3000.00")
    assert len(list(workbook(world.person("P1"), "?from=2030-01-01")["收支明细"].iter_rows(min_row=3))) == 0
