"""The NHSA-style adapter: 2206 / 2207 / 2208 with the national envelope; msgid is the key."""

from __future__ import annotations

from tests.api.test_rest import WORKED_ITEMS, family


def envelope(infno: str, msgid: str, data: dict, feedetail=None, **over) -> dict:
    env = {"infno": infno, "msgid": msgid, "mdtrtarea_admvs": "652801", "insuplc_admdvs": "652801",
           "recer_sys_code": "MDTRT", "opter": "cashier01", "inf_time": "2025-01-07 10:00:00",
           "fixmedins_code": "H1", "signtype": "SM2", "input": {"data": data}}
    if feedetail is not None:
        env["input"]["feedetail"] = feedetail
    return env | over


DATA = {"psn_no": "P2", "med_type": "11", "medfee_sumamt": "450.00", "acct_used_flag": "1"}


def test_pre_settle_settle_retry_and_reverse(api) -> None:
    family(api)
    pre = api.inst("H1").post("/nhsa/2206", json=envelope("2206", "H120250107100000001", DATA, WORKED_ITEMS)).json()
    assert pre["infcode"] == 0 and pre["output"]["setlinfo"]["acct_mulaid_pay"] == "255.00"
    msg = envelope("2207", "H120250107100000002", DATA, WORKED_ITEMS)
    first = api.inst("H1").post("/nhsa/2207", json=msg).json()
    info = first["output"]["setlinfo"]
    assert first["infcode"] == 0 and first["inf_refmsgid"] == "H120250107100000002"
    assert (info["hifp_pay"], info["acct_mulaid_pay"], info["psn_cash_pay"], info["psn_no"]) == (
        "145.00", "255.00", "50.00", "P2")
    again = api.inst("H1").post("/nhsa/2207", json=msg).json()
    assert again["output"] == first["output"]
    changed = envelope("2207", "H120250107100000002", DATA | {"medfee_sumamt": "300.00"}, WORKED_ITEMS[:1])
    conflict = api.inst("H1").post("/nhsa/2207", json=changed).json()
    assert conflict["infcode"] == -1 and conflict["err_msg"].startswith("[IDEMPOTENCY_CONFLICT]")
    rev_msg = envelope("2208", "H120250107100000003", {"setl_id": info["setl_id"], "psn_no": "P2"})
    rev = api.inst("H1").post("/nhsa/2208", json=rev_msg).json()
    assert rev["infcode"] == 0 and rev["output"]["setlinfo"]["restored"]["acct_mulaid_pay"] == "255.00"
    retry = api.inst("H1").post("/nhsa/2208", json=rev_msg).json()
    assert retry["infcode"] == 0 and retry["output"] == rev["output"]
    other = api.inst("H1").post("/nhsa/2208", json=envelope("2208", "H1X", {"setl_id": info["setl_id"], "psn_no": "P2"})).json()
    assert other["infcode"] == -1 and other["err_msg"].startswith("[ALREADY_REVERSED]")
    assert api.service.verify() == []


def test_refusals_are_infcode_minus_one(api) -> None:
    family(api)
    cases = [
        ("2207", envelope("2207", "m1", DATA | {"medfee_sumamt": "1.00"}, WORKED_ITEMS), "[INVALID_INPUT] input.data.medfee_sumamt"),
        ("2207", envelope("2206", "m2", DATA, WORKED_ITEMS), "[INVALID_INPUT] infno"),
        ("2207", {k: v for k, v in envelope("2207", "m3", DATA, WORKED_ITEMS).items() if k != "msgid"}, "[INVALID_INPUT] msgid: required"),
        ("2207", envelope("2207", "m4", DATA | {"psn_no": "NOPE"}, WORKED_ITEMS), "[UNKNOWN_PERSON]"),
        ("2207", envelope("2207", "m5", DATA, WORKED_ITEMS, fixmedins_code="H2"), "[FORBIDDEN]"),
        ("2207", envelope("2207", "m6", DATA, [dict(WORKED_ITEMS[0], amount=300.0)]), "[INVALID_INPUT] input.feedetail[0].amount"),
        ("2208", envelope("2208", "m7", {"setl_id": "S00000042", "psn_no": "P2"}), "[UNKNOWN_SETTLEMENT]"),
        ("9999", envelope("9999", "m8", DATA), "[INVALID_INPUT] infno: unsupported"),
    ]
    for infno, body, starts in cases:
        r = api.inst("H1").post(f"/nhsa/{infno}", json=body)
        assert r.status_code == 200
        out = r.json()
        assert out["infcode"] == -1 and out["output"] is None, out
        assert out["err_msg"].startswith(starts), (starts, out["err_msg"])
    r = api.inst("H1").post("/nhsa/2207", json=["not", "an", "object"])
    assert r.json()["infcode"] == -1
