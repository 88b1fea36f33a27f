"""What a settlement tells its readers over REST and on the 结算单: the amounts paid, never a
holder's balance; and a bill beyond the region's sanity limits is refused on every route."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

from pypdf import PdfReader

from gongji.web.documents import settlement_pdf
from tests.api.nhsa_his import catalogue, his
from tests.api.nhsa_his import visit as nhsa_visit

ITEMS = [
    {"code": "X1", "name": "血常规", "list_class": "A", "category": "exam", "amount": "300.00"},
    {"code": "X2", "name": "阿莫西林", "list_class": "B", "category": "drug", "amount": "100.00", "selfpay_prop": "0.10"},
    {"code": "X3", "name": "自费营养品", "list_class": "C", "category": "drug", "amount": "50.00"},
]
VISIT = {"psn_no": "P2", "fixmedins": "H1", "med_type": "11", "items": ITEMS}
HOLDER_BALANCE = "12345.67"


def ok(r, status=200) -> dict:
    assert r.status_code == status, r.text
    return r.json()


def family(api) -> None:
    """Bayingolin: holder P1 with an odd balance, resident parent P2 bound; a level-2 hospital H1."""
    ok(api.admin.post("/api/v1/institutions", json={"code": "H1", "level": 2, "admdvs": "652801", "kind": "hospital"}), 201)
    ok(api.supervisor.post("/api/v1/persons", json={"psn_no": "P1", "insutype": "310", "insu_admdvs": "652801",
                                                    "balance": HOLDER_BALANCE}), 201)
    ok(api.supervisor.post("/api/v1/persons", json={"psn_no": "P2", "insutype": "390", "insu_admdvs": "652801"}), 201)
    api.clock.day = date(2025, 1, 3)
    b = ok(api.person("P1").post("/api/v1/bindings", json={"holder": "P1", "beneficiary": "P2", "relation": "parent",
                                                           "channel": "online", "face_check": True}), 201)
    api.clock.day = date(2025, 1, 6)
    ok(api.clerk.post(f"/api/v1/bindings/{b['id']}/review", json={"decision": "approve"}))
    api.clock.day = date(2025, 1, 7)


def test_no_reader_of_a_settlement_learns_the_holders_balance(api) -> None:
    family(api)
    preview = ok(api.inst("H1").post("/api/v1/settlements/preview", json={"visit": VISIT}))
    done = ok(api.inst("H1").post("/api/v1/settlements", json={"visit": VISIT}, headers={"Idempotency-Key": "k1"}))
    assert done["acct_mulaid_pay"] == "255.00" and done["codes"] == []  # no cap bit: the balance was ample
    as_patient = ok(api.person("P2").get(f"/api/v1/settlements/{done['setl_id']}"))
    as_cashier = ok(api.inst("H1").get(f"/api/v1/settlements/{done['setl_id']}"))
    listed = ok(api.person("P2").get("/api/v1/accounts/P2/settlements"))
    for body in (preview, done, as_patient, as_cashier, listed):
        text = json.dumps(body, ensure_ascii=False)
        assert HOLDER_BALANCE not in text and "可用" not in text, text
    assert "P1 付 255.00" in done["explain"][5]  # what the holder paid may be shown
    pdf = settlement_pdf(as_patient, {"code": "H1", "name": "", "level": 2})
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "255.00" in text and HOLDER_BALANCE not in text
    # the holder still reads their own balance
    assert ok(api.person("P1").get("/api/v1/accounts/P1"))["balance"] == "12090.67"


def test_a_bill_beyond_the_regions_limits_is_refused_on_every_route(api) -> None:
    family(api)
    huge = dict(VISIT, items=[dict(ITEMS[0], amount="999999999999.99")])
    over_bill = dict(VISIT, items=[dict(ITEMS[0], code=f"X{i}", amount="50000.00") for i in range(4)]
                     + [dict(ITEMS[2], amount="0.01")])
    signed = api.inst("H1")
    for visit, field, words in ((huge, "visit.items[0].amount", "第 1 项费用“X1 血常规”"),
                                (over_bill, "visit.items", "费用总额 200000.01 元")):
        for r in (signed.post("/api/v1/settlements/preview", json={"visit": visit}),
                  signed.post("/api/v1/settlements", json={"visit": visit}, headers={"Idempotency-Key": "big"})):
            assert r.status_code == 422, r.text
            body = r.json()
            assert (body["code"], body["field"]) == ("INVALID_INPUT", field)
            assert words in body["detail"] and "上限" in body["detail"]
    catalogue(api.service.engine)
    h = his(api)
    line = {"feedetl_sn": "B1", "med_list_codg": "X1", "cnt": 1, "pric": "99999999999.99",
            "det_item_fee_sumamt": "99999999999.99"}
    _, data = nhsa_visit(h, lines=[line])
    nhsa = h.settle(data)
    assert nhsa["infcode"] == -1 and "单项费用上限" in nhsa["err_msg"]
    # nothing was charged or recorded
    assert ok(api.person("P1").get("/api/v1/accounts/P1"))["balance"] == HOLDER_BALANCE
    assert ok(api.person("P2").get("/api/v1/accounts/P2/settlements"))["items"] == []
    # the same key then settles an ordinary bill: the refusal did not take it
    assert ok(signed.post("/api/v1/settlements", json={"visit": VISIT}, headers={"Idempotency-Key": "big"}))[
        "acct_mulaid_pay"] == "255.00"


def test_the_statement_never_cuts_an_amount_in_two() -> None:
    """The worked example's explanation on 241 mm paper: every amount whole, in order."""
    import re

    from gongji.calc_format import calc
    from gongji.domain.labels import plain_explain
    from tests.pdftools import pdf_text
    doc = json.loads((Path(__file__).resolve().parent.parent / "data" / "bayingolin-worked.json").read_text())
    out = calc(doc) | {"setl_id": "S00000009", "psn_no": "P2", "setl_date": "2025-01-07", "med_type": "11",
                       "state": "settled", "reversed_on": None, "items": []}
    for paper in ("a4", "241"):
        text = pdf_text(settlement_pdf(out, {"code": "H1", "name": "", "level": 2}, paper=paper))
        steps = text[text.index("计算过程"):text.index("打印时间")]
        amounts = [f for step in out["explain"] for f in re.findall(r"\d+\.\d\d", plain_explain(step))]
        assert re.findall(r"\d+\.\d\d", steps) == amounts and amounts
