"""The settlement record as the platform returns it: ``setlinfo`` (41 fields; 64 for 5203) and
``setldetail`` (one row per fund that paid). Built from the amounts of a calculation or of a
stored settlement; the mutual-aid is kept apart from the patient's own account."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from gongji.domain.money import Fen, yuan_decimal
from gongji.service.nhsa.people_info import person_fields
from gongji.store import models as m

POOL_FUND = {"310": ("310100", "城镇职工基本医疗保险统筹基金"), "390": ("390100", "城乡居民基本医疗保险基金")}
OWN_ACCOUNT = ("310200", "城镇职工基本医疗保险个人账户基金")
# gongji's own code for the family mutual-aid (共济) paid from bound accounts: no national code is
# published for it; it sits beside 310200 and outside fund_pay_sumamt (docs/nhsa.md)
MUTUAL_AID = ("310202", "职工医保个人账户家庭共济支付")
OTHER_FUNDS = ("cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay")
CLR_WAY = "01"  # 按项目


def stamp(t: datetime | None) -> str | None:
    return t.strftime("%Y-%m-%d %H:%M:%S") if t else None


def ratio_decimal(num: int, den: int) -> Decimal:
    return (Decimal(num) / Decimal(den)).quantize(Decimal("0.0001"))


def setlinfo(r: Any, *, p: m.Person, visit: m.NhsaVisit | None, med_type: str, mdtrt_id: str | None,
             setl_id: str | None, setl_time: datetime | None, medins_setl_id: str, balc: Fen,
             pool_ratio: Decimal, day: date, clr_type: str = "11", sign: int = 1) -> dict:
    """The 41 fields, in the spec's order. ``r`` has the amounts in fen (a calculation or a row);
    ``sign`` −1 makes the cancellation record (amounts negated)."""
    def y(fen: Fen) -> Decimal:
        return yuan_decimal(sign * fen)

    person = person_fields(p, day)
    psn_part = r.acct_pay + r.acct_mulaid_pay + r.psn_cash_pay
    return {
        "mdtrt_id": mdtrt_id, "setl_id": setl_id, **person,
        "setl_time": stamp(setl_time), "mdtrt_cert_type": visit.mdtrt_cert_type if visit else "02",
        "med_type": med_type, "medfee_sumamt": y(r.medfee_sumamt), "fulamt_ownpay_amt": y(r.fulamt_ownpay_amt),
        "overlmt_selfpay": y(r.overlmt_selfpay), "preselfpay_amt": y(r.preselfpay_amt),
        "inscp_scp_amt": y(r.inscp_scp_amt), "act_pay_dedc": y(r.act_pay_dedc), "hifp_pay": y(r.hifp_pay),
        "pool_prop_selfpay": pool_ratio if r.hifp_pay else Decimal("0.0000"),
        **{k: y(0) for k in OTHER_FUNDS},
        "fund_pay_sumamt": y(r.hifp_pay), "psn_part_amt": y(psn_part), "acct_pay": y(r.acct_pay),
        "psn_cash_pay": y(r.psn_cash_pay), "hosp_part_amt": y(0), "balc": yuan_decimal(balc),
        "acct_mulaid_pay": y(r.acct_mulaid_pay), "medins_setl_id": medins_setl_id,
        "clr_optins": p.insu_admdvs, "clr_way": CLR_WAY, "clr_type": clr_type,
    }


def setldetail(r: Any, insutype: str, sign: int = 1) -> list[dict]:
    """One row per fund that paid: the pooled fund, the patient's own account, the mutual-aid."""
    rows = []
    for (code, name), amount, scope in ((POOL_FUND.get(insutype, POOL_FUND["310"]), r.hifp_pay, r.inscp_scp_amt),
                                        (OWN_ACCOUNT, r.acct_pay, r.inscp_scp_amt),
                                        (MUTUAL_AID, r.acct_mulaid_pay, r.inscp_scp_amt)):
        if amount:
            rows.append({"fund_pay_type": code, "inscp_scp_amt": yuan_decimal(sign * scope),
                         "crt_payb_lmt_amt": None, "fund_payamt": yuan_decimal(sign * amount),
                         "fund_pay_type_name": name, "setl_proc_info": None})
    return rows


def extension(r: Any, detail: list[tuple[str, Fen]]) -> dict:
    """gongji's own explanation: the codes, the steps in words, who paid the mutual-aid (never a
    balance of anyone but the patient)."""
    return {"codes": list(r.codes), "explain": list(r.explain),
            "mulaid_detail": [{"holder": h, "amount": yuan_decimal(a)} for h, a in detail]}


# 5203's setlinfo, in the order of its field list: the person's and the settlement's fields of the
# 41-field record, two of them under other names, and what only 5203 carries (no hosp_part_amt)
QUERY_FIELDS = (
    "setl_id", "mdtrt_id", "psn_no", "psn_name", "psn_cert_type", "certno", "gend", "naty", "brdy", "age",
    "insutype", "psn_type", "cvlserv_flag", "flxempe_flag", "nwb_flag", "insu_optins", "emp_name", "pay_loc",
    "fixmedins_code", "fixmedins_name", "hosp_lv", "fixmedins_poolarea", "lmtpric_hosp_lv", "dedc_hosp_lv",
    "begndate", "enddate", "setl_time", "mdtrt_cert_type", "med_type", "clr_type", "clr_way", "clr_optins",
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
    "hifp_pay", "pool_prop_selfpay", *OTHER_FUNDS, "fund_pay_sumamt", "psn_pay", "acct_pay", "cash_payamt",
    "balc", "acct_mulaid_pay", "medins_setl_id", "refd_setl_flag", "year", "dise_codg", "dise_name", "invono",
    "opter_id", "opter_name", "opt_time",
)
QUERY_NAMES = {"psn_part_amt": "psn_pay", "psn_cash_pay": "cash_payamt"}
PAY_LOC = "2"  # 医疗机构: settled at the counter


def query_setlinfo(info: dict, more: dict) -> dict:
    """5203's record from the 41-field one (``info``) and the fields only 5203 has (``more``)."""
    renamed = {QUERY_NAMES.get(k, k): v for k, v in info.items()}
    merged = renamed | more
    return {k: merged.get(k) for k in QUERY_FIELDS}
