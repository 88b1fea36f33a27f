"""Refusals met through the service read as plain Chinese sentences (no English word, no
parameter name, no raw code), while their machine-readable code and field stay as they were."""

from __future__ import annotations

import re

import pytest

from gongji.domain.errors import DomainError
from gongji.service import commands as c
from tests.service.helpers import family, service, visit
from tests.test_plain_words import english

CJK = re.compile(r"[\u4e00-\u9fff]")


def refused(act, *args, **kw) -> DomainError:
    with pytest.raises(DomainError) as e:
        act(*args, **kw)
    return e.value


def test_refusals_in_plain_chinese(engine) -> None:
    s = service(engine, "2025-03-03")
    family(s, "3000.00")  # A holds B1..B4 (Bayingolin allows four)
    s.register_person(c.RegisterPerson(psn_no="A2", insutype="310", insu_admdvs="652801", balance="10.00"))
    s.register_person(c.RegisterPerson(psn_no="R1", insutype="390", insu_admdvs="652801"))
    s.register_person(c.RegisterPerson(psn_no="W1", insutype="390", insu_admdvs="532601"))
    s.register_person(c.RegisterPerson(psn_no="BJ", insutype="310", insu_admdvs="110105", balance="1.00"))
    apply = lambda h, b, rel="child": s.apply(c.Apply(holder=h, beneficiary=b, relation=rel, channel="online"))  # noqa: E731
    seen = {
        "one holder": refused(apply, "A2", "B1"),
        "relation": refused(apply, "A2", "R1", "sibling"),
        "holder": refused(apply, "R1", "A2", "parent"),
        "region": refused(apply, "A2", "W1"),
        "limit": refused(apply, "A", "R1"),
        "no policy": refused(apply, "BJ", "A2", "spouse"),
    }
    assert {k: (e.code, e.field) for k, e in seen.items()} == {
        "one holder": ("ALREADY_BOUND", "beneficiary"), "relation": ("RELATION_NOT_ALLOWED", "relation"),
        "holder": ("HOLDER_NOT_ELIGIBLE", "holder"), "region": ("BENEFICIARY_REGION", "beneficiary"),
        "limit": ("MEMBER_LIMIT", "holder"), "no policy": ("HOLDER_NOT_ELIGIBLE", "holder")}
    assert "已关联其他主账户,一人只能关联一个主账户" in seen["one holder"].message
    assert "“兄弟姐妹”" in seen["relation"].message and "配偶、父母、子女" in seen["relation"].message
    assert "新疆维吾尔自治区" in seen["region"].message and "已达上限 4 人" in seen["limit"].message
    assert seen["no policy"].message == "主账户人参保地(北京市 朝阳区)没有家庭共济政策"

    early = service(engine, "2020-01-01")
    seen["too early"] = refused(early.settle, "early", visit("A2", "100.00"))
    assert "2020-01-01 尚无有效的共济政策" in seen["too early"].message
    for what, e in seen.items():
        assert CJK.search(e.message) and english(e.message) == [], (what, e.message)
