"""The explanation as the patient reads it: no parameter names, keys in words."""

from __future__ import annotations

import json
import re
from pathlib import Path

from gongji.calc_format import calc
from gongji.domain.labels import CATEGORY_ZH, plain_explain
from gongji.domain.terms import CATEGORIES

PARAM = re.compile(r"[a-z_]{4,}")


def test_every_category_has_chinese_words() -> None:
    assert set(CATEGORY_ZH) == set(CATEGORIES)
    assert (CATEGORY_ZH["drug"], CATEGORY_ZH["exam"], CATEGORY_ZH["tcm"]) == ("药品", "检查检验", "中药饮片")


def test_the_worked_example_reads_without_parameter_names() -> None:
    doc = json.loads((Path(__file__).resolve().parent.parent / "data" / "bayingolin-worked.json").read_text())
    lines = [plain_explain(s, {"P1": "王建国"}) for s in calc(doc)["explain"]]
    assert not any(PARAM.search(line) for line in lines), lines
    assert lines[1] == "② 起付线:390.00 与 居民起付标准 100.00 取低者 = 100.00"
    assert lines[2] == "③ 统筹:(390.00 − 起付线 100.00) × 50% = 145.00(二级医院 居民 统筹 50%)"
    assert lines[5].endswith("→ 255.00(王建国(P1) 付 255.00)") and "单次共济上限 2000.00 元、" in lines[5]


def test_every_parameter_note_goes() -> None:
    cases = {
        "⑤ 本人账户:0.00(本次不使用个人账户 acct_used_flag=0)": "⑤ 本人账户:0.00(本次不使用个人账户)",
        "⑤ 本人账户:0.00(异地就医未备案,全部现金,回参保地手工报销 (remote_filing_required))":
            "⑤ 本人账户:0.00(异地就医未备案,全部现金,回参保地手工报销)",
        "② 起付线:0.00(本地区此类就诊无门诊统筹 (pooled_visits))": "② 起付线:0.00(本地区此类就诊无门诊统筹)",
        "⑥ 共济:0.00(不在共济支付范围 (mulaid_scope)、跨省就医不支持共济 (cross_province_mulaid))":
            "⑥ 共济:0.00(不在共济支付范围、跨省就医不支持共济)",
        "⑥ 共济:需 10.00;被绑定人年度共济上限 3000.00 元(annual_cap_beneficiary + chronic_extra_quota) → 10.00(P11 付 10.00)":
            "⑥ 共济:需 10.00;被绑定人年度共济上限 3000.00 元(含慢特病额外额度) → 10.00(P11 付 10.00)",
        "③ 统筹:(符合范围(孕前检查除外) 300.00 − 起付线 100.00) × 50% = 100.00(pooling_ratio[职工][3级]);"
        "孕前检查 100.00 × 80% = 80.00(prepregnancy_ratio);合计 100.00 + 80.00 = 180.00":
            "③ 统筹:(符合范围(孕前检查除外) 300.00 − 起付线 100.00) × 50% = 100.00(三级医院 职工 统筹 50%);"
            "孕前检查 100.00 × 80% = 80.00;合计 100.00 + 80.00 = 180.00",
    }
    for stored, shown in cases.items():
        assert plain_explain(stored, {"P1": "王建国"}) == shown
    assert plain_explain("③ 统筹:(10.00 − 起付线 0.00) × 60% = 6.00(pooling_ratio[职工][1级])", pharmacy=True) \
        == "③ 统筹:(10.00 − 起付线 0.00) × 60% = 6.00(定点药店 职工 统筹 60%)"


def test_a_person_reads_by_name_with_the_number_beside() -> None:
    from gongji.domain.labels import person
    assert person("P1", "王建国") == "王建国(P1)"
    assert person("P9", None) == person("P9", "") == "P9(未登记姓名)"
    assert person(None, "王建国") == ""


def test_codes_in_words_one_table() -> None:
    from gongji.domain import binding, labels, settlement
    from gongji.policy import compare
    assert labels.institution_level(2) == "二级医院" and labels.institution_level(2, "pharmacy") == "定点药店"
    assert labels.institution_level(7) == "7级"  # unknown: shown as it is, never an error
    assert labels.state("approved") == "已生效" and labels.state("rejected") == "未通过"
    assert labels.state("rejected", "settlement") == "复核不通过,不予支付"
    assert labels.state("deceased", "person") == "已身故" and labels.state("odd") == "odd"
    assert labels.word(labels.RELATION_ZH, "parent") == "父母" and labels.word(labels.INSUTYPE_ZH, "390") == "城乡居民医保"
    # the domain and the comparison read the same tables, not copies
    assert binding.STATE_ZH is labels.BINDING_STATE_ZH and compare.RELATION_ZH is labels.RELATION_ZH
    assert settlement.INSUTYPE_ZH is labels.INSUTYPE_SHORT and compare.MED_TYPE_ZH is labels.MED_TYPE_ZH
    assert all(re.search(r"[\u4e00-\u9fff]", v) for t in (labels.POSTING_ZH, labels.PERSON_STATUS_ZH,
                                                          labels.SETTLEMENT_STATE_ZH) for v in t.values())


def test_the_comparison_reads_levels_in_words() -> None:
    from gongji.policy.compare import render
    assert render({"390": {2: None}}) == "居民 二级医院 未明确公布"
