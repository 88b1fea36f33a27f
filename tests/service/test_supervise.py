"""The supervision rules on both databases: for each, a story that trips it and a near-miss just
below its threshold that does not; and the engine's promises (a run twice adds nothing, new
evidence extends an open flag, a decided flag is not raised again, one run at a time)."""

from __future__ import annotations

from datetime import date

import pytest

from gongji.service import commands as c
from gongji.service.supervise.engine import supervise
from gongji.store.models import setl_id_of, settlement_pk
from tests.service.supervise_world import World

TODAY = date(2025, 4, 30)


def run(w: World, **kw) -> dict:
    return supervise(w.engine, today=TODAY, **kw)


def test_split_bills(engine) -> None:
    w = World(engine)
    for p in ("S1", "S2", "S3"):
        w.person(p, "3000.00")
    a = w.settle("S1", "H1", "800.00", 5)
    b = w.settle("S1", "H1", "800.00", 5)
    w.settle("S2", "H1", "750.00", 5)  # together exactly the threshold: not above it
    w.settle("S2", "H1", "750.00", 5)
    w.settle("S3", "H1", "1600.00", 5)  # one visit
    w.settle("S3", "H2", "900.00", 6)
    w.settle("S3", "H1", "900.00", 7)  # another day
    run(w)
    [flag] = w.flags("split_bills")
    assert flag["subject"] == "person:S1" and flag["fixmedins"] == "H1"
    assert flag["period_start"] == flag["period_end"] == "2025-03-08"
    assert flag["evidence"] == sorted(settlement_pk(x["setl_id"]) for x in (a, b))
    assert flag["amount"] == 160000 and "1600.00" in flag["reason"] and "1500.00" in flag["reason"]


def test_pharmacy_hopping(engine) -> None:
    w = World(engine)
    w.person("M1", "3000.00")
    w.person("M2", "3000.00")
    for day, shop in ((0, "P1"), (2, "P2"), (4, "P3"), (6, "P4")):
        w.settle("M1", shop, "30.00", day)
    for day, shop in ((0, "P1"), (2, "P2"), (4, "P3"), (7, "P4")):  # the fourth shop on the 8th day
        w.settle("M2", shop, "30.00", day)
    run(w)
    [flag] = w.flags("pharmacy_hopping")
    assert flag["subject"] == "person:M1"
    assert (flag["period_start"], flag["period_end"]) == ("2025-03-03", "2025-03-09")
    assert len(flag["evidence"]) == 4 and "4 家不同药店" in flag["reason"]


def test_high_frequency(engine) -> None:
    w = World(engine)
    w.person("F1", "3000.00")
    w.person("F2", "3000.00")
    for day in (0, 2, 4, 6, 8, 9):
        w.settle("F1", "P1", "20.00", day)
    for day in (0, 2, 4, 6, 8, 10):  # the sixth on the 11th day
        w.settle("F2", "P1", "20.00", day)
    run(w)
    assert w.subjects("high_frequency") == {"person:F1"}
    assert w.subjects("pharmacy_hopping") == set()


def test_quota_sweep(engine) -> None:
    w = World(engine)
    [q1] = w.family("Q", "5000.00", 1)
    [r1] = w.family("R", "5000.00", 1)
    [t1] = w.family("T", "5000.00", 1)
    w.settle(q1, "H1", "1000.00", 2)
    w.settle(q1, "H2", "600.00", 13)  # 1,600.00 = 80% of the 2,000.00 cap, on the 14th day
    w.settle(r1, "H1", "1000.00", 2)
    w.settle(r1, "H2", "599.99", 13)  # one fen short
    w.settle(t1, "H1", "1000.00", 2)
    w.settle(t1, "H2", "600.00", 14)  # a day late
    run(w)
    [flag] = w.flags("quota_sweep")
    assert flag["subject"] == f"person:{q1}" and flag["psn_nos"] == [q1, "Q"]
    assert flag["amount"] == 160000 and "80.0%" in flag["reason"]


def test_family_sweep(engine) -> None:
    w = World(engine)
    a1, a2 = w.family("A", "4000.00", 2)
    b1, b2 = w.family("B", "4000.00", 2)
    w.settle(a1, "P1", "1000.00", 20)
    w.settle(a2, "P1", "1000.00", 20)  # 2,000.00 of 4,000.00: half
    w.settle(b1, "P1", "1000.00", 20)
    w.settle(b2, "P1", "999.99", 20)  # a fen below half
    w.settle("A", "P2", "10.00", 21)  # the holder alone: not a family sweep
    run(w)
    [flag] = w.flags("family_sweep")
    assert flag["subject"] == "family:A" and flag["fixmedins"] == "P1"
    assert set(flag["psn_nos"]) == {"A", a1, a2} and "50.0%" in flag["reason"]


def test_identical_baskets(engine) -> None:
    w = World(engine)
    basket = [("D1", "80.00"), ("D2", "45.50")]
    a1, a2 = w.family("A", "4000.00", 2)
    b1, b2 = w.family("B", "4000.00", 2)
    c1, c2 = w.family("C", "4000.00", 2)
    w.settle(a1, "H3", basket, 30)
    w.settle(a2, "H3", basket, 36)  # six days later: inside the week
    w.settle(b1, "H3", basket, 30)
    w.settle(b2, "H3", basket, 37)  # seven days later
    w.settle(c1, "H3", basket, 30)
    w.settle(c2, "H3", [("D1", "80.00"), ("D2", "45.51")], 31)  # a fen apart
    run(w)
    [flag] = w.flags("identical_baskets")
    assert flag["subject"] == "family:A" and flag["fixmedins"] == "H3"
    assert len(flag["evidence"]) == 2 and (flag["period_start"], flag["period_end"]) == ("2025-04-02", "2025-04-08")


def _month_of(w: World, inst: str, with_mulaid: int, payer: str, relative: str, start: int = 30) -> None:
    """20 settlements at ``inst`` in April, ``with_mulaid`` of them a relative's (paid by mutual-aid)."""
    for i in range(20):
        w.settle(relative if i < with_mulaid else payer, inst, "10.00", start + i % 20)


def _seven_institutions(engine) -> World:
    """A month of mutual-aid at H1…H7 (2, 3, 4, 5, 6, 16 and 20 settlements): H7 the outlier."""
    w = World(engine)
    holders = [f"O{k}" for k in range(8)]
    relatives = [w.family(h, "5000.00", 1)[0] for h in holders]
    for k, (inst, n) in enumerate((("H1", 2), ("H2", 3), ("H3", 4), ("H4", 5), ("H5", 6), ("H6", 16), ("H7", 20))):
        _month_of(w, inst, n, holders[k], relatives[k])
    return w


def test_institution_outlier(engine) -> None:
    w = _seven_institutions(engine)
    run(w)
    [flag] = w.flags("institution_outlier")
    # shares .10 .15 .20 .25 .30 .80 1.0: median .25, MAD .10, band .25 + 4 × 1.4826 × .10 = .843
    assert flag["subject"] == "institution:H7" and flag["period_start"] == "2025-04-01"
    assert flag["period_end"] == "2025-04-30" and len(flag["evidence"]) == 20
    assert "100.0%" in flag["reason"] and "84.3%" in flag["reason"]


def test_reversal_rate(engine) -> None:
    w = World(engine)
    for p in ("V1", "V2", "V3", "V4"):
        w.person(p, "5000.00")

    def month(psn: str, inst: str, n: int, reversed_: int, actor: str = "system") -> None:
        made = [w.settle(psn, inst, "10.00", 30 + i % 25, actor=actor)["setl_id"] for i in range(n)]
        for s in made[:reversed_]:
            w.reverse(s, 58, actor=actor)
    month("V1", "H1", 20, 5)  # 25%
    month("V2", "H2", 20, 4)  # 20%: not above
    month("V3", "H3", 10, 1)  # the cashier's own share is low...
    month("V3", "H3", 20, 6, actor="institution:H3/zhang")  # ...zhang's is 30%
    month("V4", "H4", 19, 10, actor="institution:H4/li")  # fewer than 20
    run(w)
    flags = {f["subject"]: f for f in w.flags("reversal_rate")}
    assert set(flags) == {"institution:H1", "institution:H3", "cashier:institution:H3/zhang"}
    assert len(flags["cashier:institution:H3/zhang"]["evidence"]) == 6
    assert "30.0%" in flags["cashier:institution:H3/zhang"]["reason"]


def test_a_reversed_settlement_is_evidence_only_of_reversals(engine) -> None:
    w = World(engine)
    w.person("M1", "3000.00")
    made = [w.settle("M1", shop, "30.00", day)["setl_id"] for day, shop in ((0, "P1"), (2, "P2"), (4, "P3"), (6, "P4"))]
    w.reverse(made[-1], 6)
    run(w)
    assert w.flags("pharmacy_hopping") == []


def test_a_run_twice_adds_nothing_and_new_evidence_extends_the_open_flag(engine) -> None:
    w = World(engine)
    w.person("M1", "3000.00")
    for day, shop in ((0, "P1"), (2, "P2"), (4, "P3"), (6, "P4")):
        w.settle("M1", shop, "30.00", day)
    first = run(w)
    assert first["new"] == 1 and run(w)["new"] == 0
    [before] = w.flags("pharmacy_hopping")
    w.settle("M1", "P5", "30.00", 8)  # within a week of the second purchase: the pattern goes on
    again = run(w)
    assert again["new"] == 0 and again["extended"] == 1
    [after] = w.flags("pharmacy_hopping")
    assert after["id"] == before["id"] and len(after["evidence"]) == 5 and after["period_end"] == "2025-03-11"
    assert run(w)["extended"] == 0


def test_a_decided_flag_is_not_raised_again(engine) -> None:
    from sqlalchemy import text
    w = World(engine)
    w.person("M1", "3000.00")
    for day, shop in ((0, "P1"), (2, "P2"), (4, "P3"), (6, "P4")):
        w.settle("M1", shop, "30.00", day)
    run(w)
    with engine.begin() as conn:
        conn.execute(text("UPDATE supervision_flags SET state = 'excluded'"))
    run(w, date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))
    assert len(w.flags("pharmacy_hopping")) == 1
    w.settle("M1", "P5", "30.00", 8)
    run(w)
    flags = w.flags("pharmacy_hopping")
    assert [f["state"] for f in flags] == ["excluded", "open"] and len(flags[1]["evidence"]) >= 4


def test_one_run_at_a_time(engine) -> None:
    from gongji.service.supervise.engine import Busy, _exclusive
    w = World(engine)
    with _exclusive(engine), pytest.raises(Busy):
        run(w)


def test_a_settlement_id_is_named_in_the_evidence(engine) -> None:
    w = World(engine)
    w.person("S1", "3000.00")
    made = [w.settle("S1", "H1", "800.00", 5)["setl_id"] for _ in range(2)]
    run(w)
    [flag] = w.flags("split_bills")
    assert [setl_id_of(i) for i in flag["evidence"]] == sorted(made)


def test_the_server_runs_it_after_midnight_and_only_one_process_does(engine) -> None:
    from datetime import datetime

    from gongji.service.supervise.engine import _exclusive
    from gongji.service.supervise.nightly import next_run, run_once
    assert next_run(datetime(2025, 4, 1, 23, 59)) == datetime(2025, 4, 2, 0, 10)
    assert next_run(datetime(2025, 4, 2, 0, 5)) == datetime(2025, 4, 2, 0, 10)
    assert next_run(datetime(2025, 4, 2, 0, 10)) == datetime(2025, 4, 3, 0, 10)
    w = World(engine)
    w.person("S1", "3000.00")
    for _ in range(2):
        w.settle("S1", "H1", "800.00", 5)
    with _exclusive(engine):
        assert run_once(engine) is None  # another process holds the run
    assert run_once(engine)["new"] == 1
    assert w.subjects("split_bills") == {"person:S1"}


def test_the_server_starts_and_stops_its_nightly_task(engine) -> None:
    from fastapi.testclient import TestClient

    from gongji.app import create_app
    with TestClient(create_app(engine, nightly=True)) as client:
        assert client.get("/healthz").status_code == 200


def test_a_run_reads_only_what_is_new(engine, monkeypatch) -> None:
    from gongji.service.supervise import engine as eng
    monkeypatch.setattr(eng, "IN_FLIGHT_SECONDS", -60)  # every settlement of the test counts as committed
    w = World(engine)
    w.person("M1", "3000.00")
    w.person("N1", "3000.00")
    for day, shop in ((0, "P1"), (2, "P2"), (4, "P3"), (6, "P4")):
        w.settle("M1", shop, "30.00", day)
    first = run(w)
    assert not first["incremental"] and first["by_rule"]["pharmacy_hopping"]["hits"] == 1
    w.settle("N1", "P1", "30.00", 7)  # another person: M1's windows are not read again
    second = run(w)
    assert second["incremental"] and second["from"] == second["to"] == "2025-03-10"
    assert second["by_rule"]["pharmacy_hopping"]["hits"] == 0
    w.settle("M1", "P5", "30.00", 8)  # M1 again: read, and the open flag grows
    third = run(w)
    assert third["by_rule"]["pharmacy_hopping"]["hits"] == 1 and third["extended"] == 1
    assert run(w)["from"] is None  # nothing new at all


def test_a_dated_run_does_not_move_the_mark_of_the_incremental_runs(engine, monkeypatch) -> None:
    from gongji.service.supervise import engine as eng
    monkeypatch.setattr(eng, "IN_FLIGHT_SECONDS", -60)  # every settlement of the test counts as committed
    w = World(engine)
    w.person("M1", "3000.00")
    w.person("N1", "3000.00")
    w.settle("N1", "P1", "30.00", 0)
    run(w)
    for day, shop in ((40, "P1"), (42, "P2"), (44, "P3"), (46, "P4")):  # April: hopping
        w.settle("M1", shop, "30.00", day)
    run(w, date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))  # March only: M1's April unread
    assert w.flags("pharmacy_hopping") == []
    run(w)  # what is new since the last run without dates: M1's April
    assert w.subjects("pharmacy_hopping") == {"person:M1"}


def test_identical_baskets_compare_lines_as_a_multiset(engine) -> None:
    w = World(engine)
    a1, a2 = w.family("A", "4000.00", 2)
    w.settle(a1, "H3", [("D1", "50.00"), ("D1", "50.00"), ("D2", "50.00")], 30)
    w.settle(a2, "H3", [("D1", "50.00"), ("D2", "50.00"), ("D2", "50.00")], 31)  # same codes, lines, total
    b1, b2 = w.family("B", "4000.00", 2)
    w.settle(b1, "H3", [("D1", "50.00"), ("D1", "50.00"), ("D2", "50.00")], 30)
    w.settle(b2, "H3", [("D2", "50.00"), ("D1", "50.00"), ("D1", "50.00")], 31)  # the same, reordered
    run(w)
    assert w.subjects("identical_baskets") == {"family:B"}


def test_an_institution_outlier_s_evidence_is_of_its_region_only(engine) -> None:
    w = _seven_institutions(engine)
    # a family insured in Xishuangbanna uses mutual-aid at H7 too: not among H7's Wenshan peers
    w.at(0)
    w.svc.register_person(c.RegisterPerson(psn_no="BY", insutype="310", insu_admdvs="532801", balance="3000.00"))
    w.svc.register_person(c.RegisterPerson(psn_no="BY1", insutype="390", insu_admdvs="532801"))
    applied = w.svc.apply(c.Apply(holder="BY", beneficiary="BY1", relation="child", channel="offline"))
    w.svc.review(c.Review(binding_id=applied["id"], decision="approve"))
    w.svc.file_remote(c.FileRemote.model_validate({"psn_no": "BY1", "admdvs": "532601", "from": "2025-03-03",
                                                   "to": "2025-12-31"}))
    other = w.settle("BY1", "H7", "500.00", 35)
    assert other["acct_mulaid_pay"] != "0.00"
    run(w)
    [flag] = w.flags("institution_outlier")
    assert flag["subject"] == "institution:H7" and flag["region"] != "532800"
    assert settlement_pk(other["setl_id"]) not in flag["evidence"] and len(flag["evidence"]) == 20



def test_a_rule_newer_than_the_data_reads_from_its_first_date(engine) -> None:
    from pathlib import Path

    import gongji
    from gongji.policy.supervision import parse_rules
    text = (Path(gongji.__file__).parent / "policies" / "supervision.yaml").read_text(encoding="utf-8")
    rules = [r for r in parse_rules(text.replace("2025-01-01", "2025-03-05")) if r.id == "pharmacy_hopping"]
    w = World(engine)
    w.person("M1", "3000.00")
    for day, shop in ((0, "P1"), (2, "P2"), (4, "P3"), (6, "P4"), (8, "P5"), (9, "P6")):
        w.settle("M1", shop, "30.00", day)
    out = run(w, rules=rules)  # the data begin 2025-03-03, the rule on 2025-03-05
    assert out["by_rule"]["pharmacy_hopping"]["new"] == 1
    [flag] = w.flags("pharmacy_hopping")
    assert flag["period_start"] >= "2025-03-05"


def test_an_incremental_run_rereads_windows_of_a_longer_earlier_threshold(engine, monkeypatch) -> None:
    from pathlib import Path

    import gongji
    from gongji.policy.supervision import parse_rules
    from gongji.service.supervise import engine as eng
    monkeypatch.setattr(eng, "IN_FLIGHT_SECONDS", -60)
    text = (Path(gongji.__file__).parent / "policies" / "supervision.yaml").read_text(encoding="utf-8")
    text = text.replace("values: {2025-01-01: 7}", "values: {2025-01-01: 10, 2025-03-08: 7}")  # 10 days, then 7
    rules = [r for r in parse_rules(text) if r.id == "pharmacy_hopping"]
    w = World(engine)
    w.person("M1", "3000.00")
    for day, shop in ((2, "P1"), (4, "P2"), (8, "P3")):
        w.settle("M1", shop, "30.00", day)
    run(w, rules=rules)
    w.settle("M1", "P4", "30.00", 11)  # 2025-03-14: the 4th shop within 10 days of 03-05 (a 10-day window)
    run(w, rules=rules)
    [flag] = w.flags("pharmacy_hopping")
    assert (flag["period_start"], flag["period_end"]) == ("2025-03-05", "2025-03-14")


def test_an_extended_family_flag_names_the_relative_who_joined(engine) -> None:
    w = World(engine)
    basket = [("D1", "80.00"), ("D2", "45.50")]
    a1, a2, a3 = w.family("A", "4000.00", 3)
    w.settle(a1, "H3", basket, 30)
    w.settle(a2, "H3", basket, 31)
    run(w)
    w.settle(a3, "H3", basket, 33)  # a third relative, the same prescription
    assert run(w)["extended"] == 1
    [flag] = w.flags("identical_baskets")
    assert set(flag["psn_nos"]) == {"A", a1, a2, a3} and len(flag["evidence"]) == 3
    assert a3 in flag["reason"]
