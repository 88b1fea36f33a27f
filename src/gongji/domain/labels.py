"""The one table of Chinese words for every code people read, on a page, the 结算单 (PDF) or a
spreadsheet: people (full name and 个人编号), regions (GB/T 2260, ``domain.regions``), relations,
insurance types, institution levels, binding, settlement and insurance states, the bill's
categories and classes, the visit types, the account's postings and the settlement amounts, the
refusal codes (``domain.codes``), and a settlement's explanation without the policy parameters'
internal names (the stored explanation keeps them). Pages (Jinja filters in ``web.common``), the
PDF and the Excel all read these."""

from __future__ import annotations

import re
from collections.abc import Mapping

from gongji.domain.codes import CODE_ZH
from gongji.domain.regions import region_name, region_path

CATEGORY_ZH = {
    "drug": "药品", "exam": "检查检验", "treatment": "治疗", "tcm": "中药饮片", "prepregnancy": "孕前检查",
    "public_health": "公共卫生", "fitness": "健身", "cosmetic": "整形美容", "highend_checkup": "高端体检",
    "non_medical": "非医疗支出",
}
LIST_CLASS_ZH = {"A": "甲类", "B": "乙类", "C": "丙类"}
MED_TYPE_ZH = {"11": "普通门诊", "14": "门诊慢特病", "41": "定点药店购药"}
INSUTYPE_ZH = {"310": "职工医保", "390": "城乡居民医保"}
INSUTYPE_SHORT = {"310": "职工", "390": "居民"}  # before another word: 职工被绑定人, 居民起付标准
LEVEL_ZH = {1: "一级医院", 2: "二级医院", 3: "三级医院"}
PHARMACY = "定点药店"
KIND_ZH = {"hospital": "定点医院", "pharmacy": PHARMACY}
CHANNEL_ZH = {"online": "线上", "offline": "线下窗口"}
RELATION_ZH = {"spouse": "配偶", "parent": "父母", "child": "子女", "sibling": "兄弟姐妹"}
BINDING_STATE_ZH = {"pending": "待审核", "approved": "已生效", "rejected": "未通过", "withdrawn": "已撤回",
                    "unbound": "已解绑", "ended": "已终止"}
SETTLEMENT_STATE_ZH = {"settled": "已结算", "reversed": "已冲正", "pending_approval": "待复核,尚未支付",
                       "rejected": "复核不通过,不予支付"}
PERSON_STATUS_ZH = {"active": "正常参保", "transferred": "医保关系已转移", "interrupted": "参保中断",
                    "deceased": "已身故"}
POSTING_ZH = {"opening": "期初余额", "credit": "个人账户划入", "settle": "医疗费用支付", "reverse": "冲正退回"}
AMOUNT_ZH = (  # a settlement's amounts, in the order of the 结算单
    ("medfee_sumamt", "医疗费总额"), ("fulamt_ownpay_amt", "全自费"), ("overlmt_selfpay", "超限价自费"),
    ("preselfpay_amt", "乙类先行自付"), ("inscp_scp_amt", "符合范围金额"), ("act_pay_dedc", "起付线"),
    ("hifp_pay", "统筹基金支付"), ("acct_pay", "本人个人账户支付"), ("acct_mulaid_pay", "家庭共济支付"),
    ("psn_cash_pay", "现金支付"))
UNREGISTERED = "未登记姓名"
__all__ = ["CODE_ZH", "region_name", "region_path"]  # read from here with the rest


def person(psn_no: str | None, name: str | None) -> str:
    """``王建国(P1)``, or ``P9(未登记姓名)`` for a person with no name on record. Full names are
    for staff, cashiers and the family; logs and outsiders get ``queries.mask_name``."""
    if not psn_no:
        return ""
    return f"{name}({psn_no})" if name else f"{psn_no}({UNREGISTERED})"


def word(table: Mapping, code: object) -> str:
    """The label of ``code`` in ``table``; an unknown code shows itself (never an error)."""
    return str(table.get(code, "" if code is None else code))


STATES = {"binding": BINDING_STATE_ZH, "settlement": SETTLEMENT_STATE_ZH, "person": PERSON_STATUS_ZH}


def state(code: str | None, of: str = "binding") -> str:
    """A binding's (``of="binding"``), a settlement's or an insured person's state in words."""
    return word(STATES[of], code)


def institution_level(level: int | str, kind: str | None = "hospital") -> str:
    """``二级医院``, or ``定点药店`` for a pharmacy (whatever level it is filed under)."""
    if kind == "pharmacy":
        return PHARMACY
    return LEVEL_ZH.get(int(level), f"{level}级") if str(level).isdigit() else str(level)


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

ROLE_ZH = {"clerk": "经办", "supervisor": "主管", "auditor": "审计", "admin": "管理员"}  # staff roles
