"""The regional comparison and the per-region parameter listing, generated from the files.

Rows follow seed 000's table (共济范围, 年度限额, 绑定渠道, 异地就医备案) and go on with every
rule the settlement uses. An unpublished value reads 未明确公布; an assumption is marked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from gongji.domain.labels import CATEGORY_ZH, LEVEL_ZH, MED_TYPE_ZH, RELATION_ZH
from gongji.domain.labels import INSUTYPE_SHORT as INSUTYPE_ZH
from gongji.domain.money import Ratio, format_yuan
from gongji.policy.loader import ParamRecord, RegionPolicy
from gongji.policy.params import SPEC_BY_NAME, Channel, VisitRuleModel

UNPUBLISHED = "未明确公布"
ASSUMED = "(假设)"


def yuan(fen: int | None) -> str:
    return UNPUBLISHED if fen is None else f"{format_yuan(fen).removesuffix('.00')}元"


def visit_rule(r: VisitRuleModel) -> str:
    text = MED_TYPE_ZH[r.med_type]
    if r.max_level is not None:
        text = f"{'一二三'[r.max_level - 1]}级及以下{text}"
    if r.chronic_listed:
        text += "(所列慢性病)"
    if r.external_rx:
        text += "(凭外配处方)"
    return text


def render(value: Any) -> str:
    """A parameter value as people read it."""
    if value is None:
        return UNPUBLISHED
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Ratio):
        return value.percent()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if not value:
            return "无"
        return "、".join(_item(v) for v in value)
    if isinstance(value, dict):
        parts = []
        for k, v in value.items():
            key = INSUTYPE_ZH.get(k, LEVEL_ZH.get(k, f"{k}级") if isinstance(k, int) else k)
            parts.append(f"{key} {render(v)}")
        return ";".join(parts)
    return str(value)


def _item(v: Any) -> str:
    if isinstance(v, VisitRuleModel):
        return visit_rule(v)
    if isinstance(v, Channel):
        return v.name
    return RELATION_ZH.get(v, CATEGORY_ZH.get(v, str(v)))


def is_unpublished(rec: ParamRecord, day: date) -> bool:
    value = rec.at(day)
    return rec.raw.unpublished and value in (None, [], {}) or _all_none(value)


def value_text(rec: ParamRecord, day: date) -> str:
    """A parameter's value in force that day, as people read it (money in yuan)."""
    if is_unpublished(rec, day):
        return UNPUBLISHED
    value = rec.at(day)
    if SPEC_BY_NAME[rec.name].money:
        if isinstance(value, dict):
            return ";".join(f"{INSUTYPE_ZH[k]} {yuan(v)}" for k, v in value.items())
        return yuan(value)
    return render(value)


def cell(rec: ParamRecord, day: date, text: Callable[[Any], str] | None = None) -> str:
    """A value as shown in a table: its summary if the file gives one, else rendered."""
    if is_unpublished(rec, day):
        return UNPUBLISHED
    summary = rec.summary_at(day)
    if summary:  # the source's own wording: shown as written, not marked
        return summary
    shown = text(rec.at(day)) if text else value_text(rec, day)
    return shown + (ASSUMED if rec.raw.assumption else "")


def _all_none(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(v is None for v in value.values())


def _annual_limit(p: RegionPolicy, day: date) -> str:
    holder, ben = p.params["annual_cap_holder"], p.params["annual_cap_beneficiary"]
    parts = []
    if holder.at(day) is not None:
        parts.append(f"主账户{yuan(holder.at(day))}")
    caps, summary = ben.at(day), ben.summary_at(day)
    if summary:
        parts.append(summary)
    elif not _all_none(caps):
        parts.append(";".join(f"{INSUTYPE_ZH[k]}被绑定人{yuan(v)}" for k, v in caps.items() if v is not None))
    if not parts:
        return UNPUBLISHED
    assumed = holder.raw.assumption or (ben.raw.assumption and not _all_none(caps))
    return ";".join(parts) + (ASSUMED if assumed and not summary else "")


@dataclass(frozen=True)
class Row:
    label: str
    params: tuple[str, ...]
    show: Callable[[RegionPolicy, date], str]


def _param_row(label: str, name: str, text: Callable[[Any], str] | None = None) -> Row:
    return Row(label, (name,), lambda p, d: cell(p.params[name], d, text))


ROWS: tuple[Row, ...] = (
    _param_row("共济范围", "relations"),
    Row("年度限额", ("annual_cap_holder", "annual_cap_beneficiary"), _annual_limit),
    _param_row("绑定渠道", "channels"),
    _param_row("异地就医备案", "remote_filing_required"),
    _param_row("被绑定人参保地", "beneficiary_area"),
    _param_row("绑定人数上限", "member_limit", lambda v: f"{v}人"),
    _param_row("只能关联一个主账户", "one_holder_per_beneficiary"),
    _param_row("审核时限", "review_working_days", lambda v: f"{v}个工作日"),
    _param_row("解绑次日停止", "unbind_stops_next_day"),
    _param_row("共济支付范围", "mulaid_scope"),
    _param_row("单次共济限额", "settlement_cap"),
    _param_row("慢性病额外额度", "chronic_extra_quota"),
    _param_row("起付标准", "deductible"),
    _param_row("统筹报销比例", "pooling_ratio"),
    _param_row("跨省就医可用共济", "cross_province_mulaid"),
    _param_row("多人共济顺序", "payer_order", lambda v: "余额从高到低"),
    _param_row("身故后额度清零", "death_zeroes_quota"),
    _param_row("单项费用上限(录入核验)", "max_item_amount"),
    _param_row("单次结算总额上限(录入核验)", "max_bill_amount"),
)


def comparison(regions: list[RegionPolicy], day: date) -> list[tuple[str, list[str]]]:
    return [(row.label, [row.show(p, day) for p in regions]) for row in ROWS]


def grounding(rec: ParamRecord) -> str:
    """Where a value comes from: its quotes, and its flags with the reason."""
    parts = [f"《{s.seed}》“{s.quote}”" for s in rec.raw.source]
    if rec.raw.assumption:
        parts.append(f"假设:{rec.raw.reason}")
    if rec.raw.unpublished:
        parts.append(f"未公布:{rec.raw.reason}")
    return ";".join(parts)
