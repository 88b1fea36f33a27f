"""Reading settlements back: 5203 (one settlement, by ``setl_id`` or, gongji's extension, by
``mdtrt_id``) and 3201 (the institution's totals over a date range against the HIS's own).
Read-only: nothing here writes."""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, func, select

from gongji import nhsa_format as f
from gongji.domain.errors import DomainError
from gongji.domain.money import Fen, yuan_decimal
from gongji.service.common import Ctx
from gongji.service.nhsa import records
from gongji.service.nhsa import settle as st
from gongji.service.nhsa.messages import Outcome
from gongji.store import models as m

# 3201 clr_type → the settlements' med_type (the calculation's: 11 general outpatient, 14 chronic, 41 pharmacy)
CLR_MED_TYPES = {"11": ("11", "14"), "41": ("41",)}


def find_settlement(uow, ctx: Ctx, fixmedins: str, q: f.SettlementQuery) -> Outcome:
    """5203: the settlement's 61-field record (the 41 of 2207, ``psn_part_amt`` as ``psn_pay``,
    ``psn_cash_pay`` as ``cash_payamt``, no ``hosp_part_amt``, and what only 5203 carries), with
    its ``setldetail`` and gongji's ``exp_content``. Amounts as settled, also when cancelled
    (``refd_setl_flag`` 1)."""
    s = uow.session
    if q.setl_id:
        row = st._own_settlement(uow, fixmedins, q.setl_id, q.psn_no, q.mdtrt_id)
    elif q.mdtrt_id:
        where = [m.Settlement.fixmedins == fixmedins, m.Settlement.mdtrt_id == q.mdtrt_id]
        if q.psn_no:
            where.append(m.Settlement.psn_no == q.psn_no)
        valid_first = case((m.Settlement.state == "settled", 0), else_=1)
        found = s.scalar(select(m.Settlement).where(*where).order_by(valid_first, m.Settlement.id.desc()).limit(1))
        if found is None:
            raise DomainError("UNKNOWN_SETTLEMENT", f"本机构无此参保人的结算(就诊ID {q.mdtrt_id})", "input.data.mdtrt_id")
        row = found
    else:
        raise DomainError("INVALID_INPUT", "请传入结算ID或就诊ID", "input.data.setl_id")
    if row.channel != "direct":  # a manual reimbursement is the agency's, not a settlement the institution made
        raise DomainError("UNKNOWN_SETTLEMENT", f"本机构无此参保人的结算 {q.setl_id or q.mdtrt_id}", "input.data.setl_id")
    v = st._visit_of(uow, row)
    rec = st.record(uow, ctx, row, v)
    inst = s.get_one(m.Institution, row.fixmedins)
    p = s.get_one(m.Person, row.psn_no)
    day = v.begntime.date() if v is not None else row.setl_date
    info = rec["setlinfo"]
    more = {
        "flxempe_flag": None, "nwb_flag": None, "insu_optins": p.insu_admdvs, "emp_name": None,
        "pay_loc": records.PAY_LOC, "fixmedins_code": inst.code, "fixmedins_name": inst.name or inst.code,
        "hosp_lv": None, "fixmedins_poolarea": inst.admdvs, "lmtpric_hosp_lv": None, "dedc_hosp_lv": None,
        "begndate": day.isoformat(), "enddate": day.isoformat(),
        "refd_setl_flag": "0" if row.state == "settled" else "1", "year": str(row.setl_date.year),
        "dise_codg": row.dise_codg, "dise_name": _dise_name(v, row.dise_codg), "invono": None,
        "opter_id": None, "opter_name": None, "opt_time": info["setl_time"],
    }
    return Outcome({"setlinfo": records.query_setlinfo(info, more), "setldetail": rec["setldetail"],
                    "exp_content": rec["exp_content"]})


def _dise_name(v: m.NhsaVisit | None, code: str | None) -> str | None:
    if v is None or not code:
        return None
    return next((d.get("diag_name") or None for d in v.diagnoses or [] if d.get("diag_code") == code), None)


def reconcile(uow, ctx: Ctx, fixmedins: str, t: f.Totals) -> Outcome:
    """3201: the institution's valid direct settlements dated in [stmt_begndate, stmt_enddate] of
    patients of ``insutype`` (and of clearing agency ``setl_optins`` when given), of the clearing
    category, summed in one query and compared with the HIS's four figures. ``acct_pay`` is the
    patient's own account only: the mutual-aid (``acct_mulaid_pay``) is not in it."""
    med_types = CLR_MED_TYPES.get(t.clr_type)
    if med_types is None:
        raise DomainError("INVALID_INPUT", f"清算类别 {t.clr_type} 本系统无结算(只有 11 门诊、41 药店购药)",
                          "input.data.clr_type")
    if t.stmt_begndate is None or t.stmt_enddate is None:
        raise DomainError("INVALID_INPUT", "对账开始日期和结束日期必填", "input.data.stmt_begndate")
    if t.stmt_begndate > t.stmt_enddate:
        raise DomainError("INVALID_INPUT", "对账开始日期晚于结束日期", "input.data.stmt_begndate")
    S, P = m.Settlement, m.Person  # noqa: N806
    q = (select(func.count(S.id), func.coalesce(func.sum(S.medfee_sumamt), 0), func.coalesce(func.sum(S.hifp_pay), 0),
                func.coalesce(func.sum(S.acct_pay), 0))
         .select_from(S).join(P, P.psn_no == S.psn_no)
         .where(S.fixmedins == fixmedins, S.setl_date.between(t.stmt_begndate, t.stmt_enddate),
                S.channel == "direct", S.state == "settled", S.med_type.in_(med_types), P.insutype == t.insutype))
    if t.setl_optins:
        q = q.where(P.insu_admdvs == t.setl_optins)
    count, fee, fund, acct = uow.session.execute(q).one()
    ours = {"medfee_sumamt": int(fee), "fund_pay_sumamt": int(fund), "acct_pay": int(acct)}
    theirs = {"medfee_sumamt": t.medfee_sumamt or 0, "fund_pay_sumamt": t.fund_pay_sumamt or 0,
              "acct_pay": t.acct_pay or 0}
    differ = [k for k in ours if ours[k] != theirs[k]]
    count_differs = int(count) != t.fixmedins_setl_cnt
    return Outcome({"stmtinfo": {
        "setl_optins": t.setl_optins, "stmt_rslt": "1" if differ or count_differs else "0",
        "stmt_rslt_dscr": _describe(t.stmt_begndate, t.stmt_enddate, ours, theirs, differ, int(count),
                                    t.fixmedins_setl_cnt if count_differs else None)}})


TOTALS_ZH = {"medfee_sumamt": "医疗费总额", "fund_pay_sumamt": "基金支付总额", "acct_pay": "个人账户支付"}


def _describe(begin: date, end: date, ours: dict[str, Fen], theirs: dict[str, Fen], differ: list[str],
              count: int, their_count: int | None) -> str:
    """One sentence: gongji's four figures, then which differ (with the HIS's figure), ≤ 200 characters."""
    figures = ",".join(f"{TOTALS_ZH[k]} {yuan_decimal(v)} 元" for k, v in ours.items())
    text = f"本系统 {begin} 至 {end}:{figures},结算 {count} 笔"
    wrong = [f"{TOTALS_ZH[k]}(贵方 {yuan_decimal(theirs[k])})" for k in differ]
    if their_count is not None:
        wrong.append(f"结算笔数(贵方 {their_count})")
    text += f";不符:{'、'.join(wrong)}" if wrong else ";四项相符,平帐"
    return text[:200]
