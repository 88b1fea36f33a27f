"""The golden situations beside the policy files, and proof that they pin every rule down."""

import copy
from collections import Counter
from datetime import date

import pytest

from gongji.domain.money import Ratio
from gongji.policy.golden import load_cases, mismatches
from gongji.policy.loader import ParamRecord, Registry, default_registry
from gongji.policy.params import SPECS, VisitRuleModel

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden(case):
    assert mismatches(case) == {}, f"{case.name} ({case.rule})"


def test_enough_goldens_in_every_region():
    per_region = Counter(c.situation["region"] for c in CASES)
    assert sum(per_region.values()) >= 40
    assert set(per_region) == {r.region for r in default_registry().regions}
    assert all(n >= 5 for n in per_region.values()), per_region


def test_every_code_is_produced_by_some_golden():
    from gongji.domain.settlement import CODE_ORDER
    seen = {code for c in CASES for code in c.expect.get("codes", [])}
    seen |= {c.expect["error"] for c in CASES if "error" in c.expect}
    assert set(CODE_ORDER) <= seen, set(CODE_ORDER) - seen


def _mutations(value):
    """Ways to drop or flip a rule's value, each with a label."""
    if value is None:
        return []
    if isinstance(value, bool):
        return [("flipped", not value)]
    if isinstance(value, Ratio):
        return [("zeroed", Ratio(0, 1))] if value.num else [("one", Ratio(1, 1))]
    if isinstance(value, int):
        return [("dropped", None)]
    if isinstance(value, str):
        return [("emptied", "")]
    if isinstance(value, list):
        return [(f"without {v.model_dump() if isinstance(v, VisitRuleModel) else v}",
                 value[:i] + value[i + 1:]) for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            for label, m in _mutations(v) or [("set", 100000)]:
                out.append((f"[{k}] {label}", {**value, k: m}))
        return out
    raise AssertionError(f"no mutation for {value!r}")


# sanity limits are never "none": moved either way, a golden at or over the limit must notice
LIMITS = ("max_item_amount", "max_bill_amount")


def _limit_moves(value):
    return [("raised tenfold", value * 10), ("halved", value // 2)]


def _absent_rule(name, value):
    """Mutations of a value that is "none": a null cap becomes a cap, an empty list stays."""
    if value is None and name in ("settlement_cap", "annual_cap_holder", "chronic_extra_quota",
                                  "member_limit"):
        return [("set", 1 if name == "member_limit" else 100000)]
    if value is None and name == "prepregnancy_ratio":
        return [("set 60%", Ratio(60, 100))]
    if value is None and name == "beneficiary_area":
        return [("set", "99")]
    return []


CALC_PARAMS = [s.name for s in SPECS if s.used_by in ("calc", "binding") and s.name != "payer_order"]
# Values that cannot change any result on their own, by construction of the policy.
INERT = {
    # no visit is pooled where no pooling is published, so deductible and ratio do nothing there
    ("532600", "deductible"), ("370300", "deductible"), ("532800", "deductible"),
    # with no yearly cap to add to and no chronic-only scope rule, the disease list and the chronic
    # extra quota are read by nothing in Zibo and Xishuangbanna
    ("370300", "chronic_diseases"), ("532800", "chronic_diseases"),
    ("370300", "chronic_extra_quota"), ("532800", "chronic_extra_quota"),
}


def _mutants():
    for policy in default_registry().regions:
        for name in CALC_PARAMS:
            if (policy.region, name) in INERT:
                continue
            rec = policy.params[name]
            value = rec.values[-1]
            moves = _limit_moves(value) if name in LIMITS else _mutations(value) + _absent_rule(name, value)
            for label, mutated in moves:
                yield pytest.param(policy.region, name, mutated, id=f"{policy.region}-{name}-{label}")


@pytest.mark.parametrize("region, name, mutated", list(_mutants()))
def test_dropping_a_rule_breaks_a_golden(region, name, mutated):
    base = default_registry()
    policy = copy.copy(base.find(region))
    rec = policy.params[name]
    policy.params = {**policy.params, name: ParamRecord(name, rec.dates, rec.values[:-1] + (mutated,), rec.raw)}
    policy._cache = {}
    registry = Registry([policy if p.region == region else p for p in base.regions])
    assert policy.at(date(2025, 6, 10)) != base.find(region).at(date(2025, 6, 10))
    broken = [c.id for c in CASES if c.situation["region"] == region and mismatches(c, registry)]
    assert broken, f"no golden of {region} notices {name} → {mutated!r}"
