"""The staff pages over HTTP, on both databases: person search by each key and within the area,
the person page, the audit log (filters, paging, the chain check, a tampered chain), and the
admin pages (a secret or password shown once, a form sent again refused, suspension biting)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import text

from bench.world import World
from gongji.service import commands as c
from gongji.service import security
from tests.conftest import CAPTURE

CERTNO = "11010519491231002X"  # a valid number with the check letter X


@pytest.fixture
def world(engine) -> World:
    w = World(engine)
    s = w.service
    s.register_institution(c.RegisterInstitution(code="H1", level=2, admdvs="652801", kind="hospital", name="巴州医院"))
    s.secure(security.new_institution_secret, "H1")
    s.register_person(c.RegisterPerson(psn_no="P1", insutype="310", insu_admdvs="652801", balance="3000.00",
                                       name="王建国", certno=CERTNO, phone="13912345678"))
    s.register_person(c.RegisterPerson(psn_no="P2", insutype="390", insu_admdvs="652801", name="王芳"))
    s.register_person(c.RegisterPerson(psn_no="Q1", insutype="310", insu_admdvs="532601", name="王小文"))
    bound = s.apply(c.Apply(holder="P1", beneficiary="P2", relation="parent", channel="online"))
    s.review(c.Review(binding_id=bound["id"], decision="approve"))
    w.far = {}
    for role in ("clerk", "auditor", "admin"):  # staff of 文山 (5326)
        w.passwords[f"far_{role}"] = s.secure(security.add_staff, f"far_{role}", role, "5326")
        w.far[role] = w.login("staff", f"far_{role}", w.passwords[f"far_{role}"])
    return w


def found(r) -> list[str]:
    assert r.status_code == 200, r.text[:300]
    return re.findall(r'data-testid="found-(\w+)"', r.text)


def test_search_by_each_key_within_the_area(world) -> None:
    clerk = world.clerk
    assert found(clerk.post("/people", data={"q": "王"})) == ["P1", "P2", "Q1"]  # national staff: every area
    assert found(clerk.post("/people", data={"q": "建国"})) == ["P1"]
    assert found(clerk.post("/people", data={"q": CERTNO.lower()})) == ["P1"]  # stored upper case
    assert found(clerk.post("/people", data={"q": CERTNO[:17]})) == []  # the whole number, not a part
    assert found(clerk.post("/people", data={"q": "P2"})) == ["P2"]
    assert found(clerk.post("/people", data={"q": "%"})) == []  # a wildcard is a character like any
    r = clerk.post("/people", data={"q": "建国"})
    assert "110105********002X" in r.text and CERTNO not in r.text  # masked in the middle
    far = world.far["clerk"]
    assert found(far.post("/people", data={"q": "王"})) == ["Q1"]  # 文山's own, not 巴州's
    assert "本服务区域内查无此人" in far.post("/people", data={"q": CERTNO}).text
    r = far.get("/people/P1")
    assert r.status_code == 404 and "查无此参保人" in r.text and "王建国" not in r.text
    assert clerk.get("/people/NOBODY").status_code == 404


def test_a_refused_search_keeps_what_was_typed(world) -> None:
    r = world.clerk.post("/people", data={"q": "王" * 65})
    assert r.status_code == 422 and 'class="field-error"' in r.text and "不能超过 64 个字符" in r.text
    assert 'value="' + "王" * 65 + '"' in r.text
    r = world.clerk.post("/people", data={"q": " "})
    assert r.status_code == 422 and "不能为空" in r.text


def test_person_page(world) -> None:
    s = world.service
    for n in range(23):  # more than a page of settlements
        s.settle(f"k{n}", c.VisitRef.model_validate({"psn_no": "P2", "fixmedins": "H1", "med_type": "11", "items": [
            {"code": "X1", "list_class": "A", "category": "exam", "amount": "10.00"}]}))
    r = world.auditor.get("/people/P1")
    assert r.status_code == 200
    page = r.text
    assert "王建国" in page and "个人编号 P1" in page and "职工医保" in page and "正常参保" in page
    assert "110105********002X" in page and CERTNO not in page and "139****5678" in page
    assert re.search(r'data-testid="balance">\d+\.\d\d 元', page)
    assert re.search(r'data-testid="binding-\d+">.*?王芳</a>\(P2\).*?父母.*?已生效', page, re.S)
    paid = re.findall(r'data-testid="paid-(S\d+)"', page)  # P1's account paid for P2
    assert len(paid) == 20 and 'href="?paid_page=2&amp;page=1"' in page
    assert re.search(r'data-testid="paid-S\d+">.*?王芳\(P2\)</a>', page, re.S)  # whose visit, by name
    assert "<dd>库尔勒市(652801)</dd>" in page  # the region by its GB/T 2260 name
    assert len(re.findall(r'data-testid="paid-', world.clerk.get("/people/P1?paid_page=2").text)) == 3
    r = world.clerk.get("/people/P2")
    assert re.search(r"王建国</a>\(P1\)", r.text)  # P2's holder, by name
    rows = re.findall(r'data-testid="setl-(S\d+)"', r.text)
    assert len(rows) == 20 and "第 1 / 2 页" in r.text and "本人就医的结算(共 23 笔" in r.text
    assert f'href="/statements/{rows[0]}.pdf"' in r.text
    more = re.findall(r'data-testid="setl-(S\d+)"', world.clerk.get("/people/P2?page=2").text)
    assert len(more) == 3 and not set(more) & set(rows)
    assert world.clerk.get("/people/P2?page=3").status_code == 404
    assert world.clerk.get("/people/P2?page=abc").status_code == 422


def entries(r) -> list[int]:
    assert r.status_code == 200, r.text[:300]
    return [int(n) for n in re.findall(r'data-testid="entry-(\d+)"', r.text)]


def test_audit_filters_and_pages(world) -> None:
    s = world.service
    for _ in range(30):  # 60 entries by one supervisor
        s.freeze(c.Freeze(holder="P1"), actor="staff:sup-x")
        s.unfreeze(c.Freeze(holder="P1"), actor="staff:sup-x")
    auditor = world.auditor
    s.secure(security.add_staff, "li-jb", "clerk", "6528", password="x" * 12)
    added = auditor.get("/audit").text
    assert "li-jb · 经办 · 6528" in added and "li-jb:clerk" not in added  # the role in words
    every = entries(auditor.get("/audit"))
    assert len(every) == 50 and every == sorted(every, reverse=True)
    second = entries(auditor.get("/audit?page=2"))
    assert second and max(second) < min(every)
    mine = auditor.get("/audit", params={"actor": "sup-x"})
    assert len(entries(mine)) == 50 and "共 60 条" in mine.text and "工作人员 sup-x" in mine.text
    assert "冻结或解除冻结共济" in mine.text
    nxt = re.search(r'href="(/audit\?[^"]*page=2)"', mine.text).group(1).replace("&amp;", "&")
    assert len(entries(auditor.get(nxt))) == 10
    r = auditor.get("/audit", params={"action": "apply"})
    assert len(entries(r)) == 1 and "申请绑定" in r.text and "P1 → P2" in r.text
    assert len(entries(auditor.get("/audit", params={"person": "P2"}))) == 3  # registered, applied for, reviewed
    q1 = entries(auditor.get("/audit", params={"person": "Q1"}))
    assert len(q1) == 1  # registered, nothing since
    today = date.today().isoformat()  # entries carry the wall-clock time they were written
    assert len(entries(auditor.get("/audit", params={"from": today, "to": today, "actor": "sup-x"}))) == 50
    assert entries(auditor.get("/audit", params={"to": "2000-01-01"})) == []
    r = auditor.get("/audit", params={"from": "2025-02-30", "actor": "sup-x"})
    assert r.status_code == 422 and "应为日期" in r.text and 'value="sup-x"' in r.text
    r = auditor.get("/audit", params={"from": "2025-03-01", "to": "2025-02-01"})
    assert r.status_code == 422 and "终止日期不能早于起始日期" in r.text
    assert world.far["auditor"].get("/audit", params={"person": "Q1"}).status_code == 200
    assert entries(world.far["auditor"].get("/audit")) == q1  # of 文山 only: Q1's registration


def test_verify_says_intact_or_where_it_breaks(world, engine) -> None:
    r = world.auditor.post("/audit/verify")
    assert r.status_code == 200 and "哈希链完整" in r.text
    with engine.begin() as conn:
        target = conn.execute(text("SELECT target FROM audit WHERE id = 4")).scalar_one()
        conn.execute(text("UPDATE audit SET target = 'P9' WHERE id = 4"))
    r = world.admin.post("/audit/verify")
    verdict = re.search(r'data-testid="verdict">(.*?)</div>', r.text, re.S).group(1)
    assert "哈希链已被破坏" in verdict and "审计记录 4 内容被改动" in verdict and "audit" not in verdict
    with engine.begin() as conn:  # put back, so the suite's own check finds the chain whole
        conn.execute(text("UPDATE audit SET target = :t WHERE id = 4"), {"t": target})
    assert "哈希链完整" in world.auditor.post("/audit/verify").text


def shown(r) -> str | None:
    found = re.search(r'data-testid="secret">([^<]+)<', r.text)
    return found.group(1) if found else None


def expect_of(page: str, action: str) -> str:
    return re.search(rf'action="{re.escape(action)}".*?name="expect" value="(\w+)"', page, re.S).group(1)


def test_institution_added_suspended_and_its_secret_rotated(world) -> None:
    admin = world.admin
    form = {"code": "H9", "name": "巴州新医院", "level": "3", "admdvs": "65280", "kind": "hospital"}
    r = admin.post("/admin/institutions", data=form)
    assert r.status_code == 422 and "应为 6 位行政区划代码" in r.text and 'value="巴州新医院"' in r.text
    r = world.far["admin"].post("/admin/institutions", data=dict(form, admdvs="652801"))
    assert r.status_code == 403 and "不在本经办机构的服务区域" in r.text and shown(r) is None
    r = admin.post("/admin/institutions", data=dict(form, admdvs="652801"))
    secret = shown(r)
    assert r.status_code == 200 and secret == security.institution_secret(world.service.engine, "H9")
    assert r.headers["cache-control"] == "no-store"
    again = admin.post("/admin/institutions", data=dict(form, admdvs="652801"))  # the page sent again
    assert again.status_code == 409 and "已登记" in again.text and shown(again) is None
    listing = admin.get("/admin/institutions").text
    assert secret not in listing and 'data-testid="inst-H9"' in listing
    assert 'data-testid="inst-H1"' not in world.far["admin"].get("/admin/institutions").text

    action = "/admin/institutions/H9/secret"
    fp = expect_of(listing, action)
    r = admin.post(action, data={"expect": fp})
    new = shown(r)
    assert new and new != secret and new == security.institution_secret(world.service.engine, "H9")
    r = admin.post(action, data={"expect": fp})  # a reload: refused, nothing rotated, nothing shown
    assert shown(r) is None and "已更换过" in r.text and new not in r.text
    assert security.institution_secret(world.service.engine, "H9") == new
    assert world.far["admin"].post(action, data={"expect": fp}).status_code == 403
    assert not [line for line in CAPTURE.lines if secret in line or new in line]

    assert world.inst("H9").get("/api/v1/auth/me").status_code == 200
    r = admin.post("/admin/institutions/H9/suspend")
    assert "已暂停 H9 的结算资格" in r.text and "已暂停" in r.text
    assert world.inst("H9").get("/api/v1/auth/me").status_code == 403
    r = admin.post("/admin/institutions/H9/resume")
    assert "已恢复 H9 的结算资格" in r.text
    assert world.inst("H9").get("/api/v1/auth/me").status_code == 200
    r = admin.post("/admin/institutions/NOPE/suspend")
    assert "未能暂停:查无此定点机构" in r.text or "未能暂停" in r.text


def test_staff_added_and_password_reset(world) -> None:
    admin = world.admin
    r = admin.post("/admin/staff", data={"username": "New Clerk", "role": "clerk", "area": "6528"})
    assert r.status_code == 422 and "只能由小写字母" in r.text and 'value="New Clerk"' in r.text
    r = admin.post("/admin/staff", data={"username": "newclerk", "role": "clerk", "area": "99"})
    assert r.status_code == 422 and "没有统筹区的共济政策覆盖服务区域" in r.text and 'value="99"' in r.text
    r = world.far["admin"].post("/admin/staff", data={"username": "newclerk", "role": "clerk", "area": "6528"})
    assert r.status_code == 403 and "不在本经办机构的服务区域" in r.text
    r = admin.post("/admin/staff", data={"username": "newclerk", "role": "clerk", "area": "6528"})
    first = shown(r)
    assert first and world.login("staff", "newclerk", first)
    assert admin.post("/admin/staff", data={"username": "newclerk", "role": "clerk", "area": "6528"}).status_code == 409
    for _ in range(5):  # locked by wrong passwords; the new password lifts it (below)
        world.client().post("/api/v1/auth/login", json={"kind": "staff", "username": "newclerk", "password": "x"})
    listing = admin.get("/admin/staff").text
    assert first not in listing and 'data-testid="staff-newclerk"' in listing
    assert "登录已锁定" in re.search(r'data-testid="staff-newclerk">.*?</tr>', listing, re.S).group(0)
    assert 'data-testid="staff-newclerk"' not in world.far["admin"].get("/admin/staff").text

    action = "/admin/staff/newclerk/password"
    fp = expect_of(listing, action)
    r = world.far["admin"].post(action, data={"expect": fp})
    assert r.status_code == 404 and "查无工作人员" in r.text  # another area's staff: unknown there
    r = admin.post(action, data={"expect": fp})
    second = shown(r)
    assert second and second != first and world.login("staff", "newclerk", second)
    r = admin.post(action, data={"expect": fp})  # sent again: refused, the password stays
    assert shown(r) is None and "已重置过" in r.text
    assert world.login("staff", "newclerk", second)
    refused = world.client().post("/api/v1/auth/login", json={"kind": "staff", "username": "newclerk", "password": first})
    assert refused.status_code == 401
    assert not [line for line in CAPTURE.lines if first in line or second in line]
