"""The visit before it is settled: the person (1101), registration (2201/2202), visit type and
diagnoses (2203), fee lines classified by the catalogue (2204) and withdrawn (2205)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select

from gongji import nhsa_format as f
from gongji.domain import catalog as cat
from gongji.domain.errors import DomainError
from gongji.domain.money import yuan_decimal
from gongji.service import catalog
from gongji.service.common import Ctx, institution, person
from gongji.service.nhsa import people_info
from gongji.service.nhsa.messages import Outcome
from gongji.store import models as m

ALL_UNSETTLED = "0000"


def find_person(uow, ctx: Ctx, q: f.PersonQuery) -> Outcome:
    """1101: by ID card (凭证类型 02, or ``certno``), or by ``psn_no``."""
    s = uow.session
    row = None
    if q.psn_no:
        row = s.get(m.Person, q.psn_no)
    else:
        certno = q.mdtrt_cert_no if q.mdtrt_cert_type == "02" else q.certno
        if not certno:
            why = {"01": "医保电子凭证", "03": "社会保障卡"}.get(q.mdtrt_cert_type, "该凭证")
            raise DomainError("INVALID_INPUT", f"本系统未接入{why}核验,请同时传入身份证号或人员编号",
                              "input.data.certno")
        row = s.scalar(select(m.Person).where(m.Person.certno == certno.upper()))
    if row is None:
        raise DomainError("UNKNOWN_PERSON", "查无此参保人,请核对证件号码", "input.data")
    return Outcome(people_info.person_output(s, row, ctx.day))


def _visit(uow, fixmedins: str, mdtrt_id: str, psn_no: str, field: str = "mdtrt_id") -> m.NhsaVisit:
    """The institution's visit; a writer holds its row (PostgreSQL ``FOR UPDATE``) until commit, so
    a 2204 adding lines and a 2207 settling the batch never interleave (SQLite writers already
    run one at a time)."""
    pk = m.visit_pk(mdtrt_id)
    v = None
    if pk is not None:
        q = select(m.NhsaVisit).where(m.NhsaVisit.id == pk).execution_options(populate_existing=True)
        if uow.write and not uow.sqlite:
            q = q.with_for_update()
        v = uow.session.scalar(q)
    if v is None or v.fixmedins != fixmedins or (psn_no and v.psn_no != psn_no):
        raise DomainError("UNKNOWN_VISIT", f"本机构无此就诊 {mdtrt_id}", field)
    return v


PHARMACY = "41"  # a purchase's visit, made by 2102 itself: the outpatient transactions leave it alone


def open_visit(uow, fixmedins: str, mdtrt_id: str, psn_no: str, field: str = "mdtrt_id",
               pharmacy: bool = False) -> m.NhsaVisit:
    v = _visit(uow, fixmedins, mdtrt_id, psn_no, field)
    if v.state != "registered":
        raise DomainError("VISIT_CANCELLED", f"就诊 {mdtrt_id} 已撤销挂号", field)
    if (v.med_type == PHARMACY) != pharmacy:
        which = "药店购药,请使用 2101/2102/2103" if v.med_type == PHARMACY else "门诊就诊,不是药店购药"
        raise DomainError("INVALID_INPUT", f"就诊 {mdtrt_id} 是{which}", field)
    return v


def register(uow, ctx: Ctx, fixmedins: str, r: f.Registration, when: datetime) -> Outcome:
    """2201: a visit with gongji's ``mdtrt_id``. The same outpatient number of the same person
    again (a HIS retrying after a timeout with a new msgid) gets the visit already open."""
    s = uow.session
    institution(s, fixmedins, "fixmedins_code")
    p = person(s, r.psn_no, "input.data.psn_no")
    if r.insutype != p.insutype:
        raise DomainError("INVALID_INPUT", f"险种类型 {r.insutype} 与参保人的险种 {p.insutype} 不符", "input.data.insutype")
    if r.mdtrt_cert_type == "02" and p.certno and r.mdtrt_cert_no.upper() != p.certno:
        raise DomainError("INVALID_INPUT", "就诊凭证(身份证号)与参保人不符", "input.data.mdtrt_cert_no")
    same = s.scalar(select(m.NhsaVisit).where(
        m.NhsaVisit.fixmedins == fixmedins, m.NhsaVisit.ipt_otp_no == r.ipt_otp_no,
        m.NhsaVisit.state == "registered"))
    if same is not None:
        if same.psn_no != r.psn_no:
            raise DomainError("INVALID_INPUT", f"门诊号 {r.ipt_otp_no} 已用于另一参保人的就诊", "input.data.ipt_otp_no")
        return Outcome(_registered(same), "该门诊号已挂号,返回原就诊ID")
    v = m.NhsaVisit(fixmedins=fixmedins, psn_no=p.psn_no, insutype=r.insutype,
                    mdtrt_cert_type=r.mdtrt_cert_type or "02", ipt_otp_no=r.ipt_otp_no,
                    begntime=r.begntime or when, dept_name=r.dept_name, dr_name=r.dr_name, diagnoses=[])
    s.add(v)
    s.flush()
    return Outcome(_registered(v))


def _registered(v: m.NhsaVisit) -> dict:
    return {"data": {"mdtrt_id": v.mdtrt_id, "psn_no": v.psn_no, "ipt_otp_no": v.ipt_otp_no, "exp_content": None}}


def cancel_registration(uow, ctx: Ctx, fixmedins: str, k: f.VisitKey) -> Outcome:
    """2202: only a visit with nothing settled; its unsettled lines are withdrawn with it."""
    v = _visit(uow, fixmedins, k.mdtrt_id, k.psn_no, "input.data.mdtrt_id")
    if v.med_type == PHARMACY:
        raise DomainError("INVALID_INPUT", f"就诊 {k.mdtrt_id} 是药店购药,请使用 2103 撤销", "input.data.mdtrt_id")
    if v.state == "cancelled":
        return Outcome({}, "该就诊已撤销挂号")
    settled = uow.session.scalar(select(m.NhsaFeeLine.chrg_bchno).where(
        m.NhsaFeeLine.visit_id == v.id, m.NhsaFeeLine.state == "settled").limit(1))
    if settled is not None:
        raise DomainError("VISIT_SETTLED", f"收费批次 {settled} 已结算,请先撤销结算(2208)再撤销挂号", "input.data.mdtrt_id")
    _withdraw(uow, v, None)
    v.state = "cancelled"
    return Outcome({})


def describe(uow, ctx: Ctx, fixmedins: str, info: f.VisitInfo, diagnoses: list[f.Diagnosis]) -> Outcome:
    """2203: the visit type and diagnoses; the main one (排序号 1, or 主诊断标志 1) is what the
    chronic-disease rules read. Sent again, it replaces the earlier one."""
    v = open_visit(uow, fixmedins, info.mdtrt_id, info.psn_no, "input.mdtrtinfo.mdtrt_id")
    if info.med_type == PHARMACY:
        raise DomainError("INVALID_INPUT", "医疗类别 41(定点药店购药)请使用药店结算交易 2101/2102", "input.mdtrtinfo.med_type")
    valid = [d for d in diagnoses if d.vali_flag != "0"]
    main = next((d for d in valid if d.maindiag_flag == "1"), None) or \
        next((d for d in valid if d.diag_srt_no.lstrip("0") == "1"), None) or (valid[0] if valid else None)
    v.med_type = info.med_type
    v.dise_codg = info.dise_codg or None
    v.main_diag = main.diag_code if main else None
    v.diagnoses = [{"diag_type": d.diag_type, "diag_srt_no": d.diag_srt_no, "diag_code": d.diag_code,
                    "diag_name": d.diag_name} for d in valid]
    return Outcome({})


def upload(uow, ctx: Ctx, fixmedins: str, lines: list[f.FeeLine], when: datetime) -> Outcome:
    """2204: every line classified by the catalogue in force on its ``fee_ocur_time`` for the
    patient's region, or the whole message refused naming the line."""
    s = uow.session
    first = lines[0]
    v = open_visit(uow, fixmedins, first.mdtrt_id, first.psn_no, "input.feedetail[0].mdtrt_id")
    patient = s.get_one(m.Person, v.psn_no)
    live = list(s.scalars(select(m.NhsaFeeLine).where(m.NhsaFeeLine.visit_id == v.id,
                                                      m.NhsaFeeLine.state != "withdrawn")))
    # a line number may come again once its batch is cancelled; the batch number may not
    existing = {ln.feedetl_sn: ln for ln in live if ln.state in ("unsettled", "settled")}
    closed = {ln.chrg_bchno for ln in live if ln.state != "unsettled"}

    def belongs(i: int, ln: f.LineBase) -> None:
        assert isinstance(ln, f.FeeLine)
        where = f"input.feedetail[{i}]"
        if ln.mdtrt_id != v.mdtrt_id or (ln.psn_no and ln.psn_no != v.psn_no):
            raise DomainError("INVALID_INPUT", f"明细 {ln.feedetl_sn} 的就诊ID或人员编号与第一条不同", where)
        if ln.chrg_bchno in closed:
            raise DomainError("BATCH_SETTLED", f"收费批次 {ln.chrg_bchno} 已结算或已撤销,请使用新的收费批次号",
                              f"{where}.chrg_bchno")

    out = []
    for i, (row, memo) in enumerate(classify(s, ctx, patient, v.id, lines, when, "input.feedetail", belongs)):
        old = existing.get(row.feedetl_sn)
        if old is not None:
            if old.state == "settled":
                raise DomainError("INVALID_INPUT", f"明细流水号 {row.feedetl_sn} 属于已结算的收费批次 {old.chrg_bchno},"
                                  "请为新的明细使用新的明细流水号", f"input.feedetail[{i}].feedetl_sn")
            if (old.chrg_bchno, old.med_list_codg, old.amount) != (row.chrg_bchno, row.med_list_codg, row.amount):
                raise DomainError("INVALID_INPUT", f"明细流水号 {row.feedetl_sn} 已上传且内容不同;请先撤销(2205)",
                                  f"input.feedetail[{i}].feedetl_sn")
            out.append(line_result(old))
            continue
        s.add(row)
        out.append(line_result(row, memo))
    s.flush()
    return Outcome({"result": out})


def classify(s, ctx: Ctx, patient: m.Person, visit_id: int | None, lines: Sequence[f.LineBase], when: datetime,
             node: str, check: Callable[[int, f.LineBase], None] | None = None,
             chrg_bchno: str = "", rx_circ_flag: str = "") -> list[tuple[m.NhsaFeeLine, str]]:
    """The lines of a message as fee-line rows, each classified by the catalogue in force on its
    ``fee_ocur_time`` for the patient's region (the 2204 result's fields), with the reason a part
    is self-paid; or the whole message refused naming the first bad line. ``check`` runs first on
    each line (what the caller adds); the rows are not added to the session. ``chrg_bchno`` and
    ``rx_circ_flag`` apply to lines that carry none (the pharmacy's drug lines)."""
    terms = ctx.registry.find(patient.insu_admdvs).at(ctx.day)
    days = {ln.fee_ocur_time.date() if ln.fee_ocur_time else ctx.day for ln in lines}
    entries = {day: catalog.lookup(s, {ln.med_list_codg for ln in lines}, patient.insu_admdvs, day) for day in days}
    seen: set[str] = set()
    out = []
    for i, ln in enumerate(lines):
        where = f"{node}[{i}]"
        if check is not None:
            check(i, ln)
        if ln.feedetl_sn in seen:
            raise DomainError("INVALID_INPUT", f"明细流水号 {ln.feedetl_sn} 在本报文中重复", f"{where}.feedetl_sn")
        seen.add(ln.feedetl_sn)
        if ln.cnt is None or ln.pric is None or ln.det_item_fee_sumamt is None:
            raise DomainError("INVALID_INPUT", f"明细 {ln.feedetl_sn} 缺少数量、单价或金额", where)
        if ln.det_item_fee_sumamt != cat.line_total(ln.cnt, ln.pric):
            raise DomainError("INVALID_INPUT", f"明细 {ln.feedetl_sn} 金额 {yuan_decimal(ln.det_item_fee_sumamt)} ≠ "
                              f"数量 {ln.cnt} × 单价 {ln.pric}(四舍五入到分)", f"{where}.det_item_fee_sumamt")
        day = ln.fee_ocur_time.date() if ln.fee_ocur_time else ctx.day
        entry = entries[day].get(ln.med_list_codg)
        if entry is None:
            raise DomainError("UNKNOWN_CATALOG_CODE", f"明细 {ln.feedetl_sn} 的医保目录编码 {ln.med_list_codg} "
                              f"在 {day} 的医保目录中不存在,整批未上传", f"{where}.med_list_codg")
        split = cat.split(entry, ln.cnt, ln.pric, ln.det_item_fee_sumamt, ln.hosp_appr_flag or "0",
                          terms.out_of_scope_categories)
        row = m.NhsaFeeLine(
            visit_id=visit_id, feedetl_sn=ln.feedetl_sn, chrg_bchno=getattr(ln, "chrg_bchno", "") or chrg_bchno,
            med_list_codg=ln.med_list_codg, medins_list_codg=ln.medins_list_codg, name=entry.name,
            fee_ocur_time=ln.fee_ocur_time or when, cnt=format(ln.cnt, "f"), pric=format(ln.pric, "f"),
            amount=ln.det_item_fee_sumamt, rx_circ_flag="1" if "1" in (ln.rx_circ_flag, rx_circ_flag) else "0",
            chrgitm_lv=entry.chrgitm_lv, med_chrgitm_type=entry.med_chrgitm_type, category=entry.category,
            selfpay_prop=format(entry.selfpay_prop, "f"),
            pric_uplmt_amt=None if entry.pric_uplmt_amt is None else int(entry.pric_uplmt_amt * 10**6),
            lmt_used_flag=entry.lmt_used_flag, fulamt_ownpay_amt=split.fulamt_ownpay, overlmt_amt=split.overlmt,
            preselfpay_amt=split.preselfpay, inscp_scp_amt=split.inscp, state="unsettled")
        out.append((row, split.self_paid_why))
    return out


UNCAPPED = "999999"


def line_result(ln: m.NhsaFeeLine, memo: str = "") -> dict:
    """A line as 2204 answers it: the 20 result fields."""
    cap = UNCAPPED if ln.pric_uplmt_amt is None else ln.pric_uplmt_amt
    from decimal import Decimal
    return {
        "feedetl_sn": ln.feedetl_sn, "det_item_fee_sumamt": yuan_decimal(ln.amount), "cnt": Decimal(ln.cnt),
        "pric": Decimal(ln.pric),
        "pric_uplmt_amt": Decimal(cap) if isinstance(cap, str) else Decimal(cap).scaleb(-6).normalize(),
        "selfpay_prop": Decimal(ln.selfpay_prop), "fulamt_ownpay_amt": yuan_decimal(ln.fulamt_ownpay_amt),
        "overlmt_amt": yuan_decimal(ln.overlmt_amt), "preselfpay_amt": yuan_decimal(ln.preselfpay_amt),
        "inscp_scp_amt": yuan_decimal(ln.inscp_scp_amt), "chrgitm_lv": ln.chrgitm_lv,
        "med_chrgitm_type": ln.med_chrgitm_type, "bas_medn_flag": "0", "hi_nego_drug_flag": "0",
        "chld_medc_flag": "0", "list_sp_item_flag": "0", "lmt_used_flag": ln.lmt_used_flag, "drt_reim_flag": "0",
        "memo": memo or None, "exp_content": None,
    }


def withdraw(uow, ctx: Ctx, fixmedins: str, k: f.BatchKey) -> Outcome:
    """2205: one batch's unsettled lines, or with ``0000`` every unsettled line of the visit."""
    v = open_visit(uow, fixmedins, k.mdtrt_id, k.psn_no, "input.data.mdtrt_id")
    if k.chrg_bchno != ALL_UNSETTLED:
        settled = uow.session.scalar(select(m.NhsaFeeLine.id).where(
            m.NhsaFeeLine.visit_id == v.id, m.NhsaFeeLine.chrg_bchno == k.chrg_bchno,
            m.NhsaFeeLine.state.in_(("settled", "cancelled"))).limit(1))
        if settled is not None:
            raise DomainError("BATCH_SETTLED", f"收费批次 {k.chrg_bchno} 已结算,不能撤销明细;请先撤销结算(2208)",
                              "input.data.chrg_bchno")
    n = _withdraw(uow, v, None if k.chrg_bchno == ALL_UNSETTLED else k.chrg_bchno)
    return Outcome({}, None if n else "没有可撤销的未结算明细")


def _withdraw(uow, v: m.NhsaVisit, batch: str | None) -> int:
    q = select(m.NhsaFeeLine).where(m.NhsaFeeLine.visit_id == v.id, m.NhsaFeeLine.state == "unsettled")
    if batch is not None:
        q = q.where(m.NhsaFeeLine.chrg_bchno == batch)
    rows = list(uow.session.scalars(q))
    for row in rows:
        row.state = "withdrawn"
    return len(rows)
