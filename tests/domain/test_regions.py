"""The GB/T 2260 table the project carries: every code it meets has a name, parents included;
an unknown code reads as itself and 未知地区."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gongji.domain import regions
from gongji.domain.regions import UNKNOWN, known, region_name, region_path
from gongji.policy.loader import default_registry

ROOT = Path(__file__).resolve().parents[2]
SIX = re.compile(r"\b[1-8]\d{5}\b")


def test_korla_and_its_parents() -> None:
    assert region_name("652801") == "库尔勒市"
    assert region_name("652800") == region_name("6528") == "巴音郭楞蒙古自治州"
    assert region_name("65") == "新疆维吾尔自治区"
    assert region_path("652801") == "新疆维吾尔自治区 巴音郭楞蒙古自治州 库尔勒市"
    assert region_path("532601") == "云南省 文山壮族苗族自治州 文山市"
    assert region_path("370302") == "山东省 淄博市 淄川区"


def test_placeholders_are_not_read_out() -> None:
    assert region_path("110105") == "北京市 朝阳区"  # not 北京市 市辖区 朝阳区
    assert region_path("659001") == "新疆维吾尔自治区 石河子市"


@pytest.mark.parametrize("code", ["999999", "659999", "12345", "abc", ""])
def test_an_unknown_code_shows_itself(code: str) -> None:
    assert region_name(code).endswith(UNKNOWN) and code in region_name(code)
    assert region_path(code) == region_name(code)
    assert region_name(None) == UNKNOWN


def test_levels_follow_the_code() -> None:
    assert [regions.level(c) for c in ("650000", "652800", "652801")] == ["province", "prefecture", "county"]


def test_every_province_is_there() -> None:
    provinces = [c for c in regions.table() if c.endswith("0000")]
    assert len(provinces) >= 34 and region_name("540000") == "西藏自治区"


def _codes_met() -> set[str]:
    """Every admdvs code of the policies, the demo and the bench world (not amounts or dates)."""
    texts = [p.read_text(encoding="utf-8") for p in (ROOT / "src/gongji/policies").glob("*.yaml")]
    texts += [(ROOT / "src/gongji/demo.py").read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8") for p in (ROOT / "bench").glob("*.py")]
    found = set()
    for text in texts:
        for line in text.splitlines():
            if re.search(r"admdvs|region|prefix|county|area|\"65|\"53|\"37", line):
                found |= set(SIX.findall(line))
    return found


def test_every_code_the_project_meets_is_in_the_table() -> None:
    met = _codes_met()
    assert {"652801", "652800", "532600", "532800", "370300"} <= met
    assert sorted(c for c in met if not known(c)) == []
    for r in default_registry().regions:
        assert known(r.region) and region_name(r.prefix) == region_name(r.region)
