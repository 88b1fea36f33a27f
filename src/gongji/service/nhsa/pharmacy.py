"""A pharmacy purchase (药店购药, ``med_type`` 41): 2101 previews it, 2102 settles it, 2103
cancels it. No registration, visit information or fee upload precedes it: the header
(``druginfo``) and the drug lines (``drugdetail``) come in the settling message itself. 2102 makes
the visit and its lines in its own transaction, classified by the catalogue as 2204 classifies
them, and settles them as 2207 settles a batch; 2101 computes the same without storing anything.

The purchase is named by the pharmacy's invoice number (``invono``) when it sends one, else by
the message's msgid: it becomes the visit's ``ipt_otp_no`` and its lines' ``chrg_bchno``, so a
2102 retried with a new msgid for the same invoice answers the settlement already made."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from gongji import nhsa_format as f
from gongji.domain.errors import DomainError
from gongji.service.common import Ctx, institution, person
from gongji.service.nhsa import settle as st
from gongji.service.nhsa.messages import Outcome
from gongji.service.nhsa.visits import classify
from gongji.store import models as m

KEY_LEN = 30  # ipt_otp_no, chrg_bchno and medins_setl_id are C(30)


def purchase_no(x: f.In2101, msgid: str) -> str:
    no = x.druginfo.invono or msgid
    if len(no) > KEY_LEN:
        raise DomainError("INVALID_INPUT", f"报文ID {msgid} 超过 {KEY_LEN} 位,且未传发票号,无法标识本次购药",
                          "input.druginfo.invono")
    return no


def _checked(uow, ctx: Ctx, fixmedins: str, h: f.DrugInfo) -> tuple[m.Person, str]:
    s = uow.session
    institution(s, fixmedins, "fixmedins_code")
    p = person(s, h.psn_no, "input.druginfo.psn_no")
    if h.insutype != p.insutype:
        raise DomainError("INVALID_INPUT", f"险种类型 {h.insutype} 与参保人的险种 {p.insutype} 不符",
                          "input.druginfo.insutype")
    if h.mdtrt_cert_type == "02" and h.mdtrt_cert_no and p.certno and h.mdtrt_cert_no.upper() != p.certno:
        raise DomainError("INVALID_INPUT", "就诊凭证(身份证号)与参保人不符", "input.druginfo.mdtrt_cert_no")
    try:
        med_type = st.calc_med_type(ctx, p.insu_admdvs, h.med_type, pharmacy=True)
    except DomainError as e:
        raise DomainError(e.code, e.message, "input.druginfo.med_type") from None
    return p, med_type


def _earlier(uow, ctx: Ctx, fixmedins: str, no: str, p: m.Person) -> Outcome | None:
    """The answer of an earlier 2102 (another msgid) that settled this purchase, with a warning."""
    v = uow.session.scalar(select(m.NhsaVisit).where(
        m.NhsaVisit.fixmedins == fixmedins, m.NhsaVisit.ipt_otp_no == no, m.NhsaVisit.med_type == st.PHARMACY)
        .order_by(m.NhsaVisit.id.desc()).limit(1))
    if v is None:
        return None
    if v.psn_no != p.psn_no:
        raise DomainError("INVALID_INPUT", f"发票号 {no} 已用于另一参保人的购药", "input.druginfo.invono")
    row = st._existing(uow, fixmedins, v, no)
    return None if row is None else st._answer_existing(uow, ctx, row, v)


def _settle_data(h: f.DrugInfo, mdtrt_id: str, no: str) -> f.SettleData:
    """The header as 2206/2207's ``data`` (amounts already in fen: not validated again)."""
    return f.SettleData.model_construct(
        psn_no=h.psn_no, mdtrt_cert_type=h.mdtrt_cert_type, mdtrt_cert_no=h.mdtrt_cert_no, med_type=h.med_type,
        medfee_sumamt=h.medfee_sumamt, psn_setlway=h.psn_setlway or "01", mdtrt_id=mdtrt_id, chrg_bchno=no,
        acct_used_flag=h.acct_used_flag or "1", insutype=h.insutype, invono=h.invono)


def _visit(fixmedins: str, h: f.DrugInfo, p: m.Person, no: str, when: datetime) -> m.NhsaVisit:
    return m.NhsaVisit(fixmedins=fixmedins, psn_no=p.psn_no, insutype=h.insutype,
                       mdtrt_cert_type=h.mdtrt_cert_type or "02", ipt_otp_no=no, begntime=h.begntime or when,
                       dept_name="", dr_name="", med_type=st.PHARMACY, dise_codg=h.dise_codg or None,
                       main_diag=h.dise_codg or None, diagnoses=[], state="registered")


def _lines(uow, ctx: Ctx, p: m.Person, visit_id: int | None, x: f.In2101, no: str,
           when: datetime) -> list[m.NhsaFeeLine]:
    return [row for row, _ in classify(uow.session, ctx, p, visit_id, x.drugdetail, when, "input.drugdetail",
                                       chrg_bchno=no, rx_circ_flag=x.druginfo.rx_circ_flag)]


def preview(uow, ctx: Ctx, fixmedins: str, msgid: str, x: f.In2101, when: datetime) -> Outcome:
    """2101: what 2102 would settle; nothing stored (the visit and lines stay out of the session).
    A purchase already settled answers that settlement, as 2206 does."""
    h = x.druginfo
    p, med_type = _checked(uow, ctx, fixmedins, h)
    no = purchase_no(x, msgid)
    earlier = _earlier(uow, ctx, fixmedins, no, p)
    if earlier is not None:
        return earlier
    v = _visit(fixmedins, h, p, no, when)
    lines = _lines(uow, ctx, p, None, x, no, when)
    return st.previewed(uow, ctx, fixmedins, msgid, _settle_data(h, "", no), v, p, med_type, lines, None)


def settle(uow, ctx: Ctx, fixmedins: str, msgid: str, x: f.In2101, when: datetime) -> Outcome:
    """2102: the visit and its lines made, then settled as 2207 settles a batch (one valid
    settlement per purchase, ``medins_setl_id`` = this msgid, ``clr_type`` 41)."""
    h = x.druginfo
    p, _ = _checked(uow, ctx, fixmedins, h)
    no = purchase_no(x, msgid)
    uow.lock([p.psn_no])  # two 2102s of one purchase at once: the second waits, then finds the first's
    earlier = _earlier(uow, ctx, fixmedins, no, p)
    if earlier is not None:
        return earlier
    s = uow.session
    v = _visit(fixmedins, h, p, no, when)
    s.add(v)
    s.flush()
    s.add_all(_lines(uow, ctx, p, v.id, x, no, when))
    s.flush()
    return st.settle(uow, ctx, fixmedins, msgid, _settle_data(h, v.mdtrt_id, no), when, pharmacy=True)
