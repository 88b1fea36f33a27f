"""REST and the cashier page classify items by the insurance catalogue of the patient's region
on the settlement day; items without a catalogue line keep the caller's values. On both databases."""

from __future__ import annotations

import re
from datetime import date

from gongji.service import queries as q
from gongji.service import security
from tests.api.test_rest import family, ok

CATALOG = (
    "med_list_codg,name,med_chrgitm_type,chrgitm_lv,selfpay_prop,pric_uplmt_amt,lmt_used_flag,category,admdvs,"
    "begndate,enddate\n"
    "XB01,彩超,03,02,0.10,180,0,,,2025-01-01,\n"        # 乙类, capped at 180.00 a unit
    "XC01,营养品,09,03,1,,0,,,2025-01-01,\n"            # 丙类
    "XD01,阿莫西林,09,01,0,,0,,,2025-01-01,\n"          # 甲类 everywhere …
    "XD01,阿莫西林,09,03,1,,0,,5326,2025-01-01,\n"      # … but 丙类 in Wenshan (not the patient's region)
    "XL01,白蛋白,09,02,0.2,,1,,,2025-01-01,\n"          # restricted: no approval over REST, self-paid
    "XF01,新药,09,01,0,,0,,,2025-02-01,\n"              # not yet in force on 2025-01-07
).encode()
ITEMS = [
    {"code": "XB01", "name": "彩超", "list_class": "A", "category": "drug", "amount": "200.00"},
    {"code": "XC01", "name": "营养品", "list_class": "A", "category": "drug", "amount": "50.00"},
    {"code": "XD01", "name": "阿莫西林", "list_class": "C", "category": "drug", "amount": "30.00"},
    {"code": "XL01", "name": "白蛋白", "list_class": "B", "category": "drug", "amount": "40.00", "selfpay_prop": "0.2"},
    {"code": "XF01", "name": "新药", "list_class": "B", "category": "drug", "amount": "10.00", "selfpay_prop": "0.5"},
    {"code": "LOCAL1", "name": "院内制剂", "list_class": "B", "category": "drug", "amount": "100.00",
     "selfpay_prop": "0.10", "classified_by": "catalog", "overlmt_amt": "5.00"},
]
VISIT = {"psn_no": "P2", "fixmedins": "H1", "med_type": "11", "items": ITEMS}


def test_rest_settle_classifies_by_the_catalogue_and_records_it(api) -> None:
    family(api)  # H1 in 652801, on 2025-01-07
    api.service.import_catalog(CATALOG)
    preview = ok(api.inst("H1").post("/api/v1/settlements/preview", json={"visit": VISIT}))
    first = ok(api.inst("H1").post("/api/v1/settlements", json={"visit": VISIT}, headers={"Idempotency-Key": "c1"}))
    assert {k: v for k, v in first.items() if k in preview} == preview
    # 丙类 50 + restricted 40; above the cap 20 (200 − 180) and the caller's 5 on LOCAL1
    assert (first["fulamt_ownpay_amt"], first["overlmt_selfpay"]) == ("90.00", "25.00")
    # 乙类 first self-pay: 180 × 10% = 18 (XB01), 10 × 50% = 5 (XF01, the caller's), 95 × 10% = 9.50
    assert first["preselfpay_amt"] == "32.50"
    got = ok(api.inst("H1").get(f"/api/v1/settlements/{first['setl_id']}"))["items"]
    seen = {i["code"]: (i["list_class"], i["category"], i["selfpay_prop"], i["overlmt_amt"], i["classified_by"])
            for i in got}
    assert seen == {
        "XB01": ("B", "exam", "1/10", "20.00", "catalog"),
        "XC01": ("C", "drug", "1/1", "0.00", "catalog"),
        "XD01": ("A", "drug", "0/1", "0.00", "catalog"),
        "XL01": ("C", "drug", "1/5", "0.00", "catalog"),
        "XF01": ("B", "drug", "1/2", "0.00", "caller"),
        "LOCAL1": ("B", "drug", "1/10", "5.00", "caller"),
    }
    again = ok(api.inst("H1").post("/api/v1/settlements", json={"visit": VISIT}, headers={"Idempotency-Key": "c1"}))
    assert again == first  # the same body, the same catalogue: the same request
    assert api.service.verify() == []


def test_a_retry_after_a_new_catalogue_line_still_answers_the_first_result(api) -> None:
    family(api)
    api.service.import_catalog(CATALOG)
    visit = dict(VISIT, items=ITEMS[:1])
    first = ok(api.inst("H1").post("/api/v1/settlements", json={"visit": visit}, headers={"Idempotency-Key": "c3"}))
    header = CATALOG.split(b"\n")[0].decode()
    api.service.import_catalog(f"{header}\nXB01,彩超,03,01,0,,0,,,2025-01-08,\n".encode())  # from tomorrow
    api.clock.day = date(2025, 1, 8)
    again = ok(api.inst("H1").post("/api/v1/settlements", json={"visit": visit}, headers={"Idempotency-Key": "c3"}))
    assert again == first
    other = dict(visit, items=[dict(ITEMS[0], amount="201.00")])
    r = api.inst("H1").post("/api/v1/settlements", json={"visit": other}, headers={"Idempotency-Key": "c3"})
    assert r.status_code == 409 and r.json()["code"] == "IDEMPOTENCY_CONFLICT"
    fresh = ok(api.inst("H1").post("/api/v1/settlements", json={"visit": visit}, headers={"Idempotency-Key": "c4"}))
    assert fresh["overlmt_selfpay"] == "0.00" and first["overlmt_selfpay"] == "20.00"  # 甲类, uncapped now


def test_a_visit_without_catalogue_codes_settles_as_sent(api) -> None:
    family(api)
    api.service.import_catalog(CATALOG)
    visit = dict(VISIT, items=[ITEMS[-1]])
    out = ok(api.inst("H1").post("/api/v1/settlements", json={"visit": visit}, headers={"Idempotency-Key": "c2"}))
    item = ok(api.inst("H1").get(f"/api/v1/settlements/{out['setl_id']}"))["items"][0]
    assert (item["list_class"], item["classified_by"], item["overlmt_amt"]) == ("B", "caller", "5.00")


def test_cashier_page_classifies_through_the_same_helper(api) -> None:
    family(api)
    api.service.import_catalog(CATALOG)
    api.service.secure(security.add_cashier, "li", "H1", password="family-pass-1")
    cashier = api.login("cashier", "li", "family-pass-1")
    bill = {"psn_no": "P2", "med_type": "11", "dise_codg": "", "code": ["XB01", "LOCAL1", ""],
            "name": ["彩超", "院内制剂", ""], "list_class": ["A", "A", "A"], "category": ["exam", "drug", "exam"],
            "amount": ["200.00", "10.00", ""], "selfpay_prop": ["", "", ""]}
    preview = cashier.post("/cashier/preview", data=bill)
    assert preview.status_code == 200 and "20.00" in preview.text  # 超限价自费
    key = re.search(r'name="key" value="([^"]+)"', cashier.get("/cashier?patient=P2").text).group(1)
    r = cashier.post("/cashier/settle", data=dict(bill, key=key), follow_redirects=False)
    assert r.status_code == 303, r.text
    setl_id = r.headers["location"].split("done=")[1]
    items = api.service.read(q.settlement, setl_id)["items"]
    assert [(i["code"], i["list_class"], i["classified_by"]) for i in items] == [
        ("XB01", "B", "catalog"), ("LOCAL1", "A", "caller")]
    assert api.clock.day == date(2025, 1, 7)
