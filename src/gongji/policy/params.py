"""Every parameter a region file must define: its type, its Chinese label, and who reads it.

A region file with a parameter missing, unknown or of the wrong type fails at load. The types
turn the file's text into the domain's values (fen, Ratio, VisitRule) exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

from gongji.domain.money import Ratio, parse_yuan
from gongji.domain.terms import CATEGORIES, MED_TYPES, RELATIONS, VisitRule

Yuan = Annotated[int, BeforeValidator(parse_yuan)]
PositiveYuan = Annotated[int, BeforeValidator(parse_yuan), Field(gt=0)]
RatioValue = Annotated[Ratio, BeforeValidator(Ratio.parse)]
Insutype = Literal["310", "390"]
Level = Literal[1, 2, 3]
AreaPrefix = Annotated[str, Field(pattern=r"^[0-9]{2,6}$")]
IcdRange = Annotated[str, Field(pattern=r"^[A-Z][0-9]{2}(-[A-Z][0-9]{2})?$")]  # "I10-I15" or "J45"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VisitRuleModel(_Strict):
    med_type: Literal[MED_TYPES]  # type: ignore[valid-type]
    max_level: Level | None = None
    chronic_listed: bool = False
    external_rx: bool = False

    def to_domain(self) -> VisitRule:
        return VisitRule(self.med_type, self.max_level, self.chronic_listed, self.external_rx)


class Channel(_Strict):
    kind: Literal["online", "offline"]
    name: str
    materials: list[str] = []
    steps: list[str] = []


@dataclass(frozen=True)
class ParamSpec:
    name: str
    label: str  # Chinese, for people
    type: Any
    # "calc" (the settlement), "binding" (checked by calc and the workflow), "service" (the
    # workflow), "pending" (no region publishes it yet, so the engine does not model it: a file
    # giving it a value is refused rather than silently ignored)
    used_by: str
    money: bool = False  # values are fen (alone or by insutype), shown as yuan

    def adapter(self) -> TypeAdapter:
        return TypeAdapter(self.type)


_BY_INSUTYPE_YUAN = dict[Insutype, Yuan | None]

SPECS: tuple[ParamSpec, ...] = (
    ParamSpec("relations", "可绑定的亲属关系", list[Literal[RELATIONS]], "binding"),  # type: ignore[valid-type]
    ParamSpec("holder_area", "主账户人参保地", AreaPrefix, "binding"),
    ParamSpec("beneficiary_area", "被绑定人参保地", AreaPrefix | None, "binding"),
    ParamSpec("member_limit", "每个主账户最多绑定人数", Annotated[int, Field(ge=1)] | None, "binding"),
    ParamSpec("one_holder_per_beneficiary", "被绑定人只能关联一个主账户", bool, "binding"),
    ParamSpec("unbind_stops_next_day", "解绑次日停止共济", bool, "binding"),
    ParamSpec("channels", "绑定渠道", list[Channel], "service"),
    ParamSpec("review_working_days", "审核时限(工作日)", Annotated[int, Field(ge=1, le=30)], "service"),
    ParamSpec("rejection_reasons", "绑定不通过的原因", list[str], "service"),
    ParamSpec("sanction_reasons", "暂停共济的违规行为", list[str], "service"),
    ParamSpec("holder_inactive_ends_bindings", "主账户人转移或中断时绑定终止", bool, "service"),
    ParamSpec("death_zeroes_quota", "被绑定人身故后额度清零", bool, "service"),
    # four eyes: a manual reimbursement whose pooled-fund payment is above this waits for a
    # second person (a supervisor who did not enter it) before it pays
    ParamSpec("reimburse_approval_above", "手工报销须另一名主管复核的金额(统筹应付超过)", Yuan, "service",
              money=True),
    # the national interface: the med_type codes (医疗类别) settled as general outpatient (11)
    ParamSpec("general_outpatient_med_types", "按普通门诊结算的医疗类别(国家接口)",
              list[Annotated[str, Field(pattern=r"^[0-9]{2,6}$")]], "service"),
    ParamSpec("payer_order", "多人共济的支付顺序", Literal["balance_desc"], "calc"),
    ParamSpec("pooled_visits", "享受门诊统筹的就诊", list[VisitRuleModel], "calc"),
    ParamSpec("deductible", "起付标准(每次)", _BY_INSUTYPE_YUAN, "calc", money=True),
    ParamSpec("pooling_ratio", "统筹报销比例", dict[Insutype, dict[Level, RatioValue]] | None, "calc"),
    ParamSpec("prepregnancy_ratio", "孕前检查统筹比例", RatioValue | None, "calc"),
    ParamSpec("exam_pooling_diseases", "门诊检查费统筹的常见病", list[IcdRange] | None, "pending"),
    ParamSpec("mulaid_scope", "共济支付范围", list[VisitRuleModel], "calc"),
    ParamSpec("out_of_scope_categories", "不得共济的费用类别(自费)",
              list[Literal[CATEGORIES]], "calc"),  # type: ignore[valid-type]
    ParamSpec("chronic_diseases", "慢性病病种(ICD-10 类目范围)", list[IcdRange], "calc"),
    ParamSpec("chronic_diseases_other", "其他慢性病病种(未公布)", list[IcdRange], "calc"),
    ParamSpec("settlement_cap", "单次结算共济限额", Yuan | None, "calc", money=True),
    ParamSpec("annual_cap_beneficiary", "被绑定人年度共济限额", _BY_INSUTYPE_YUAN, "calc", money=True),
    ParamSpec("chronic_extra_quota", "慢性病额外共济额度(年度)", Yuan | None, "calc", money=True),
    ParamSpec("annual_cap_holder", "主账户年度共济支出限额", Yuan | None, "calc", money=True),
    ParamSpec("remote_filing_required", "异地就医须先备案", bool, "calc"),
    ParamSpec("cross_province_mulaid", "跨省就医可用共济", bool, "calc"),
    # sanity limits on what a bill may claim: a larger amount is a keying error, refused by name
    ParamSpec("max_item_amount", "单项费用金额上限(录入核验)", PositiveYuan, "calc", money=True),
    ParamSpec("max_bill_amount", "单次结算费用总额上限(录入核验)", PositiveYuan, "calc", money=True),
)
SPEC_BY_NAME = {s.name: s for s in SPECS}
