"""Words for what people read on a statement, a page or a spreadsheet: the bill's categories and
classes, the visit types, insurance types and institution levels, and a settlement's explanation
without the policy parameters' internal names (the stored explanation keeps them)."""

from __future__ import annotations

import re
from collections.abc import Mapping

CATEGORY_ZH = {
    "drug": "药品", "exam": "检查检验", "treatment": "治疗", "tcm": "中药饮片", "prepregnancy": "孕前检查",
    "public_health": "公共卫生", "fitness": "健身", "cosmetic": "整形美容", "highend_checkup": "高端体检",
    "non_medical": "非医疗支出",
}
LIST_CLASS_ZH = {"A": "甲类", "B": "乙类", "C": "丙类"}
MED_TYPE_ZH = {"11": "普通门诊", "14": "门诊慢特病", "41": "定点药店购药"}
INSUTYPE_ZH = {"310": "职工医保", "390": "城乡居民医保"}
LEVEL_ZH = {1: "一级医院", 2: "二级医院", 3: "三级医院"}
PHARMACY = "定点药店"


def institution_level(level: int, kind: str | None = "hospital") -> str:
    """``二级医院``, or ``定点药店`` for a pharmacy (whatever level it is filed under)."""
    return PHARMACY if kind == "pharmacy" else LEVEL_ZH.get(level, f"{level}级")


# a parameter name in parentheses, as ``explain`` writes it: ``(deductible)``,
# ``(pooling_ratio[居民][2级])``, ``(annual_cap_beneficiary + chronic_extra_quota)``
_PARAM = re.compile(r" ?\(([a-z_]+(?:\[[^\]()]*\])*(?: \+ [a-z_]+)*)\)")
_KEYS = re.compile(r"\[([^\]]*)\]")
_RATIO = re.compile(r"× (\d+(?:\.\d+)?%) = [\d.,]+$")
_MIN = re.compile(r"min\((.+), (起付标准.+?)\)")
_FLAG = re.compile(r" ?acct_used_flag=\d")
_PARAM_WORDS = {"annual_cap_beneficiary + chronic_extra_quota": "含慢特病额外额度"}


def plain_explain(line: str, names: Mapping[str, str] | None = None, pharmacy: bool = False) -> str:
    """One ``explain`` line as the patient reads it: no parameter name, keys in words.

    ``… × 50% = 100.00(pooling_ratio[居民][2级])`` → ``… × 50% = 100.00(二级医院 居民 统筹 50%)``;
    ``(deductible)``, ``(settlement_cap)`` and the like are dropped; ``起付标准[居民]`` reads
    ``居民起付标准``; ``min(a, b)`` reads ``a 与 b 取低者``; a paying holder ``P1 付`` reads
    ``王建国(P1) 付`` when ``names`` knows them."""
    parts = []
    for part in line.split(";"):  # each part of step 3 has its own ratio
        def words(m: re.Match[str], part: str = part) -> str:
            return _param_words(m.group(1), part, pharmacy)
        parts.append(_PARAM.sub(words, part))
    text = ";".join(parts)
    text = _FLAG.sub("", text)
    text = _MIN.sub(r"\1 与 \2 取低者", text)
    text = re.sub(r"起付标准\[([^\]]+)\]", r"\1起付标准", text)
    for psn_no, name in (names or {}).items():
        if name:
            text = re.sub(rf"(?<![\w]){re.escape(psn_no)} 付 ", f"{name}({psn_no}) 付 ", text)
    return text


def _param_words(param: str, part: str, pharmacy: bool) -> str:
    keys = _KEYS.findall(param)
    if param.startswith("pooling_ratio") and len(keys) == 2:
        kind, level = keys
        where = PHARMACY if pharmacy else LEVEL_ZH.get(int(level.removesuffix("级")), level) \
            if level.removesuffix("级").isdigit() else level
        ratio = _RATIO.search(part.split("(pooling_ratio")[0])
        return f"({where} {kind} 统筹{' ' + ratio.group(1) if ratio else ''})"
    return f"({_PARAM_WORDS[param]})" if param in _PARAM_WORDS else ""
