"""A settlement retried after its reversal, over HTTP: REST, the NHSA adapter (2207 after 2208)
and the cashier's page all answer the first result marked ``reversed``, never as paid."""

from __future__ import annotations

from datetime import date

from gongji.service import security
from tests.api.nhsa_his import catalogue, his, visit
from tests.api.test_rest import VISIT, WORKED_ITEMS, family, ok


def test_rest_retry_after_reversal(api) -> None:
    family(api)
    settle = lambda: api.inst("H1").post("/api/v1/settlements", json={"visit": VISIT},  # noqa: E731
                                         headers={"Idempotency-Key": "k1"})
    first = ok(settle())
    assert (first["state"], first["reversed_on"]) == ("settled", None)
    api.clock.day = date(2025, 1, 8)
    ok(api.inst("H1").post(f"/api/v1/settlements/{first['setl_id']}/reverse"))
    api.clock.day = date(2025, 1, 9)
    assert ok(settle()) == first | {"state": "reversed", "reversed_on": "2025-01-08"}
    assert ok(api.person("P1").get("/api/v1/accounts/P1"))["balance"] == "3000.00"


def test_nhsa_2207_retry_after_2208(api) -> None:
    family(api)
    catalogue(api.service.engine)
    h = his(api)
    mdtrt_id, data = visit(h)
    msgid = h.msgid()
    first = h.settle(data, msgid=msgid)
    info = first["output"]["setlinfo"]
    assert first["infcode"] == 0 and first["warn_msg"] is None
    api.clock.day = date(2025, 1, 8)
    assert h.cancel(info["setl_id"], mdtrt_id, "P2")["infcode"] == 0
    again = h.settle(data)  # the HIS retries with a new msgid: the first result, its state in warn_msg
    assert again["infcode"] == 0 and again["output"]["setlinfo"] == info
    assert "2025-01-08 撤销" in again["warn_msg"]
    assert ok(api.person("P1").get("/api/v1/accounts/P1"))["balance"] == "3000.00"


def test_the_cashier_sees_a_retried_reversed_settlement_as_reversed(api) -> None:
    family(api)
    password = api.service.secure(security.add_cashier, "li", "H1")
    desk = api.login("cashier", "li", password)
    form = {"psn_no": "P2", "key": "H1-bill-1", "med_type": "11",
            **{f: [it.get(f, "") for it in WORKED_ITEMS] for f in ("code", "name", "list_class", "category", "amount")},
            "selfpay_prop": [it.get("selfpay_prop", "") for it in WORKED_ITEMS]}
    done = desk.post("/cashier/settle", data=form)
    assert done.status_code == 200 and "结算完成 · S00000001" in done.text and 'data-testid="reversed"' not in done.text
    api.clock.day = date(2025, 1, 8)
    desk.post("/cashier/settlements/S00000001/reverse")
    retry = desk.post("/cashier/settle", data=form)  # the form sent again, e.g. after a timeout
    assert retry.status_code == 200 and retry.history[0].status_code == 303
    assert "已冲正 · S00000001" in retry.text and "结算完成" not in retry.text
    assert "该结算已于 2025-01-08 冲正" in retry.text
    assert ok(api.person("P1").get("/api/v1/accounts/P1"))["balance"] == "3000.00"
