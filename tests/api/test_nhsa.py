"""The national interface through the app, message by message as a HIS sends them: the visit
flow, exactly once under retries, recovery after a lost answer, and refusals as envelopes."""

from __future__ import annotations

import hashlib
import json
import re
import time
from decimal import Decimal

import pytest
from sqlalchemy import select

from gongji.service.nhsa.records import MUTUAL_AID
from gongji.service.uow import run
from gongji.store import models as m
from tests.api.nhsa_his import BEGIN, WORKED_LINES, balance, his, visit

SETLINFO = ("mdtrt_id setl_id psn_no psn_name psn_cert_type certno gend naty brdy age insutype psn_type cvlserv_flag "
            "setl_time mdtrt_cert_type med_type medfee_sumamt fulamt_ownpay_amt overlmt_selfpay preselfpay_amt "
            "inscp_scp_amt act_pay_dedc hifp_pay pool_prop_selfpay cvlserv_pay hifes_pay hifmi_pay hifob_pay maf_pay "
            "oth_pay fund_pay_sumamt psn_part_amt acct_pay psn_cash_pay hosp_part_amt balc acct_mulaid_pay "
            "medins_setl_id clr_optins clr_way clr_type").split()
ENVELOPE_KEYS = {"infcode", "inf_refmsgid", "refmsg_time", "respond_time", "err_msg", "warn_msg", "output", "cainfo",
                 "signtype", "enctype"}
D = Decimal


def test_a_whole_visit_settles_once_and_cancels(setup) -> None:
    api = setup
    h = his(api)
    mdtrt_id, data = visit(h)
    pre = h.preview(data)
    assert pre["infcode"] == 0, pre
    info = pre["output"]["setlinfo"]
    assert list(info) == SETLINFO and info["setl_id"] is None and info["setl_time"] is None
    assert (info["hifp_pay"], info["acct_mulaid_pay"], info["psn_cash_pay"], info["acct_pay"]) == (
        D("145.00"), D("255.00"), D("50.00"), D("0.00"))
    assert balance(api, "P1") == "3000.00"  # a preview books nothing

    msgid = h.msgid()
    first = h.settle(data, pre, msgid=msgid)
    assert first["infcode"] == 0 and set(first) == ENVELOPE_KEYS, first
    s = first["output"]["setlinfo"]
    assert list(s) == SETLINFO and s["medins_setl_id"] == msgid and s["clr_type"] == "11" and s["clr_optins"] == "652801"
    assert s["medfee_sumamt"] == s["fund_pay_sumamt"] + s["psn_part_amt"] + s["hosp_part_amt"]
    assert s["psn_part_amt"] == s["acct_pay"] + s["acct_mulaid_pay"] + s["psn_cash_pay"]
    assert s["medfee_sumamt"] == s["fulamt_ownpay_amt"] + s["overlmt_selfpay"] + s["preselfpay_amt"] + s["inscp_scp_amt"]
    assert [(r["fund_pay_type"], r["fund_payamt"]) for r in first["output"]["setldetail"]] == [
        ("390100", D("145.00")), (MUTUAL_AID[0], D("255.00"))]
    assert "8765" not in json.dumps(first["output"]["exp_content"], default=str)  # no holder's balance
    assert balance(api, "P1") == "2745.00"

    # the same message again (a HIS retry): the stored reply, nothing booked
    again = h.settle(data, pre, msgid=msgid)
    assert again["output"] == first["output"] and again["warn_msg"] is None
    # a new msgid for the same batch (a HIS after a timeout): the same settlement, a warning
    other = h.settle(data, pre)
    assert other["infcode"] == 0 and other["output"]["setlinfo"]["setl_id"] == s["setl_id"]
    assert "未重复结算" in other["warn_msg"]
    # the same msgid with another input is refused
    changed = h.call("2207", {"data": data | {"acct_used_flag": "0"}}, msgid)
    assert changed["infcode"] == -1 and "报文ID" in changed["err_msg"] and changed["output"] is None
    assert balance(api, "P1") == "2745.00"

    cancel = h.cancel(s["setl_id"], mdtrt_id, "P2")
    c = cancel["output"]["setlinfo"]
    assert cancel["infcode"] == 0 and c["setl_id"] == s["setl_id"]
    assert (c["medfee_sumamt"], c["acct_mulaid_pay"], c["hifp_pay"]) == (D("-450.00"), D("-255.00"), D("-145.00"))
    assert balance(api, "P1") == "3000.00"
    twice = h.cancel(s["setl_id"], mdtrt_id, "P2")
    assert twice["infcode"] == 0 and "未重复撤销" in twice["warn_msg"] and balance(api, "P1") == "3000.00"
    # the cancelled batch answers as such; a new batch number settles the bill again
    after = h.settle(data, pre)
    assert after["infcode"] == 0 and "撤销" in after["warn_msg"] and balance(api, "P1") == "3000.00"
    assert h.upload(mdtrt_id, "P2", "B2", WORKED_LINES, BEGIN)["infcode"] == 0
    new = h.settle(data | {"chrg_bchno": "B2"})
    assert new["infcode"] == 0 and new["output"]["setlinfo"]["setl_id"] != s["setl_id"]
    assert balance(api, "P1") == "2745.00"
    assert api.service.verify() == []


def test_the_operator_of_each_message_is_who_settled_and_who_reversed(setup) -> None:
    """The envelope's ``opter`` joins the institution in the message's actor: ``settled_by``,
    ``reversed_by`` and the audit trail know the HIS's cashier; without one it is the institution."""
    api = setup
    h = his(api)
    h.opter = "0007"
    mdtrt_id, data = visit(h)
    first = h.settle(data)
    assert first["infcode"] == 0, first
    cancelled = first["output"]["setlinfo"]["setl_id"]
    h.opter = "0009"
    assert h.cancel(cancelled, mdtrt_id, "P2")["infcode"] == 0  # 2208
    assert h.upload(mdtrt_id, "P2", "B2", WORKED_LINES, BEGIN)["infcode"] == 0
    h.opter, lost = "", h.msgid()
    second = h.settle(data | {"chrg_bchno": "B2"}, msgid=lost)
    assert second["infcode"] == 0, second
    reversed_ = second["output"]["setlinfo"]["setl_id"]
    h.opter = "0003"
    assert h.reverse("P2", lost)["infcode"] == 0  # 2601

    def who(uow) -> dict:
        S = m.Settlement
        return {m.setl_id_of(i): (by, rev) for i, by, rev in
                uow.session.execute(select(S.id, S.settled_by, S.reversed_by)).all()}

    assert run(api.service.engine, who, write=False) == {
        cancelled: ("institution:H1/0007", "institution:H1/0009"), reversed_: ("institution:H1", "institution:H1/0003")}
    trail = {(e["action"], e["actor"]) for e in api.auditor.get("/api/v1/audit", params={"limit": 200}).json()["items"]}
    assert {("nhsa_2207", "institution:H1/0007"), ("nhsa_2208", "institution:H1/0009"), ("nhsa_2207", "institution:H1"),
            ("nhsa_2601", "institution:H1/0003")} <= trail
    assert api.service.verify() == []


def test_amounts_on_the_wire_are_numbers_with_two_decimals(setup) -> None:
    api = setup
    h = his(api)
    _, data = visit(h)
    raw = h.http.post("/nhsa", content=json.dumps(h.envelope("2206", {"data": json.loads(
        json.dumps(data, default=str))})).encode(), headers={"Content-Type": "text/plain"}).text
    assert re.search(r'"hifp_pay":145\.00[,}]', raw) and re.search(r'"acct_pay":0\.00[,}]', raw)
    assert re.search(r'"infcode":0[,}]', raw) and '"med_type":"11"' in raw


def test_a_lost_answer_is_undone_by_2601_and_a_second_2601_does_nothing(setup) -> None:
    api = setup
    h = his(api)
    _, data = visit(h)
    lost = h.msgid()
    assert h.settle(data, msgid=lost)["infcode"] == 0  # booked; the HIS never saw this reply
    assert balance(api, "P1") == "2745.00"
    rev = h.reverse("P2", lost)
    assert rev["infcode"] == 0 and rev["output"] == {} and balance(api, "P1") == "3000.00"
    second = h.reverse("P2", lost)
    assert second["infcode"] == 0 and "无需再冲正" in second["warn_msg"] and balance(api, "P1") == "3000.00"
    assert api.service.verify() == []


def test_a_reversal_that_overtakes_its_message_keeps_it_from_booking(setup) -> None:
    api = setup
    h = his(api)
    _, data = visit(h)
    late = h.msgid()
    early = h.reverse("P2", late)
    assert early["infcode"] == 0 and "不予办理" in early["warn_msg"]
    arrived = h.settle(data, msgid=late)
    assert arrived["infcode"] == -1 and "冲正" in arrived["err_msg"] and balance(api, "P1") == "3000.00"
    assert h.settle(data)["infcode"] == 0 and balance(api, "P1") == "2745.00"  # a new msgid settles


def test_a_retry_that_answered_an_earlier_settlement_is_not_its_booking(setup) -> None:
    api = setup
    h = his(api)
    _, data = visit(h)
    assert h.settle(data)["infcode"] == 0
    retry = h.msgid()
    assert "未重复结算" in h.settle(data, msgid=retry)["warn_msg"]
    rev = h.reverse("P2", retry)
    assert rev["infcode"] == 0 and "未产生新的结算" in rev["warn_msg"] and balance(api, "P1") == "2745.00"


def test_the_catalogue_classifies_and_refuses(setup) -> None:
    api = setup
    h = his(api)
    capped = [{"feedetl_sn": "C1", "med_list_codg": "XC", "cnt": 2, "pric": "100.004", "det_item_fee_sumamt": "200.01"}]
    mdtrt_id, data = visit(h, lines=capped)
    pre = h.preview(data)["output"]["setlinfo"]
    # (100.004 − 80) × 2 = 40.008 → 40.01 above the cap, self-paid like 丙
    assert (pre["overlmt_selfpay"], pre["inscp_scp_amt"]) == (D("40.01"), D("160.00"))
    bad = h.upload(mdtrt_id, "P2", "B9", [dict(WORKED_LINES[0]), {**WORKED_LINES[1], "med_list_codg": "NOPE"}], BEGIN)
    assert bad["infcode"] == -1 and "L2" in bad["err_msg"] and "NOPE" in bad["err_msg"]
    wrong = h.upload(mdtrt_id, "P2", "B9", [{**WORKED_LINES[1], "det_item_fee_sumamt": "100.01"}], BEGIN)
    assert wrong["infcode"] == -1 and "数量" in wrong["err_msg"]
    lines = run(api.service.engine, lambda uow: uow.session.query(m.NhsaFeeLine).filter_by(chrg_bchno="B9").count(),
                write=False)
    assert lines == 0  # a refused 2204 stores nothing
    # the HIS's total must be the batch's
    assert "不符" in h.preview(data | {"medfee_sumamt": "200.00"})["err_msg"]


def test_visit_types(setup) -> None:
    api = setup
    h = his(api)
    _, emergency = visit(h, med_type="13")
    assert h.preview(emergency)["output"]["setlinfo"]["med_type"] == "13"
    _, inpatient = visit(h, med_type="21", otp="OP2")
    refused = h.preview(inpatient)
    assert refused["infcode"] == -1 and "21" in refused["err_msg"]
    _, mine = visit(h, otp="OP3")
    assert "险种" in h.preview(mine | {"insutype": "310"})["err_msg"]
    assert "医疗类别" in h.preview(mine | {"med_type": "14"})["err_msg"]


def test_registration_retry_and_cancel(setup) -> None:
    api = setup
    h = his(api)
    mdtrt_id, data = visit(h)
    again = h.register("P2", "390", "", "OP1", BEGIN)
    assert again["output"]["data"]["mdtrt_id"] == mdtrt_id and again["warn_msg"]
    assert h.settle(data)["infcode"] == 0
    refused = h.call("2202", {"data": {"psn_no": "P2", "mdtrt_id": mdtrt_id, "ipt_otp_no": "OP1"}})
    assert refused["infcode"] == -1 and "2208" in refused["err_msg"]


def test_person_by_id_card_and_by_number(setup) -> None:
    api = setup
    h = his(api)
    by_card = h.person(certno="652801198001011238")
    base, insu = by_card["output"]["baseinfo"], by_card["output"]["insuinfo"][0]
    assert (base["psn_no"], base["gend"], base["brdy"], base["psn_cert_type"]) == ("P1", "1", "1980-01-01", "01")
    assert insu["balc"] == D("3000.00") and insu["insuplc_admdvs"] == "652801"
    resident = h.person(psn_no="P2")["output"]
    assert resident["insuinfo"][0]["balc"] == D("0.00") and resident["baseinfo"]["psn_cert_type"] == "99"
    assert h.person(certno="110101199003074477")["infcode"] == -1


def _raw(api, body: bytes, path: str = "/nhsa", headers: dict | None = None) -> dict:
    r = api.client().post(path, content=body, headers=headers or {})
    assert r.status_code == 200, r.text
    out = r.json()
    assert set(out) == ENVELOPE_KEYS and isinstance(out["infcode"], int)
    return out


def _tif(secret: str, paasid: str = "H1", ts: int | None = None, nonce: str = "n-1") -> dict:
    t = str(int(time.time()) if ts is None else ts)
    return {"x-tif-paasid": paasid, "x-tif-timestamp": t, "x-tif-nonce": nonce,
            "x-tif-signature": hashlib.sha256(f"{t}{secret}{nonce}{t}".encode()).hexdigest()}


def test_every_refusal_is_an_http_200_envelope(setup) -> None:
    api = setup
    h = his(api)
    secret = h.http.auth.secret
    sign_in = h.envelope("9001", {"signIn": {"opter_no": "1", "mac": "m", "ip": "i"}})
    body = json.dumps(sign_in).encode()
    cases = {
        "unsigned": (body, {}, "缺少 x-tif"),
        "wrong secret": (body, _tif("not-it"), "签名校验未通过"),
        "stale": (body, _tif(secret, ts=int(time.time()) - 3600), "时间戳"),
        "truncated": (body[:-7], _tif(secret, nonce="n-2"), "JSON"),
        "unknown infno": (json.dumps(sign_in | {"infno": "9999"}).encode(), _tif(secret, nonce="n-3"), "9999"),
        "not mine": (json.dumps(sign_in | {"fixmedins_code": "H2"}).encode(), _tif(secret, nonce="n-4"), "不符"),
        "3202": (json.dumps(sign_in | {"infno": "3202"}).encode(), _tif(secret, nonce="n-5"), "3202"),
    }
    for name, (b, hdrs, words) in cases.items():
        out = _raw(api, b, headers=hdrs)
        assert out["infcode"] == -1 and words in out["err_msg"] and out["output"] is None, (name, out)
        assert re.fullmatch(r"[0-9]{30}", out["inf_refmsgid"]) and re.fullmatch(r"[0-9]{17}", out["respond_time"])
    now = int(time.time())
    ok_ = _raw(api, body, headers=_tif(secret, nonce="n-6", ts=now))
    assert ok_["infcode"] == 0 and ok_["inf_refmsgid"].startswith("652801")
    replay = _raw(api, body, headers=_tif(secret, nonce="n-6", ts=now))
    assert replay["infcode"] == -1 and "重放" in replay["err_msg"]
    path_mismatch = _raw(api, body, "/nhsa/2207", _tif(secret, nonce="n-7"))
    assert path_mismatch["infcode"] == -1 and "不一致" in path_mismatch["err_msg"]
    big = _raw(api, b"{" + b" " * (3 * 1024 * 1024) + b"}", headers={"content-type": "application/json"})
    assert big["infcode"] == -1 and "KB" in big["err_msg"]


def test_gbk_text_plain_string_input_and_the_path_form(setup) -> None:
    api = setup
    h = his(api, path_form=True)
    env = h.envelope("9001", {"signIn": {"opter_no": "收费员01", "mac": "m", "ip": "i"}})
    env["input"] = json.dumps(env["input"], ensure_ascii=False)  # some clients send input as a string
    gbk = json.dumps(env, ensure_ascii=False).encode("gbk")
    out = _raw(api, gbk, "/nhsa/9001", _tif(h.http.auth.secret, nonce="g-1") | {"content-type": "text/plain"})
    assert out["infcode"] == 0 and out["output"]["signinoutb"]["sign_no"]


def test_hmac_and_a_registered_paasid(setup) -> None:
    api = setup
    assert his(api, scheme="hmac").sign_in()["infcode"] == 0
    assert his(api, scheme="hmac", path_form=True).sign_in()["infcode"] == 0

    def set_paasid(uow) -> None:
        uow.session.get(m.Institution, "H1").paasid = "GW-APP-7"
    run(api.service.engine, set_paasid)
    secret = his(api).http.auth.secret
    h = his(api)
    h.http.auth.paasid = "GW-APP-7"
    assert h.sign_in()["infcode"] == 0
    by_code = his(api)  # the code no longer serves once another paasid is registered
    assert by_code.sign_in()["infcode"] == -1
    assert secret


def test_verify_finds_fee_lines_that_disagree_with_their_settlement(setup) -> None:
    api = setup
    h = his(api)
    _, data = visit(h)
    setl = h.settle(data)["output"]["setlinfo"]["setl_id"]
    assert api.service.verify() == []

    def tamper(uow) -> None:
        line = uow.session.query(m.NhsaFeeLine).filter_by(feedetl_sn="L3").one()
        line.amount += 1
        uow.session.query(m.NhsaFeeLine).filter_by(feedetl_sn="L2").one().state = "unsettled"
    run(api.service.engine, tamper)
    found = api.service.verify()
    assert any(setl in f and "费用明细合计" in f for f in found)
    assert any("状态不符" in f for f in found)

    def restore(uow) -> None:
        uow.session.query(m.NhsaFeeLine).filter_by(feedetl_sn="L3").one().amount -= 1
        uow.session.query(m.NhsaFeeLine).filter_by(feedetl_sn="L2").one().state = "settled"
    run(api.service.engine, restore)
    assert api.service.verify() == []


def test_one_batch_sent_at_once_under_several_msgids_is_settled_once(setup) -> None:
    """Eight HIS retries racing (each after its own timeout, each a new msgid): one booking; and
    2601 on every one of them undoes that booking exactly once."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from tests.api.server import serving

    api = setup
    _, data = visit(his(api))
    n = 8
    barrier = threading.Barrier(n)
    with serving(api.app) as base:
        def send(i: int) -> tuple[str, dict]:
            with httpx.Client(base_url=base, timeout=60) as http:
                h = his(api, client=http)
                msgid = f"H1RACE{i:04d}"
                barrier.wait()
                return msgid, h.settle(data, msgid=msgid)

        with ThreadPoolExecutor(n) as pool:
            replies = list(pool.map(send, range(n)))
        assert all(r["infcode"] == 0 for _, r in replies), replies
        assert len({r["output"]["setlinfo"]["setl_id"] for _, r in replies}) == 1
        booked = [msgid for msgid, r in replies if r["warn_msg"] is None]
        assert len(booked) == 1 and replies[0][1]["output"]["setlinfo"]["medins_setl_id"] == booked[0]
        assert balance(api, "P1") == "2745.00"
        with httpx.Client(base_url=base, timeout=60) as http:
            h = his(api, client=http)
            for msgid, _ in replies:
                assert h.reverse("P2", msgid)["infcode"] == 0
    assert balance(api, "P1") == "3000.00"


def test_the_x_tif_signature_of_the_worked_example() -> None:
    from gongji.api.nhsa.auth import tif_signature

    assert tif_signature("1764300000", "example-secret-not-real", "7f3c9a0d2b4e4f61a8c5d9e0b1a2c3d4") == \
        "4fafa8f456ce372b1d74175c1b547bd9d6efbca086fd0ce51dee7d1424e10e59"


class _LosesAnswers:
    """A network that delivers every request but loses the answer to the infnos named."""

    def __init__(self, inner, lose: set[str]) -> None:
        self.inner, self.lose = inner, lose

    def handle_request(self, request):
        import httpx

        response = self.inner.handle_request(request)
        if json.loads(request.content).get("infno") in self.lose:
            response.read()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


@pytest.mark.parametrize("recovery", ["5203", "2601"])
def test_a_his_recovers_from_a_timed_out_2207(setup, recovery) -> None:
    import httpx

    api = setup
    h = his(api)
    mdtrt_id, data = visit(h)
    flaky = api.client()
    flaky._transport = _LosesAnswers(flaky._transport, {"2207"})
    lossy = his(api, client=flaky)
    lost = lossy.msgid()
    with pytest.raises(httpx.ReadTimeout):
        lossy.settle(data, msgid=lost)
    assert balance(api, "P1") == "2745.00"  # the platform did settle
    if recovery == "5203":  # find it by the visit (no setl_id known), then cancel it by its id
        found = h.query("P2", "", mdtrt_id)["output"]["setlinfo"]
        assert found["medins_setl_id"] == lost and found["refd_setl_flag"] == "0"
        assert h.cancel(found["setl_id"], mdtrt_id, "P2")["infcode"] == 0
    else:  # reverse the message itself
        assert h.reverse("P2", lost)["infcode"] == 0
    assert balance(api, "P1") == "3000.00"
    assert api.service.verify() == []


def test_a_rest_key_cannot_claim_a_national_batch(setup) -> None:
    from tests.api.test_rest import VISIT

    api = setup
    mdtrt_id, data = visit(his(api))
    r = api.inst("H1").post("/api/v1/settlements", json={"visit": VISIT},
                            headers={"Idempotency-Key": f"nhsa:{mdtrt_id}:B1"})
    assert r.status_code == 422 and "前缀" in r.json()["detail"]
    assert his(api).settle(data)["warn_msg"] is None  # the batch settles by 2207 as its own


def test_a_non_ascii_signature_is_refused_not_a_system_error(setup) -> None:
    api = setup
    h = his(api)
    body = json.dumps(h.envelope("9001", {"signIn": {"opter_no": "1"}})).encode()
    headers = _tif(h.http.auth.secret, nonce="u-1") | {"x-tif-signature": "签名"}
    out = _raw(api, body, headers={k: v.encode() for k, v in headers.items()})  # raw UTF-8 bytes on the wire
    assert out["infcode"] == -1 and "签名校验未通过" in out["err_msg"]
