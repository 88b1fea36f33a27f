"""policies/supervision.yaml: loads whole, every threshold an assumption with its reason, and a
malformed file is refused with the key path."""

from __future__ import annotations

from datetime import date

import pytest

from gongji.policy import exact_yaml
from gongji.policy.loader import PolicyError, default_registry
from gongji.policy.supervision import KINDS, SUPERVISION_FILE, load_rules, parse_rules

GOOD = """
rules:
  hop:
    kind: pharmacy_hopping
    name: 多店购药
    description: 同一参保人短时间内到多家药店购药。
    severity: medium
    regions: ["532600"]
    thresholds:
      min_pharmacies: {values: {2025-01-01: 4, 2026-01-01: 5}, assumption: true, reason: 未公布的假设值。}
      days: {values: {2025-01-01: 7}, assumption: true, reason: 未公布的假设值。}
"""


def test_the_shipped_file_has_every_kind_and_loads() -> None:
    rules = load_rules(known_regions=set(default_registry().by_region))
    assert {r.kind for r in rules} == set(KINDS)
    raw = exact_yaml.load(SUPERVISION_FILE.read_text(encoding="utf-8"))
    for rule in raw["rules"].values():
        for t in rule["thresholds"].values():
            assert t["assumption"] is True and len(t["reason"]) >= 4


def test_values_are_keyed_by_date() -> None:
    [rule] = parse_rules(GOOD)
    assert rule.at(date(2025, 6, 1))["min_pharmacies"] == 4
    assert rule.at(date(2026, 1, 1))["min_pharmacies"] == 5
    assert rule.applies_to("532600") and not rule.applies_to("652800")
    with pytest.raises(PolicyError, match="no value on 2024-12-31"):
        rule.at(date(2024, 12, 31))


def test_money_thresholds_are_fen() -> None:
    [rule] = [r for r in load_rules() if r.id == "split_bills"]
    assert rule.at(date(2025, 6, 1))["amount_without_cap"] == 150000


@pytest.mark.parametrize(("change", "message"), [
    (("kind: pharmacy_hopping", "kind: teleport"), "unknown kind 'teleport'"),
    (("      days: {values: {2025-01-01: 7}, assumption: true, reason: 未公布的假设值。}\n", ""), "thresholds missing: days"),
    (("assumption: true, reason: 未公布的假设值。}\n      days", "assumption: false, reason: 未公布的假设值。}\n      days"),
     "min_pharmacies.assumption"),
    (("2025-01-01: 4,", "2025-01-01: four,"), "thresholds.min_pharmacies.values.2025-01-01"),
    (("2025-01-01: 7}", "2025-01-01: 0}"), "thresholds.days.values.2025-01-01"),
    (("severity: medium", "severity: urgent"), "severity"),
])
def test_a_malformed_file_is_refused_with_its_path(change, message) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(PolicyError, match=message):
        parse_rules(GOOD.replace(old, new))


def test_an_unknown_region_is_refused() -> None:
    with pytest.raises(PolicyError, match="unknown region 532600"):
        parse_rules(GOOD, known_regions={"652800"})
