"""The supervision pages over HTTP on both databases: the list (severity and age, filters, the
chart's bars per rule, the export), one flag with its evidence, the decision and its refusals as
flash messages, a supervisor's sanction in one step, and each role's rights."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook

from bench.world import World
from gongji.service import commands as c
from gongji.service import security
from tests.service.flags import add_flag
from tests.service.helpers import visit

DAY = date(2025, 3, 10)


@pytest.fixture
def world(engine) -> World:
    return build(engine)


def build(engine) -> World:
    """巴州: C1, holder A bound to B1 with two settlements, a family flag on them, a low one, and
    one of 文山 (with a clerk of 文山); today 2025-03-10."""
    w = World(engine)
    w.clock.day = DAY
    s = w.service
    s.register_institution(c.RegisterInstitution(code="C1", level=1, admdvs="652801", kind="hospital"))
    s.secure(security.new_institution_secret, "C1")
    s.register_person(c.RegisterPerson(psn_no="A", insutype="310", insu_admdvs="652801", balance="3000.00",
                                       name="王建国"))
    s.register_person(c.RegisterPerson(psn_no="B1", insutype="390", insu_admdvs="652801", name="王小明"))
    s.register_person(c.RegisterPerson(psn_no="W", insutype="390", insu_admdvs="532601", name="文山人"))
    bound = s.apply(c.Apply(holder="A", beneficiary="B1", relation="child", channel="online"))
    s.review(c.Review(binding_id=bound["id"], decision="approve"))
    w.setl = [s.settle(f"k{i}", visit("B1", amount))["setl_id"] for i, amount in enumerate(("300.00", "500.00"))]
    w.family_flag = add_flag(engine, subject="family:A", psn_nos=["B1"], evidence=w.setl, found_on=date(2025, 3, 4))
    w.low = add_flag(engine, severity="low", rule="high_frequency", found_on=date(2025, 2, 20))
    w.far_flag = add_flag(engine, subject="person:W", admdvs="532601", found_on=date(2025, 3, 1))
    w.passwords["far_clerk"] = s.secure(security.add_staff, "far_clerk", "clerk", "5326")
    w.far_clerk = w.login("staff", "far_clerk", w.passwords["far_clerk"])
    w.person("A")
    return w


def listed(r) -> list[int]:
    assert r.status_code == 200, r.text[:300]
    return [int(x) for x in re.findall(r'data-testid="flag-(\d+)"', r.text)]


def test_the_list_its_filters_chart_and_export(world) -> None:
    assert listed(world.clerk.get("/desk/supervision")) == [world.far_flag, world.family_flag, world.low]
    assert listed(world.far_clerk.get("/desk/supervision")) == [world.far_flag]
    assert listed(world.clerk.get("/desk/supervision?severity=low")) == [world.low]
    assert listed(world.clerk.get("/desk/supervision?rule=split_bills&state=open")) == [world.far_flag,
                                                                                          world.family_flag]
    assert listed(world.clerk.get("/desk/supervision?state=excluded")) == []
    page = world.auditor.get("/desk/supervision").text
    assert "王建国(A)" in page and "拆分结算" in page and 'href="/desk/supervision"' in page  # the nav link
    bars = re.findall(r'<rect data-rule="(\w+)" data-week="([\d-]+)"', page)
    assert sorted(bars) == [("high_frequency", "2025-02-17"), ("split_bills", "2025-02-24"),
                            ("split_bills", "2025-03-03")]
    assert "<script" not in page.split("<main>")[1]  # the chart is drawn on the server
    r = world.clerk.get("/desk/supervision.xlsx?severity=high")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert [row[0] for row in rows] == ["编号", str(world.far_flag), str(world.family_flag)]
    assert rows[2][9] == "1600.00" and rows[2][3] == "家庭 A"
    assert 'href="/desk/supervision.xlsx?severity=high"' in world.clerk.get("/desk/supervision?severity=high").text
    assert world.clerk.get("/desk/supervision?severity=urgent").status_code == 422


def test_one_flag_and_the_decision(world) -> None:
    r = world.clerk.get(f"/desk/supervision/{world.family_flag}")
    assert r.status_code == 200
    for shown in (*(f'data-testid="evidence-{s}"' for s in world.setl), "超过单次共济限额", "王小明(B1)",
                  'data-testid="usage-A"', 'name="decision" value="exclude"'):
        assert shown in r.text, shown
    assert "转为处罚" not in r.text
    assert world.far_clerk.get(f"/desk/supervision/{world.family_flag}").status_code == 404
    assert "查无此监管线索" in world.clerk.get("/desk/supervision/999").text
    auditor = world.auditor.get(f"/desk/supervision/{world.family_flag}").text
    assert 'name="decision"' not in auditor

    path = f"/desk/supervision/{world.family_flag}"
    r = world.clerk.post(f"{path}/decision", data={"decision": "confirm", "reason": " "}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == path
    assert "未能办理:请填写处理理由" in world.clerk.get(path).text
    r = world.far_clerk.post(f"{path}/decision", data={"decision": "confirm", "reason": "核实"})
    assert r.status_code == 403
    page = world.clerk.post(f"{path}/decision", data={"decision": "confirm", "reason": "子女同日两次就诊,核实为拆分"}).text
    assert "已确认该线索" in page and "子女同日两次就诊,核实为拆分" in page and 'name="decision"' not in page
    again = world.supervisor.post(f"{path}/decision", data={"decision": "exclude", "reason": "再议"})
    assert "已处理(已确认)" in again.text
    assert listed(world.clerk.get("/desk/supervision?state=confirmed")) == [world.family_flag]


def test_a_supervisor_turns_a_confirmed_flag_into_a_sanction(world) -> None:
    path = f"/desk/supervision/{world.family_flag}"
    world.clerk.post(f"{path}/decision", data={"decision": "confirm", "reason": "核实为套现"})
    assert "转为处罚" not in world.clerk.get(path).text
    page = world.supervisor.get(path).text
    assert 'data-testid="sanction-person">王建国(A)' in page and 'value="2026-03-09"' in page
    assert "<option selected>套现</option>" in page
    assert world.clerk.post(f"{path}/sanction", data={"from": "2025-03-10", "to": "2025-12-31",
                                                      "reason": "套现"}).status_code == 403
    page = world.supervisor.post(f"{path}/sanction", data={"from": "2025-03-10", "to": "2025-12-31",
                                                           "reason": "套现"}).text
    assert "已转为处罚:暂停 A 的家庭共济 2025-03-10 至 2025-12-31" in page and "已处罚" in page
    again = world.supervisor.post(f"{path}/sanction", data={"from": "2025-03-10", "to": "2025-12-31"})
    assert "须先确认才能转为处罚" in again.text
    assert world.service.settle("k9", visit("B1", "100.00"))["acct_mulaid_pay"] == "0.00"


def test_who_may_see_the_pages(world) -> None:
    for client in (world.person("A"), world.admin):
        for path in ("/desk/supervision", f"/desk/supervision/{world.family_flag}", "/desk/supervision.xlsx"):
            assert client.get(path, follow_redirects=False).status_code == 403, path
    assert world.inst("C1").get("/desk/supervision").status_code == 403
    r = world.anon.get("/desk/supervision", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert 'href="/desk/supervision"' not in world.person("A").get("/portal").text


def test_a_supervisor_runs_the_rules_on_demand(world) -> None:
    """B1's two bills at C1 on one day (300 + 500 yuan) are below the threshold: a third one of
    1,500 yuan makes a split bill, found when the supervisor runs the rules from the page."""
    assert "监管规则尚未运行" in world.clerk.get("/desk/supervision").text
    assert 'data-testid="run-rules"' not in world.clerk.get("/desk/supervision").text
    assert world.clerk.post("/desk/supervision/run", data={}).status_code == 403
    world.service.settle("k3", visit("B1", "1500.00"))
    page = world.supervisor.get("/desk/supervision").text
    assert 'data-testid="run-rules"' in page
    done = world.supervisor.post("/desk/supervision/run", data={}).text
    assert "监管规则已运行:新增线索 1 条" in done and "上次运行监管规则" in done
    assert "拆分结算" in done and "新增 1 条" in done
    again = world.supervisor.post("/desk/supervision/run", data={}).text
    assert "新增线索 0 条" in again


def test_the_sanction_shows_on_the_persons_page(world) -> None:
    """After a flag becomes a sanction, the clerk who opens the person reads that mutual-aid is
    suspended, from when to when and why (not 未冻结 alone)."""
    path = f"/desk/supervision/{world.family_flag}"
    world.clerk.post(f"{path}/decision", data={"decision": "confirm", "reason": "核实为套现"})
    world.supervisor.post(f"{path}/sanction", data={"from": "2025-03-10", "to": "2025-12-31", "reason": "套现"})
    page = world.clerk.get("/people/A").text
    assert 'data-testid="sanction"' in page and "违规暂停共济</span> 2025-03-10 至 2025-12-31,原因:套现" in page
    assert 'data-testid="sanction"' not in world.clerk.get("/people/B1").text
    portal = world.person("A").get("/portal").text
    assert 'data-testid="sanction"' in portal and "违规暂停共济</span> 2025-03-10 至 2025-12-31" in portal


def test_the_audit_log_names_a_run_of_the_rules_and_the_flag(world) -> None:
    path = f"/desk/supervision/{world.family_flag}"
    world.clerk.post(f"{path}/decision", data={"decision": "confirm", "reason": "核实"})
    world.supervisor.post("/desk/supervision/run", data={})
    page = world.auditor.get("/audit").text
    assert "运行监管规则" in page and f"监管线索 {world.family_flag}" in page
    assert "其他操作" not in page and "flag ·" not in page
    last = world.clerk.get("/desk/supervision").text
    assert "staff:supervisor1" not in last and "工作人员 supervisor1" in last
    decided = world.clerk.get(path).text
    assert "staff:clerk1" not in decided and "工作人员 clerk1 于 2025-03-10 已确认:核实" in decided


def test_a_wrong_address_is_told_in_words(world) -> None:
    for path, words in (("/desk/supervision/abc", "线索编号"), ("/desk/supervision?page=0", "页码"),
                        ("/desk/supervision?severity=urgent", "风险等级"), ("/desk/supervision?rule=X", "规则"),
                        ("/desk/supervision?state=gone", "状态")):
        r = world.clerk.get(path)
        assert r.status_code == 422 and words in r.text, (path, r.text[-600:])
        assert not re.search(r"(flag_id|page|severity|rule|state):", r.text), path


def test_the_list_says_where(world) -> None:
    """Each row of the list says where: the pooling region, and the institution when there is one."""
    page = world.clerk.get("/desk/supervision").text
    row = re.search(rf'data-testid="flag-{world.family_flag}">(.*?)</tr>', page, re.S).group(1)
    assert 'data-label="地点"' in row and "巴音郭楞蒙古自治州" in row and "C1" in row
