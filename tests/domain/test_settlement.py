"""Engine paths no shipped region exercises yet, and the shape of `explain`."""

import json
from pathlib import Path

import pytest

from gongji.calc_format import calc
from gongji.domain.errors import DomainError
from gongji.policy.loader import POLICY_DIR, PolicyError, Registry, parse_region

WORKED = json.loads((Path(__file__).resolve().parent.parent / "data" / "bayingolin-worked.json").read_text())


def test_a_published_prepregnancy_ratio_pools_those_items_without_deductible():
    text = (POLICY_DIR / "bayingolin.yaml").read_text(encoding="utf-8").replace(
        "  prepregnancy_ratio:\n    values:\n      2025-01-01: null",
        "  prepregnancy_ratio:\n    values:\n      2025-01-01: \"0.60\"")
    registry = Registry([parse_region(text, "bayingolin.yaml")])
    doc = json.loads(json.dumps(WORKED))
    doc["visit"]["items"] = [
        {"code": "Y1", "list_class": "A", "category": "prepregnancy", "amount": "200.00"},
        {"code": "X1", "list_class": "A", "category": "exam", "amount": "300.00"},
    ]
    out = calc(doc, registry)
    # 200 × 60% = 120 for the pre-pregnancy items; (300 − 100) × 50% = 100 for the rest
    assert (out["inscp_scp_amt"], out["act_pay_dedc"], out["hifp_pay"]) == ("500.00", "100.00", "220.00")
    assert (out["acct_mulaid_pay"], out["psn_cash_pay"]) == ("280.00", "0.00")


def test_explain_has_one_line_per_step_naming_its_parameter():
    out = calc(WORKED)
    lines = out["explain"]
    assert [line[0] for line in lines] == list("①②③④⑤⑥⑦")
    assert "deductible" in lines[1] and "100.00" in lines[1]
    assert "pooling_ratio" in lines[2] and "50%" in lines[2] and "145.00" in lines[2]
    assert "settlement_cap" in lines[5] and "annual_cap_holder" in lines[5] and "5000.00" in lines[5]
    assert lines[6].endswith("= 50.00")


def test_explain_says_why_mutual_aid_is_refused():
    doc = json.loads(json.dumps(WORKED))
    doc["visit"]["fixmedins"]["level"] = 3
    out = calc(doc)
    assert out["codes"] == ["OUT_OF_SCOPE"]
    assert "mulaid_scope" in out["explain"][5] and "pooled_visits" in out["explain"][2]


def test_every_code_has_a_chinese_label():
    import re

    from gongji.domain.codes import CODE_ZH, label
    from gongji.domain.settlement import CODE_ORDER
    story = {"RELATION_NOT_ALLOWED", "BENEFICIARY_REGION", "MEMBER_LIMIT", "ALREADY_BOUND",
             "HOLDER_NOT_ELIGIBLE", "NO_SUCH_BINDING", "NOT_PENDING", "UNKNOWN_PERSON",
             "UNKNOWN_INSTITUTION", "PERSON_DECEASED", "IDEMPOTENCY_CONFLICT", "ALREADY_REVERSED",
             "UNKNOWN_SETTLEMENT"}
    assert set(CODE_ORDER) | story <= set(CODE_ZH)
    assert all(re.search(r"[\u4e00-\u9fff]", v) for v in CODE_ZH.values())
    assert label("BALANCE") == "主账户余额不足(BALANCE)"


def _bill(*amounts):
    doc = json.loads(json.dumps(WORKED))
    doc["visit"]["items"] = [{"code": f"C{i + 1}", "name": "自费项目", "list_class": "C", "category": "drug",
                              "amount": a} for i, a in enumerate(amounts)]
    return doc


def test_a_bill_at_the_regions_sanity_limits_settles():
    out = calc(_bill("50000.00", "50000.00", "50000.00", "50000.00"))
    assert (out["medfee_sumamt"], out["psn_cash_pay"]) == ("200000.00", "200000.00")


def test_an_item_over_the_limit_is_refused_by_name():
    with pytest.raises(DomainError) as e:
        calc(_bill("10.00", "999999999999.99"))
    assert (e.value.code, e.value.field) == ("INVALID_INPUT", "visit.items[1].amount")
    assert "第 2 项费用“C2 自费项目”" in e.value.message and "50000.00 元" in e.value.message
    with pytest.raises(DomainError) as e:
        calc(_bill("50000.00", "50000.00", "50000.00", "50000.00", "0.01"))
    assert (e.value.code, e.value.field) == ("INVALID_INPUT", "visit.items")
    assert "费用总额 200000.01 元" in e.value.message and "200000.00 元" in e.value.message


def test_the_limits_are_policy_data_and_must_be_positive():
    text = (POLICY_DIR / "zibo.yaml").read_text(encoding="utf-8")
    lower = text.replace("  max_item_amount:\n    values:\n      2025-01-01: 50000.00",
                         "  max_item_amount:\n    values:\n      2025-01-01: 50000.00\n      2025-07-01: 100.00")
    registry = Registry([parse_region(lower, "zibo.yaml")])
    doc = _bill("150.00")
    doc.update(region="370300", persons={"Z1": {"insutype": "310", "insu_admdvs": "370302"}}, bindings=[],
               usage={}, filings=[])
    doc["visit"].update(psn_no="Z1", fixmedins={"code": "H1", "level": 2, "admdvs": "370302", "kind": "hospital"})
    assert calc(doc, registry)["medfee_sumamt"] == "150.00"  # 2025-06-10: still 50000
    doc["date"] = "2025-07-01"
    with pytest.raises(DomainError, match="单项费用上限 100.00 元") as e:  # words for the cashier, no key
        calc(doc, registry)
    assert "max_item_amount" not in e.value.message
    with pytest.raises(PolicyError, match="max_bill_amount"):
        parse_region(text.replace("2025-01-01: 200000.00", "2025-01-01: 0"), "zibo.yaml")
