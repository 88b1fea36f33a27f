"""The engine's flags as the review side reads them (both databases): a split bill found by
``supervise`` is listed for staff of its county and nobody else, shows its settlements, is
confirmed and becomes the person's sanction."""

from __future__ import annotations

from gongji.service import commands as c
from tests.service.supervise_world import World
from tests.service.test_supervise import run


def test_a_flag_the_engine_found_is_reviewed_and_sanctioned(engine) -> None:
    w = World(engine)
    w.person("S1", "3000.00")
    a = w.settle("S1", "H1", "800.00", 5)
    b = w.settle("S1", "H1", "800.00", 5)
    run(w)
    listed = w.svc.flags(area="5326")
    assert listed["total"] == 1 and w.svc.flags(area="6528")["total"] == 0
    f = listed["items"][0]
    assert (f["rule_name"], f["subject"], f["amount"]) == ("拆分结算", "person:S1", "1600.00")
    one = w.svc.flag(f["id"], area="532601")
    assert [e["setl_id"] for e in one["evidence"]] == [a["setl_id"], b["setl_id"]]
    w.svc.decide_flag(c.FlagDecision(flag_id=f["id"], decision="confirm", reason="核实"), actor="staff:c1")
    out = w.svc.sanction_flag(c.FlagSanction(flag_id=f["id"]), actor="staff:s1")
    assert (out["psn_no"], out["state"], out["reason"]) == ("S1", "sanctioned", "套现")
    run(w)  # the next run raises nothing again on what was decided
    assert w.svc.flags(state=None)["total"] == 1
