"""A retried settlement answers the first result as the settlement stands now: after a reversal
it says ``reversed`` and when, so a client retrying after a timeout is not told the account paid.
Through the service and through ``gongji replay``, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from gongji.replay import replay
from tests.service.helpers import family, service, visit


def test_a_retry_after_the_reversal_says_reversed(engine) -> None:
    svc = service(engine, "2025-03-03")
    family(svc, "3000.00", beneficiaries=1)
    first = svc.settle("k1", visit("B1", "600.00"))
    assert (first["state"], first["reversed_on"], first["acct_mulaid_pay"]) == ("settled", None, "300.00")
    assert svc.settle("k1", visit("B1", "600.00")) == first
    svc.clock.day = date(2025, 3, 4)
    svc.reverse(first["setl_id"])
    svc.clock.day = date(2025, 3, 5)
    again, made = svc.settle_once("k1", visit("B1", "600.00"))
    assert not made
    assert again == first | {"state": "reversed", "reversed_on": "2025-03-04"}
    fresh = svc.settle("k2", visit("B1", "600.00"))  # a new key settles anew
    assert (fresh["state"], fresh["reversed_on"]) == ("settled", None) and fresh["setl_id"] != first["setl_id"]


def test_replay_shows_the_reversal_on_a_retried_settle_step(engine) -> None:
    bill = {"psn_no": "P2", "fixmedins": "H1", "med_type": "11",
            "items": [{"code": "X", "name": "检查", "list_class": "A", "category": "exam", "amount": "600.00"}]}
    story = {"region": "652800", "steps": [
        {"on": "2025-01-02", "do": "institution", "code": "H1", "level": 2, "admdvs": "652801", "kind": "hospital"},
        {"on": "2025-01-02", "do": "person", "psn_no": "P1", "insutype": "310", "insu_admdvs": "652801",
         "balance": "3000.00"},
        {"on": "2025-01-02", "do": "person", "psn_no": "P2", "insutype": "390", "insu_admdvs": "652801"},
        {"on": "2025-01-03", "do": "apply", "holder": "P1", "beneficiary": "P2", "relation": "parent",
         "channel": "online"},
        {"on": "2025-01-06", "do": "review", "holder": "P1", "beneficiary": "P2", "decision": "approve"},
        {"on": "2025-01-07", "do": "settle", "key": "k1", "visit": bill},
        {"on": "2025-01-08", "do": "reverse", "key": "k1"},
        {"on": "2025-01-09", "do": "settle", "key": "k1", "visit": bill},
    ]}
    steps = replay(story, engine)["steps"]
    first, retry = steps[5], steps[7]
    assert first["ok"] and first["state"] == "settled" and first["reversed_on"] is None
    assert retry == first | {"state": "reversed", "reversed_on": "2025-01-08"}
