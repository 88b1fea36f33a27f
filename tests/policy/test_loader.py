from datetime import date
from pathlib import Path

import pytest

from gongji.calc_format import calc
from gongji.policy.loader import POLICY_DIR, PolicyError, Registry, load_dir, parse_region

BAYINGOLIN = (POLICY_DIR / "bayingolin.yaml").read_text(encoding="utf-8")


def test_all_regions_load_with_every_parameter():
    reg = load_dir()
    assert [r.region for r in reg.regions] == ["532600", "370300", "532800", "652800"]
    terms = reg.find("652800").at(date(2025, 6, 10))
    assert terms.settlement_cap == 200000 and terms.annual_cap_holder == 500000
    assert terms.deductible == {"310": 20000, "390": 10000}


def test_region_found_by_any_code_inside_it():
    reg = load_dir()
    assert reg.find("652801").region == "652800"
    assert reg.find("532621").region == "532600"
    with pytest.raises(PolicyError, match="unknown region '110000'"):
        reg.find("110000")


@pytest.mark.parametrize("old, new, expected", [
    ("      2025-01-01: 2000.00\n    source:\n      - seed: 001_3e023b000912c8eb.txt\n        quote: 單次",
     "      2025-01-01: 2000.001\n    source:\n      - seed: 001_3e023b000912c8eb.txt\n        quote: 單次",
     "parameters.settlement_cap.values.2025-01-01: .*more than 2 decimals"),
    ("quote: 每個主賬戶最多可綁定4名家庭成員", "quote: 每個主賬戶最多可綁定5名家庭成員",
     r"parameters.member_limit.source.0.quote: not found in 001_3e023b000912c8eb.txt"),
    ("  member_limit:\n    values:\n      2025-01-01: 4", "  member_limit:\n    values:\n      2025-01-01: four",
     "parameters.member_limit.values.2025-01-01"),
    ("      2025-01-01: [spouse, parent, child]\n    summary",
     "      2025-01-01: [spouse, parent, cousin]\n    summary",
     r"parameters.relations.values.2025-01-01.2: "),
    ("  cross_province_mulaid:\n    values:\n      2025-01-01: false\n    source:",
     "  cross_province_mulaid:\n    values:\n      2025-01-01: false\n    sourcee:",
     r"parameters.cross_province_mulaid.sourcee: Extra inputs"),
    ("    reason: 巴州资料未提慢性病额外额度。", "",
     "parameters.chronic_extra_quota: .*needs a reason"),
    ("seed: 001_3e023b000912c8eb.txt\n        quote: 每個", "seed: nope.txt\n        quote: 每個",
     r"parameters.member_limit.source.0.seed: no seed document 'nope.txt'"),
    ('region: "652800"', 'region: "65280"', "region: String should match pattern"),
    ("  payer_order:", "  payer_ordr:", "parameters: missing payer_order"),
    ("parameters:\n", "parameters:\n  colour:\n    values: {2025-01-01: red}\n    assumption: true\n    reason: x\n",
     "parameters.colour: unknown parameter"),
    ("\"390\": {1: \"0.60\"", "\"390\": {1: \"1.60\"", r"parameters.pooling_ratio.values.2025-01-01.390.1: .*between 0 and 1"),
])
def test_malformed_file_names_file_path_and_reason(old, new, expected):
    assert old in BAYINGOLIN, old
    with pytest.raises(PolicyError, match=r"^broken.yaml: " + expected):
        parse_region(BAYINGOLIN.replace(old, new, 1), "broken.yaml")


def test_not_yaml():
    with pytest.raises(PolicyError, match="^x.yaml: not valid YAML"):
        parse_region("a: [", "x.yaml")


def test_parameter_without_grounding_is_refused():
    text = BAYINGOLIN.replace("""    unpublished: true
    reason: 巴州资料未提慢性病额外额度。""", "")
    with pytest.raises(PolicyError, match="chronic_extra_quota: needs a source"):
        parse_region(text, "x.yaml")


def _with_cap_change(text: str) -> str:
    return text.replace("""  settlement_cap:
    values:
      2025-01-01: 2000.00""", """  settlement_cap:
    values:
      2025-01-01: 2000.00
      2025-07-01: 1500.00""")


def test_cap_change_takes_effect_for_bills_from_that_day_only():
    registry = Registry([parse_region(_with_cap_change(BAYINGOLIN), "bayingolin.yaml")])
    doc = {
        "region": "652800", "date": "2025-06-30",
        "persons": {"P1": {"insutype": "310", "insu_admdvs": "652801", "balance": "9000.00"},
                    "P3": {"insutype": "310", "insu_admdvs": "652801"}},
        "bindings": [{"holder": "P1", "beneficiary": "P3", "relation": "spouse", "approved_on": "2025-01-06"}],
        "visit": {"psn_no": "P3", "fixmedins": {"code": "H", "level": 2, "admdvs": "652801", "kind": "hospital"},
                  "med_type": "11",
                  "items": [{"code": "X", "list_class": "A", "category": "exam", "amount": "6000.00"}]},
    }
    before = calc(doc, registry)
    after = calc(doc | {"date": "2025-07-01"}, registry)
    assert (before["acct_mulaid_pay"], before["codes"]) == ("2000.00", ["CAP_SETTLEMENT"])
    assert (after["acct_mulaid_pay"], after["codes"]) == ("1500.00", ["CAP_SETTLEMENT"])
    assert (before["psn_cash_pay"], after["psn_cash_pay"]) == ("520.00", "1020.00")  # 6000 − 3480 − mulaid
    policy = registry.find("652800")
    assert policy.at(date(2025, 6, 30)).settlement_cap == 200000
    assert policy.at(date(2025, 7, 1)).settlement_cap == 150000
    assert policy.at(date(2026, 1, 1)).settlement_cap == 150000
    with pytest.raises(PolicyError, match="no policy in force on 2024-12-31"):
        policy.at(date(2024, 12, 31))


def test_yaml_money_is_never_a_float():
    # 2000.10 as a YAML float would be 2000.0999999…; the exact loader keeps the text.
    cap = "  annual_cap_holder:\n    values:\n      2025-01-01: 5000.{}\n"
    text = BAYINGOLIN.replace(cap.format("00"), cap.format("10"))
    policy = parse_region(text, "x.yaml")
    assert policy.at(date(2025, 1, 1)).annual_cap_holder == 500010


def test_shipped_files_have_no_stray_files(tmp_path: Path):
    # every yaml in policies/ is a region but supervision.yaml (the fund-supervision rules, read by
    # policy.supervision); golden situations live in policies/golden/
    assert sorted(p.name for p in POLICY_DIR.glob("*.yaml")) == [
        "bayingolin.yaml", "supervision.yaml", "wenshan.yaml", "xishuangbanna.yaml", "zibo.yaml"]
    assert sorted(r.file.name_en for r in load_dir().regions) == ["Bayingolin", "Wenshan", "Xishuangbanna", "Zibo"]
