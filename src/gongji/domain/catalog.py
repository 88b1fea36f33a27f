"""The insurance catalogue (医保目录): how a fee line of a national catalogue code is classified,
and the split of one line (the 2204 result): wholly self-paid, above the price cap, first
self-paid, in scope. Pure; amounts in fen, prices and quantities exact ``Decimal``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from gongji.domain.money import Fen, Ratio, fen_half_up

# 收费项目等级 → the calc format's list_class
LIST_CLASS = {"01": "A", "02": "B", "03": "C"}
LEVEL_ZH = {"01": "甲类", "02": "乙类", "03": "丙类"}
# 医疗收费项目类别 → gongji's scope category, when the catalogue line does not name one
DEFAULT_CATEGORY = {"03": "exam", "04": "exam", "09": "drug", "11": "drug", "10": "tcm"}
CHRGITM_TYPES = tuple(f"{i:02d}" for i in range(1, 15))


def default_category(med_chrgitm_type: str) -> str:
    return DEFAULT_CATEGORY.get(med_chrgitm_type, "treatment")


@dataclass(frozen=True, slots=True)
class Entry:
    """One catalogue line in force for a code, a region prefix ("" = every region) and a period."""

    code: str
    name: str
    med_chrgitm_type: str
    chrgitm_lv: str  # 01 甲 02 乙 03 丙
    selfpay_prop: Decimal  # 0..1, exact
    pric_uplmt_amt: Decimal | None  # yuan per unit; None: no cap
    lmt_used_flag: str  # "1": restricted use
    category: str
    admdvs: str = ""
    begndate: date = date.min
    enddate: date | None = None

    def covers(self, region: str, day: date) -> bool:
        return region.startswith(self.admdvs) and self.begndate <= day \
            and (self.enddate is None or day <= self.enddate)


def in_force(entries: list[Entry], region: str, day: date) -> Entry | None:
    """The line for ``region`` on ``day``: the longest matching region prefix, then the latest start."""
    live = [e for e in entries if e.covers(region, day)]
    return max(live, key=lambda e: (len(e.admdvs), e.begndate)) if live else None


@dataclass(frozen=True, slots=True)
class Split:
    """A line's amount in four parts that add up to it (2204's result fields)."""

    amount: Fen
    fulamt_ownpay: Fen  # 全自费: 丙类, not approved, or a category outside the scope
    overlmt: Fen  # 超限价: above the price cap, self-paid
    preselfpay: Fen  # 先行自付: 乙类's first self-paid share of what is under the cap
    inscp: Fen  # 符合范围
    list_class: str  # what the calculation sees: A, B, or C for a wholly self-paid line
    self_paid_why: str = ""


def ratio(entry: Entry) -> Ratio:
    """The first self-pay share as the calculation applies it (``Ratio.of``: half up to the fen)."""
    return Ratio.parse(format(entry.selfpay_prop, "f"))


def line_total(cnt: Decimal, pric: Decimal) -> Fen:
    """``cnt × pric`` rounded half up to the fen: what ``det_item_fee_sumamt`` must be."""
    return fen_half_up(cnt * pric)


def split(entry: Entry, cnt: Decimal, pric: Decimal, amount: Fen, hosp_appr_flag: str = "0",
          out_of_scope: frozenset[str] = frozenset()) -> Split:
    """Classify one line. 丙类, a restricted item (lmt_used_flag 1) not approved by the hospital
    (hosp_appr_flag 0 or 2), any item refused approval (2), or a category outside the region's
    scope: wholly self-paid. Otherwise the part above the cap, ``max(0, pric − cap) × cnt`` half up
    to the fen, is self-paid; of the rest, 乙类 pays ``selfpay_prop`` first, half up to the fen."""
    why = ""
    if entry.chrgitm_lv == "03":
        why = "丙类"
    elif hosp_appr_flag == "2":
        why = "医院审批不通过"
    elif entry.lmt_used_flag == "1" and hosp_appr_flag != "1":
        why = "限制使用项目未经审批"
    elif entry.category in out_of_scope:
        why = "不属于支付范围的类别"
    if why:
        return Split(amount, amount, 0, 0, 0, "C", why)
    over = 0
    if entry.pric_uplmt_amt is not None and pric > entry.pric_uplmt_amt:
        over = min(amount, fen_half_up((pric - entry.pric_uplmt_amt) * cnt))
    rest = amount - over
    pre = ratio(entry).of(rest) if entry.chrgitm_lv == "02" else 0
    return Split(amount, 0, over, pre, rest - pre, LIST_CLASS[entry.chrgitm_lv])
