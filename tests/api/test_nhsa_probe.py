"""Found by playing a HIS against ``gongji serve`` with hand-written messages (the probe of
2026-11): what the national interface gets wrong for real HIS software. Each test is a message a
HIS sends and what that HIS expects back; each fails on the code as it stands."""

from __future__ import annotations

import hashlib
import json
import time
from decimal import Decimal

import pytest

from tests.api.nhsa_his import BEGIN, WORKED_LINES, catalogue, his, visit
from tests.api.test_rest import family

ENVELOPE_KEYS = {"infcode", "inf_refmsgid", "refmsg_time", "respond_time", "err_msg", "warn_msg", "output", "cainfo",
                 "signtype", "enctype"}


@pytest.fixture
def setup(api):
    family(api)
    catalogue(api.service.engine)
    return api


def _tif(secret: str, nonce: str, paasid: str = "H1") -> dict:
    t = str(int(time.time()))
    return {"x-tif-paasid": paasid, "x-tif-timestamp": t, "x-tif-nonce": nonce,
            "x-tif-signature": hashlib.sha256(f"{t}{secret}{nonce}{t}".encode()).hexdigest()}


def test_an_empty_or_overlong_text_field_is_called_empty_or_too_long(setup) -> None:
    """docs/nhsa.md "Transport": a refusal of the input names the field, then why. An empty
    ``insutype`` (a HIS that lost 1101's answer) is refused with "至少一条" ("at least one item"),
    and a 201-character ``fixmedins_name`` or an IPv6 ``ip`` in 9001 with "条数过多" ("too many
    items"): list wording for a text field, which sends the cashier looking for a missing list.
    ``read()`` maps ``string_too_short``/``string_too_long`` to 不能为空 / 超过最大长度 N, but a
    ``Str(n)`` (BeforeValidator + Field) fails as ``too_short``/``too_long``."""
    api = setup
    h = his(api)
    empty = h.call("2201", {"data": {"psn_no": "P2", "insutype": "", "begntime": BEGIN, "ipt_otp_no": "OP9"}})
    assert empty["infcode"] == -1 and "insutype" in empty["err_msg"]
    assert "至少一条" not in empty["err_msg"] and "不能为空" in empty["err_msg"], empty["err_msg"]

    env = h.envelope("9001", {"signIn": {"opter_no": "0001", "mac": "00-16-3E-00-00-01", "ip": "10.0.0.8"}})
    env["fixmedins_name"] = "某" * 201
    long_name = h.send(env)
    assert long_name["infcode"] == -1 and "fixmedins_name" in long_name["err_msg"]
    assert "条数过多" not in long_name["err_msg"] and "长度" in long_name["err_msg"], long_name["err_msg"]

    ipv6 = h.call("9001", {"signIn": {"opter_no": "0001", "mac": "00:16:3E:00:00:01", "ip": "fe80::1ff:fe23:4567:890a"}})
    assert ipv6["infcode"] == 0, ipv6  # an IPv6 address is accepted: C(20) is too short for one


def test_a_body_declared_gbk_is_read_as_gbk(setup) -> None:
    """Spec 1.1: one HIS family sends the body in the system code page (GBK); docs/nhsa.md reads
    UTF-8 first and GBK only when UTF-8 fails. Some GBK text is also valid UTF-8 (胃痛 is
    ``ce b8 cd b4``, which UTF-8 reads as "θʹ"): a 2203 sent as GBK, and saying so in
    ``Content-Type: application/json;charset=GBK``, is stored as mojibake and 5203 shows
    ``dise_name`` "θʹ". A declared charset should win over the guess."""
    api = setup
    h = his(api)
    assert h.sign_in()["infcode"] == 0
    reg = h.register("P2", "390", "", "OPG", BEGIN)
    mdtrt_id = reg["output"]["data"]["mdtrt_id"]
    env = h.envelope("2203", {
        "mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": "P2", "med_type": "11", "begntime": BEGIN},
        "diseinfo": [{"diag_type": "1", "diag_srt_no": "1", "diag_code": "R10.4", "diag_name": "胃痛", "vali_flag": "1"}]})
    env["opter_name"], env["fixmedins_name"] = "石平", "陆平医院"
    body = json.dumps(env, ensure_ascii=False).encode("gbk")
    body.decode("utf-8")  # the point: this GBK body is valid UTF-8 too
    r = api.client().post("/nhsa", content=body,
                          headers=_tif(h.http.auth.secret, "gbk-1") | {"content-type": "application/json;charset=GBK"})
    assert r.status_code == 200 and r.json()["infcode"] == 0, r.text
    assert h.upload(mdtrt_id, "P2", "B1", WORKED_LINES, BEGIN)["infcode"] == 0
    settled = h.settle(h.settle_data(mdtrt_id, "P2", "", "11", Decimal("450.00"), "B1", "390"))
    assert settled["infcode"] == 0, settled
    q = h.call("5203", {"data": {"psn_no": "P2", "setl_id": settled["output"]["setlinfo"]["setl_id"]}})
    assert q["output"]["setlinfo"]["dise_name"] == "胃痛", q["output"]["setlinfo"]["dise_name"]


def test_a_utc_time_is_read_as_china_time(setup) -> None:
    """Spec 4.2: C# clients may send the serialiser's ISO form; ``DateTime.UtcNow`` serialises with
    a ``Z`` (and ``DateTimeOffset`` with an offset). gongji cuts the text at 19 characters and
    drops the zone: a registration at 2025-01-07 01:30 China time sent as
    ``2025-01-06T17:30:00Z`` is stored as 2025-01-06 17:30, so the visit's day (5203
    ``begndate``) is a day early. It should be converted to China time (or refused), never
    silently shifted by eight hours."""
    api = setup
    h = his(api)
    assert h.sign_in()["infcode"] == 0
    reg = h.register("P2", "390", "", "OPZ", "2025-01-06T17:30:00Z")
    assert reg["infcode"] == 0, reg
    mdtrt_id = reg["output"]["data"]["mdtrt_id"]
    assert h.describe(mdtrt_id, "P2", "11", BEGIN)["infcode"] == 0
    assert h.upload(mdtrt_id, "P2", "B1", WORKED_LINES, BEGIN)["infcode"] == 0
    settled = h.settle(h.settle_data(mdtrt_id, "P2", "", "11", Decimal("450.00"), "B1", "390"))
    q = h.call("5203", {"data": {"psn_no": "P2", "setl_id": settled["output"]["setlinfo"]["setl_id"]}})
    assert q["output"]["setlinfo"]["begndate"] == "2025-01-07", q["output"]["setlinfo"]["begndate"]


def test_a_settled_line_number_is_not_sent_to_2205(setup) -> None:
    """Spec 5 / Guangdong ``mid_setl_flag``: a visit may settle several batches. A HIS that numbers
    lines per batch sends ``feedetl_sn`` "L1" again in batch B2 after B1 settled. Refusing it is
    the documented rule (unique within the visit), but the refusal says
    "明细流水号 L1 已上传且内容不同;请先撤销(2205)": 2205 cannot withdraw a settled line (it answers
    "已结算,不能撤销明细"), so the cashier is sent in a circle. The reason should say the number
    belongs to a settled line and a new number is needed."""
    api = setup
    h = his(api)
    mdtrt_id, data = visit(h)
    assert h.settle(data)["infcode"] == 0
    other = [{"feedetl_sn": "L1", "med_list_codg": "X1", "cnt": 1, "pric": "20", "det_item_fee_sumamt": "20"}]
    again = h.upload(mdtrt_id, "P2", "B2", other, BEGIN)
    assert again["infcode"] == -1
    assert "2205" not in again["err_msg"] and "已结算" in again["err_msg"], again["err_msg"]


@pytest.mark.parametrize("path", ["/nhsa/", "/nhsa/9001/"])
def test_a_trailing_slash_is_still_an_http_200_envelope(setup, path) -> None:
    """Spec 1.1 / docs Decision 2: a HIS treats anything but HTTP 200 as a network failure. A HIS
    whose configured URL ends in "/" (``http://host/nhsa/``, or the Guangdong base + infno + "/")
    gets HTTP 307 with an empty body (Starlette's slash redirect); Java's HttpURLConnection does
    not follow a 307 on POST, so the HIS reports a network error (and, after a 2207, a −1 it must
    reverse). The message should be answered, or at least refused as a 200 envelope."""
    api = setup
    h = his(api)
    env = h.envelope("9001", {"signIn": {"opter_no": "0001", "mac": "m", "ip": "i"}})
    r = api.client().post(path, content=json.dumps(env).encode(), follow_redirects=False,
                          headers=_tif(h.http.auth.secret, "slash-" + path) | {"content-type": "application/json"})
    assert r.status_code == 200, (r.status_code, r.headers.get("location"))
    assert set(r.json()) == ENVELOPE_KEYS
