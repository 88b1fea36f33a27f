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
