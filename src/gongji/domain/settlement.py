"""The settlement calculation: the seven steps of shared/spec/policy-facts.md, pure and exact.

Every amount is integer fen. Each rule that limits what mutual-aid (or more) pays adds its code;
``explain`` gets one Chinese line per step naming the parameter and value it used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from gongji.domain.codes import CODE_ZH
from gongji.domain.errors import DomainError, LedgerError
from gongji.domain.labels import INSUTYPE_SHORT, RELATION_ZH, region_name, word
from gongji.domain.money import Fen
from gongji.domain.money import format_yuan as y
from gongji.domain.situation import ACTIVE, DECEASED, Person, Situation, Visit
from gongji.domain.terms import EMPLOYEE, RESIDENT, Terms, VisitRule

CODE_ORDER = (
    "NOT_BOUND", "OUT_OF_SCOPE", "REMOTE_NOT_FILED", "CROSS_PROVINCE_NO_MULAID", "NO_EXTERNAL_RX",
    "CAP_SETTLEMENT", "CAP_BENEFICIARY_YEAR", "CAP_HOLDER_YEAR", "BALANCE", "FROZEN",
    "SANCTIONED", "HOLDER_INACTIVE", "ACCOUNT_NOT_USED",
)
_RANK = {c: i for i, c in enumerate(CODE_ORDER)}
INSUTYPE_ZH = INSUTYPE_SHORT


@dataclass(frozen=True, slots=True)
class Settlement:
    medfee_sumamt: Fen
    fulamt_ownpay_amt: Fen
    overlmt_selfpay: Fen
    preselfpay_amt: Fen
    inscp_scp_amt: Fen
    act_pay_dedc: Fen
    hifp_pay: Fen
    acct_pay: Fen
    acct_mulaid_pay: Fen
    psn_cash_pay: Fen
    mulaid_detail: tuple[tuple[str, Fen], ...]
    codes: tuple[str, ...]
    explain: tuple[str, ...]

    def __post_init__(self) -> None:
        # Invariants checked where the numbers are made, not only in tests.
        if self.medfee_sumamt != self.fulamt_ownpay_amt + self.overlmt_selfpay + self.preselfpay_amt + self.inscp_scp_amt:
            raise LedgerError("medfee_sumamt does not add up")
        if self.medfee_sumamt != self.hifp_pay + self.acct_pay + self.acct_mulaid_pay + self.psn_cash_pay:
            raise LedgerError("payments do not add up to medfee_sumamt")
        if self.acct_mulaid_pay != sum(a for _, a in self.mulaid_detail):
            raise LedgerError("mulaid_detail does not sum to acct_mulaid_pay")
        if min(self.hifp_pay, self.acct_pay, self.acct_mulaid_pay, self.psn_cash_pay,
               self.act_pay_dedc, self.preselfpay_amt, self.fulamt_ownpay_amt, self.overlmt_selfpay) < 0:
            raise LedgerError("a negative amount")


def matches(rule: VisitRule, visit: Visit, terms: Terms, *, ignore_rx: bool = False) -> bool:
    if rule.med_type != visit.med_type:
        return False
    if rule.max_level is not None and visit.fixmedins.level > rule.max_level:
        return False
    if rule.chronic_listed and not terms.is_chronic(visit.dise_codg):
        return False
    return ignore_rx or not rule.external_rx or visit.external_rx


def check_bindings(s: Situation, terms: Terms) -> None:
    """Refuse a situation whose bindings the region's policy could never have approved."""
    per_holder: dict[str, int] = {}
    per_beneficiary: dict[str, int] = {}
    for i, b in enumerate(s.bindings):
        where = f"bindings[{i}]"
        holder, ben = s.persons[b.holder], s.persons[b.beneficiary]
        if b.relation not in terms.relations:
            raise DomainError("RELATION_NOT_ALLOWED",
                              f"{terms.name}不能以“{word(RELATION_ZH, b.relation)}”关系绑定", f"{where}.relation")
        if holder.insutype != EMPLOYEE or not holder.insu_admdvs.startswith(terms.holder_area):
            raise DomainError("HOLDER_NOT_ELIGIBLE",
                              f"主账户人须为{region_name(terms.holder_area)}的职工医保参保人", f"{where}.holder")
        if terms.beneficiary_area and not ben.insu_admdvs.startswith(terms.beneficiary_area):
            raise DomainError("BENEFICIARY_REGION",
                              f"被绑定人须在{region_name(terms.beneficiary_area)}参保", f"{where}.beneficiary")
        if b.in_force(s.date, terms.unbind_stops_next_day):
            per_holder[b.holder] = per_holder.get(b.holder, 0) + 1
            per_beneficiary[b.beneficiary] = per_beneficiary.get(b.beneficiary, 0) + 1
            if terms.member_limit is not None and per_holder[b.holder] > terms.member_limit:
                raise DomainError("MEMBER_LIMIT",
                                  f"主账户 {b.holder} 绑定人数超过上限 {terms.member_limit} 人", where)
            if terms.one_holder_per_beneficiary and per_beneficiary[b.beneficiary] > 1:
                raise DomainError("ALREADY_BOUND",
                                  f"被绑定人 {b.beneficiary} 已关联其他主账户,一人只能关联一个主账户", where)


def check_amounts(visit: Visit, terms: Terms) -> None:
    """Refuse a bill no outpatient visit could run up: a keying error, named item by item, before
    anything is worked out (max_item_amount, max_bill_amount)."""
    for i, item in enumerate(visit.items):
        if item.amount > terms.max_item_amount:
            what = f"{item.code} {item.name}".strip()
            raise DomainError("INVALID_INPUT",
                              f"第 {i + 1} 项费用“{what}”金额 {y(item.amount)} 元,超过{terms.name}单项费用上限"
                              f" {y(terms.max_item_amount)} 元,请核对录入",
                              f"visit.items[{i}].amount")
    total = sum(item.amount for item in visit.items)
    if total > terms.max_bill_amount:
        raise DomainError("INVALID_INPUT",
                          f"费用总额 {y(total)} 元,超过{terms.name}单次结算费用总额上限"
                          f" {y(terms.max_bill_amount)} 元,请核对录入", "visit.items")


def _classify(visit: Visit, terms: Terms, explain: list[str]) -> tuple[Fen, Fen, Fen, Fen, Fen]:
    """Step 1: self-pay (丙类 or out-of-scope category), the part above a price cap, class-B
    first self-pay (of what is under the cap), in scope."""
    ownpay = overlmt = preself = inscp = prepreg = 0
    for item in visit.items:
        if item.list_class == "C" or item.category in terms.out_of_scope_categories:
            ownpay += item.amount
            continue
        over = min(item.overlmt, item.amount)
        base = item.amount - over
        overlmt += over
        pre = item.selfpay_prop.of(base) if item.list_class == "B" else 0
        preself += pre
        if item.category == "prepregnancy" and terms.prepregnancy_ratio is not None:
            prepreg += base - pre
        else:
            inscp += base - pre
    total = ownpay + overlmt + preself + inscp + prepreg
    of_which = f",其中孕前检查 {y(prepreg)}" if prepreg else ""
    over_text = f" + 超限价自费 {y(overlmt)}" if overlmt else ""
    explain.append(f"① 费用分类:总额 {y(total)} = 全自费 {y(ownpay)}{over_text} + 乙类先行自付 {y(preself)}"
                   f" + 符合范围 {y(inscp + prepreg)}{of_which}(out_of_scope_categories)")
    return ownpay, overlmt, preself, inscp, prepreg


def _pooling(visit: Visit, patient: Person, terms: Terms, inscp: Fen, prepreg: Fen,
             filed: bool, explain: list[str]) -> tuple[Fen, Fen]:
    """Steps 2 and 3: deductible per visit, then the pooled fund's ratio by level; pre-pregnancy
    items (where the region sets their own ratio) apart, without deductible. Each line is written
    from the very values that make the amounts."""
    deductible = terms.deductible.get(patient.insutype)
    ratios = terms.pooling_ratio
    pooled = filed and any(matches(r, visit, terms) for r in terms.pooled_visits)
    base = f"符合范围(孕前检查除外) {y(inscp)}" if prepreg else y(inscp)
    if pooled and deductible is not None and ratios is not None:
        ratio = ratios[patient.insutype][visit.fixmedins.level]
        dedc = min(inscp, deductible)
        general = ratio.of(inscp - dedc)
        kind = INSUTYPE_ZH[patient.insutype]
        explain.append(f"② 起付线:min({base}, 起付标准[{kind}] {y(deductible)}) = {y(dedc)}(deductible)")
        parts = [f"({base} − 起付线 {y(dedc)}) × {ratio} = {y(general)}"
                 f"(pooling_ratio[{kind}][{visit.fixmedins.level}级])"]
    else:
        why = "异地就医未备案" if not filed else "本地区此类就诊无门诊统筹 (pooled_visits)"
        dedc = general = 0
        explain.append(f"② 起付线:0.00({why})")
        parts = [f"0.00({why})"]
    pre_pooled, pre_ratio = 0, terms.prepregnancy_ratio
    if prepreg and filed and pre_ratio is not None:
        pre_pooled = pre_ratio.of(prepreg)
        parts.append(f"孕前检查 {y(prepreg)} × {pre_ratio} = {y(pre_pooled)}"
                     "(prepregnancy_ratio)")
        parts.append(f"合计 {y(general)} + {y(pre_pooled)} = {y(general + pre_pooled)}")
    explain.append("③ 统筹:" + ";".join(parts))
    return dedc, general + pre_pooled


def _refusals(s: Situation, terms: Terms, patient: Person) -> list[str]:
    """Reasons mutual-aid pays nothing at all for this visit (each rule that applies)."""
    visit, found = s.visit, []
    if not any(matches(r, visit, terms) for r in terms.mulaid_scope):
        rx_only = any(matches(r, visit, terms, ignore_rx=True) for r in terms.mulaid_scope)
        found.append("NO_EXTERNAL_RX" if rx_only else "OUT_OF_SCOPE")
    if not terms.cross_province_mulaid and patient.insu_admdvs[:2] != visit.fixmedins.admdvs[:2]:
        found = [c for c in found if c != "OUT_OF_SCOPE"] + ["CROSS_PROVINCE_NO_MULAID"]
    if patient.sanctioned_on(s.date):
        found.append("SANCTIONED")
    if not any(b.beneficiary == patient.psn_no and b.in_force(s.date, terms.unbind_stops_next_day)
               for b in s.bindings):
        found.append("NOT_BOUND")
    return found


def _payers(s: Situation, terms: Terms) -> tuple[list[Person], set[str]]:
    """The holders who may pay for this patient today, highest balance first (ties: earlier
    approval, then psn_no), and the codes of those who may not."""
    approved: dict[str, date] = {}
    for b in s.bindings:
        if b.beneficiary == s.visit.psn_no and b.in_force(s.date, terms.unbind_stops_next_day):
            approved[b.holder] = min(b.approved_on, approved.get(b.holder, b.approved_on))
    payers, skipped = [], set()
    for psn_no in approved:
        h = s.persons[psn_no]
        if h.status != ACTIVE:
            skipped.add("HOLDER_INACTIVE")
        elif h.mulaid_frozen:
            skipped.add("FROZEN")
        elif h.sanctioned_on(s.date):
            skipped.add("SANCTIONED")
        else:
            payers.append(h)
    payers.sort(key=lambda h: (-h.balance, approved[h.psn_no], h.psn_no))
    return payers, skipped


def _mutual_aid(s: Situation, terms: Terms, patient: Person, need: Fen, codes: set[str],
                explain: list[str]) -> list[tuple[str, Fen]]:
    """Step 6: what bound accounts pay, highest balance first, within every cap.

    Each limit (a cap, or the payers' balances and holder caps together) that is tied at the
    lowest value below the need adds its code."""
    refused = _refusals(s, terms, patient)
    if refused:
        codes.update(refused)
        explain.append(f"⑥ 共济:0.00({'、'.join(_REFUSAL_ZH[c] for c in refused)})")
        return []
    payers, skipped = _payers(s, terms)
    caps: dict[str, Fen] = {}
    if terms.settlement_cap is not None:
        caps["CAP_SETTLEMENT"] = terms.settlement_cap
    ben_cap = terms.annual_cap_beneficiary.get(patient.insutype)
    if ben_cap is not None:
        if s.visit.med_type == "14" and terms.chronic_extra_quota is not None \
                and terms.is_chronic(s.visit.dise_codg):
            ben_cap += terms.chronic_extra_quota
        caps["CAP_BENEFICIARY_YEAR"] = max(0, ben_cap - s.mulaid_received.get(patient.psn_no, 0))

    gives = []  # per payer: (person, what it can give, its holder-year cap left or None)
    for h in payers:
        cap_left = None
        if terms.annual_cap_holder is not None:
            cap_left = max(0, terms.annual_cap_holder - s.mulaid_paid.get(h.psn_no, 0))
        gives.append((h, h.balance if cap_left is None else min(h.balance, cap_left), cap_left))
    capacity = sum(g for _, g, _ in gives)
    paid = min(need, capacity, *caps.values())

    if paid < need:
        codes.update(code for code, v in caps.items() if v == paid)
        if capacity == paid:
            for h, _, cap_left in gives:
                if cap_left is not None and cap_left <= h.balance:
                    codes.add("CAP_HOLDER_YEAR")
                if cap_left is None or h.balance <= cap_left:
                    codes.add("BALANCE")
            codes.update(skipped)

    detail, left = [], paid
    for h, give, _ in gives:
        pay = min(left, give)
        if pay > 0:
            detail.append((h.psn_no, pay))
            left -= pay
    explain.append(_mutual_aid_line(s, terms, patient, need, paid, detail, codes))
    return detail


def _mutual_aid_line(s: Situation, terms: Terms, patient: Person, need: Fen, paid: Fen,
                     detail: list[tuple[str, Fen]], codes: set[str]) -> str:
    """Step 6 in words. The patient and the cashier read it: it names the policy's caps by their
    published values and the limits that bit by name, never anyone's balance or remaining quota."""
    limits = []
    if terms.settlement_cap is not None:
        limits.append(f"单次共济上限 {y(terms.settlement_cap)} 元(settlement_cap)")
    ben_cap = terms.annual_cap_beneficiary.get(patient.insutype)
    if ben_cap is not None:
        param = "annual_cap_beneficiary"
        if s.visit.med_type == "14" and terms.chronic_extra_quota is not None \
                and terms.is_chronic(s.visit.dise_codg):
            ben_cap, param = ben_cap + terms.chronic_extra_quota, param + " + chronic_extra_quota"
        limits.append(f"被绑定人年度共济上限 {y(ben_cap)} 元({param})")
    if terms.annual_cap_holder is not None:
        limits.append(f"主账户年度共济上限 {y(terms.annual_cap_holder)} 元(annual_cap_holder)")
    who = "、".join(f"{p} 付 {y(a)}" for p, a in detail) or "无人支付"
    bit = [CODE_ZH[c] for c in CODE_ORDER if c in codes and c in _LIMITS]
    return (f"⑥ 共济:需 {y(need)};{'、'.join(limits) or '无额度上限'} → {y(paid)}({who})"
            + (f";受限于:{'、'.join(bit)}" if bit else ""))


# the codes step 6 adds when mutual-aid pays less than needed
_LIMITS = frozenset({"CAP_SETTLEMENT", "CAP_BENEFICIARY_YEAR", "CAP_HOLDER_YEAR", "BALANCE", "FROZEN",
                     "SANCTIONED", "HOLDER_INACTIVE"})
_REFUSAL_ZH = {
    "OUT_OF_SCOPE": "不在共济支付范围 (mulaid_scope)",
    "NO_EXTERNAL_RX": "药店购药无外配处方 (mulaid_scope)",
    "CROSS_PROVINCE_NO_MULAID": "跨省就医不支持共济 (cross_province_mulaid)",
    "SANCTIONED": "被绑定人处于违规暂停期",
    "NOT_BOUND": "当日无有效绑定",
}


def is_remote(patient: Person, visit: Visit) -> bool:
    return patient.insu_admdvs[:4] != visit.fixmedins.admdvs[:4]


def calculate(s: Situation, terms: Terms) -> Settlement:
    check_amounts(s.visit, terms)
    patient = s.persons[s.visit.psn_no]
    if patient.status == DECEASED:
        raise DomainError("PERSON_DECEASED", f"{patient.psn_no} 已身故,不能结算", "visit.psn_no")
    check_bindings(s, terms)
    visit = s.visit
    codes: set[str] = set()
    explain: list[str] = []

    ownpay, overlmt, preself, inscp, prepreg = _classify(visit, terms, explain)
    total = ownpay + overlmt + preself + inscp + prepreg
    filed = not (terms.remote_filing_required and is_remote(patient, visit)) or any(
        f.psn_no == patient.psn_no and f.covers(visit.fixmedins.admdvs, s.date) for f in s.filings)
    if not filed and preself + inscp + prepreg:
        codes.add("REMOTE_NOT_FILED")
    dedc, hifp = _pooling(visit, patient, terms, inscp, prepreg, filed, explain)
    inscp += prepreg

    payable = inscp - hifp + preself
    explain.append(f"④ 账户可支付部分:符合范围 {y(inscp)} − 统筹 {y(hifp)} + 乙类先行自付 {y(preself)}"
                   f" = {y(payable)}")
    acct = 0
    detail: list[tuple[str, Fen]] = []
    if not filed:
        explain.append("⑤ 本人账户:0.00(异地就医未备案,全部现金,回参保地手工报销 (remote_filing_required))")
        explain.append("⑥ 共济:0.00(异地就医未备案)")
    elif visit.acct_used_flag == "0":
        if payable:
            codes.add("ACCOUNT_NOT_USED")
        explain.append("⑤ 本人账户:0.00(本次不使用个人账户 acct_used_flag=0)")
        explain.append("⑥ 共济:0.00(本次不使用个人账户,也不使用共济)")
    else:
        # the patient's own balance is not written either: the cashier reads this too
        acct = min(payable, patient.balance)
        own = "(居民医保无个人账户)" if patient.insutype == RESIDENT else ""
        explain.append(f"⑤ 本人账户:支付 {y(acct)}{own}")
        if payable > acct:
            detail = _mutual_aid(s, terms, patient, payable - acct, codes, explain)
        else:
            explain.append("⑥ 共济:0.00(本人账户已足额支付)")
    mulaid = sum(a for _, a in detail)
    cash = total - hifp - acct - mulaid
    explain.append(f"⑦ 现金:总额 {y(total)} − 统筹 {y(hifp)} − 本人账户 {y(acct)} − 共济 {y(mulaid)}"
                   f" = {y(cash)}")
    return Settlement(
        medfee_sumamt=total, fulamt_ownpay_amt=ownpay, overlmt_selfpay=overlmt, preselfpay_amt=preself, inscp_scp_amt=inscp,
        act_pay_dedc=dedc, hifp_pay=hifp, acct_pay=acct, acct_mulaid_pay=mulaid, psn_cash_pay=cash,
        mulaid_detail=tuple(detail), codes=tuple(sorted(codes, key=_RANK.__getitem__)),
        explain=tuple(explain),
    )
