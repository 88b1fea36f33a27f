"""Settling a charge batch (2206 preview, 2207 settle), cancelling it (2208), and reversing a
message whose answer the HIS lost (2601). Exactly once: one valid settlement per (visit, batch)
whatever the msgid, kept in the settlement's idempotency key; 2207's lines are settled in the same
transaction as the ledger entry and the stored reply."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from gongji import nhsa_format as f
from gongji.calc_format import ItemIn
from gongji.domain.errors import DomainError
from gongji.domain.money import format_yuan
from gongji.domain.settlement import calculate
from gongji.service import ledger, settle_batch, settlements
from gongji.service.commands import VisitRef
from gongji.service.common import Ctx
from gongji.service.nhsa import records
from gongji.service.nhsa.messages import Outcome
from gongji.service.nhsa.visits import open_visit
from gongji.store import models as m

PHARMACY = "41"


def calc_med_type(ctx: Ctx, region: str, med_type: str, pharmacy: bool = False) -> str:
    """The calculation's visit type for a national ``med_type``: 14 chronic, 41 pharmacy (2101/
    2102 only), and the region's general-outpatient types (11, 12, 13 unless its file says
    otherwise) as 11. Anything else is refused by name."""
    if pharmacy:
        if med_type != PHARMACY:
            raise DomainError("MED_TYPE_NOT_SETTLED", f"药店结算(2101/2102)只结算医疗类别 41,不结算 {med_type}",
                              "input.data.med_type")
        return PHARMACY
    if med_type == "14":
        return "14"
    general = ctx.registry.find(region).value("general_outpatient_med_types", ctx.day)
    if med_type in general:
        return "11"
    where = "请使用药店结算交易 2101/2102" if med_type == PHARMACY else "本系统只结算门诊(普通门诊、门诊慢特病)"
    raise DomainError("MED_TYPE_NOT_SETTLED", f"医疗类别 {med_type} 不能在门诊结算(2206/2207)中结算;{where}",
                      "input.data.med_type")


def key_of(mdtrt_id: str, chrg_bchno: str) -> str:
    return f"nhsa:{mdtrt_id}:{chrg_bchno}"


def _batch(uow, ctx: Ctx, fixmedins: str, d: f.SettleData, pharmacy: bool = False):
    """The visit, the person and the batch's unsettled lines, checked against the message."""
    s = uow.session
    v = open_visit(uow, fixmedins, d.mdtrt_id, d.psn_no, "input.data.mdtrt_id", pharmacy)
    p = s.get_one(m.Person, v.psn_no)
    if d.insutype != p.insutype:
        raise DomainError("INVALID_INPUT", f"险种类型 {d.insutype} 与参保人的险种 {p.insutype} 不符", "input.data.insutype")
    if v.med_type is None:
        raise DomainError("INVALID_INPUT", "该就诊尚未上传就诊信息(2203),不知医疗类别", "input.data.mdtrt_id")
    if d.med_type != v.med_type:
        raise DomainError("INVALID_INPUT", f"医疗类别 {d.med_type} 与就诊信息(2203)的 {v.med_type} 不符", "input.data.med_type")
    med_type = calc_med_type(ctx, p.insu_admdvs, d.med_type, pharmacy)
    lines = list(s.scalars(select(m.NhsaFeeLine).where(
        m.NhsaFeeLine.visit_id == v.id, m.NhsaFeeLine.chrg_bchno == d.chrg_bchno,
        m.NhsaFeeLine.state == "unsettled").order_by(m.NhsaFeeLine.id)))
    return v, p, med_type, lines


def _visit_ref(fixmedins: str, v: m.NhsaVisit, med_type: str, d: f.SettleData, lines: list[m.NhsaFeeLine]) -> VisitRef:
    if not lines:
        raise DomainError("EMPTY_BATCH", f"收费批次 {d.chrg_bchno} 没有未结算的费用明细(请先上传 2204)",
                          "input.data.chrg_bchno")
    total = sum(ln.amount for ln in lines)
    if d.medfee_sumamt != total:
        given = "未填" if d.medfee_sumamt is None else f"{Decimal(d.medfee_sumamt) / 100:.2f}"
        raise DomainError("INVALID_INPUT", f"医疗费总额 {given} 与该批次明细合计 {Decimal(total) / 100:.2f} 不符",
                          "input.data.medfee_sumamt")
    items = [ItemIn.model_validate({
        "code": ln.med_list_codg, "name": ln.name[:200],
        "list_class": "C" if ln.fulamt_ownpay_amt else {"01": "A", "02": "B"}.get(ln.chrgitm_lv, "C"),
        "category": ln.category, "amount": format_yuan(ln.amount),
        "selfpay_prop": ln.selfpay_prop if ln.chrgitm_lv == "02" else "0",
        "overlmt_amt": format_yuan(ln.overlmt_amt), "classified_by": "catalog"}) for ln in lines]
    return VisitRef.model_validate({
        "psn_no": v.psn_no, "fixmedins": fixmedins, "med_type": med_type, "dise_codg": v.main_diag,
        "external_rx": any(ln.rx_circ_flag == "1" for ln in lines), "acct_used_flag": d.acct_used_flag or "1",
        "items": items})


def _pool_ratio(ctx: Ctx, region: str, day, insutype: str, level: int) -> Decimal:
    ratios = ctx.registry.find(region).at(day).pooling_ratio
    r = ratios.get(insutype, {}).get(level) if ratios else None
    return records.ratio_decimal(r.num, r.den) if r else Decimal("0.0000")


def preview(uow, ctx: Ctx, fixmedins: str, msgid: str, d: f.SettleData, pharmacy: bool = False) -> Outcome:
    """2206: the record 2207 would make, nothing booked; ``setl_id`` and ``setl_time`` null."""
    v, p, med_type, lines = _batch(uow, ctx, fixmedins, d, pharmacy)
    existing = _existing(uow, fixmedins, v, d.chrg_bchno)
    if existing is not None:
        return _answer_existing(uow, ctx, existing, v)
    return previewed(uow, ctx, fixmedins, msgid, d, v, p, med_type, lines, v.mdtrt_id)


def previewed(uow, ctx: Ctx, fixmedins: str, msgid: str, d: f.SettleData, v: m.NhsaVisit, p: m.Person,
              med_type: str, lines: list[m.NhsaFeeLine], mdtrt_id: str | None) -> Outcome:
    """The record settling ``lines`` would make, computed and not booked (the visit and lines
    may be unsaved: a pharmacy's 2101 stores nothing)."""
    ref = _visit_ref(fixmedins, v, med_type, d, lines)
    situation, terms, inst = settlements._situation(uow, ctx, ref, lock=False)
    r = calculate(situation, terms)
    balc = ledger.balance(uow.session, p.psn_no) - r.acct_pay
    info = records.setlinfo(r, p=p, visit=v, med_type=d.med_type, mdtrt_id=mdtrt_id, setl_id=None, setl_time=None,
                            medins_setl_id=msgid, balc=balc, pool_ratio=_pool_ratio(ctx, situation.region, ctx.day,
                                                                                     p.insutype, inst.level),
                            day=ctx.day, clr_type=PHARMACY if med_type == PHARMACY else "11")
    return Outcome({"setlinfo": info, "setldetail": records.setldetail(r, p.insutype),
                    "exp_content": records.extension(r, list(r.mulaid_detail))})


def _existing(uow, fixmedins: str, v: m.NhsaVisit, chrg_bchno: str) -> m.Settlement | None:
    return uow.session.scalar(select(m.Settlement).where(
        m.Settlement.fixmedins == fixmedins, m.Settlement.idem_key == key_of(v.mdtrt_id, chrg_bchno)))


def settle(uow, ctx: Ctx, fixmedins: str, msgid: str, d: f.SettleData, when: datetime,
           pharmacy: bool = False) -> Outcome:
    """2207: the batch's lines settled once. A batch already settled (whatever the msgid)
    answers that settlement, with a ``warn_msg``; nothing is booked twice."""
    v, p, med_type, lines = _batch(uow, ctx, fixmedins, d, pharmacy)
    existing = _existing(uow, fixmedins, v, d.chrg_bchno)
    if existing is not None:
        return _answer_existing(uow, ctx, existing, v)
    ref = _visit_ref(fixmedins, v, med_type, d, lines)
    made = settle_batch.settle_many(uow, ctx.registry, ctx.day, [(key_of(v.mdtrt_id, d.chrg_bchno), ref, ctx.actor)])[0]
    if isinstance(made, DomainError):
        raise made
    row = settlements.find(uow, made[0]["setl_id"])
    if not made[1]:  # settled by a message that committed while this one waited for the locks
        return _answer_existing(uow, ctx, row, v)
    row.mdtrt_id, row.chrg_bchno, row.medins_setl_id, row.setl_time = v.mdtrt_id, d.chrg_bchno, msgid, when
    row.balc = ledger.balance(uow.session, p.psn_no)
    for ln in lines:
        ln.state, ln.settlement_id = "settled", row.id
    uow.session.flush()
    return Outcome(record(uow, ctx, row, v), settlement_id=row.id)


def record(uow, ctx: Ctx, row: m.Settlement, v: m.NhsaVisit | None, sign: int = 1,
           when: datetime | None = None, balc: int | None = None) -> dict:
    """A stored settlement's setlinfo, setldetail and gongji's extension (``sign`` −1: its
    cancellation record)."""
    s = uow.session
    p = s.get_one(m.Person, row.psn_no)
    inst = s.get_one(m.Institution, row.fixmedins)
    r = _Amounts(row)
    detail = [(x.holder, x.amount) for x in row.mulaid]
    info = records.setlinfo(
        r, p=p, visit=v, med_type=v.med_type if v and v.med_type else row.med_type, mdtrt_id=row.mdtrt_id,
        setl_id=row.setl_id, setl_time=when or row.setl_time or datetime.combine(row.setl_date, datetime.min.time()),
        medins_setl_id=row.medins_setl_id or row.idem_key[:30],
        balc=_first_known(balc, row.balc) if (balc, row.balc) != (None, None) else ledger.balance(s, p.psn_no),
        pool_ratio=_pool_ratio(ctx, row.region, row.setl_date, p.insutype, inst.level), day=row.setl_date,
        clr_type="41" if row.med_type == PHARMACY else "11", sign=sign)
    return {"setlinfo": info, "setldetail": records.setldetail(r, p.insutype, sign),
            "exp_content": records.extension(r, detail)}


def _first_known(*values):
    return next(v for v in values if v is not None)


class _Amounts:
    """A stored settlement's amounts under the calculation's names."""

    def __init__(self, row: m.Settlement) -> None:
        self.row = row

    def __getattr__(self, name: str):
        return getattr(self.row, name)

    @property
    def mulaid_detail(self):
        return tuple((x.holder, x.amount) for x in self.row.mulaid)


def _answer_existing(uow, ctx: Ctx, row: m.Settlement, v: m.NhsaVisit) -> Outcome:
    what, anew = ("该购药单据", "发票号") if row.med_type == PHARMACY else ("该收费批次", "收费批次号")
    if row.state == "reversed":
        warn = (f"{what}已于 {row.setl_date} 结算(结算ID {row.setl_id}),并已于 {row.reversed_on} 撤销;"
                f"本次未重新结算,请使用新的{anew}")
    else:
        warn = f"{what}已于 {row.setl_date} 结算(结算ID {row.setl_id}),本次未重复结算,返回原结算结果"
    return Outcome(record(uow, ctx, row, v), warn, row.id)


def _own_settlement(uow, fixmedins: str, setl_id: str, psn_no: str, mdtrt_id: str = "") -> m.Settlement:
    pk = m.settlement_pk(setl_id)
    row = uow.session.get(m.Settlement, pk) if pk is not None else None
    if row is None or row.fixmedins != fixmedins or (psn_no and row.psn_no != psn_no) \
            or (mdtrt_id and row.mdtrt_id and row.mdtrt_id != mdtrt_id):
        raise DomainError("UNKNOWN_SETTLEMENT", f"本机构无此参保人的结算 {setl_id}", "input.data.setl_id")
    return row


def _visit_of(uow, row: m.Settlement) -> m.NhsaVisit | None:
    pk = m.visit_pk(row.mdtrt_id) if row.mdtrt_id else None
    return uow.session.get(m.NhsaVisit, pk) if pk is not None else None


def cancel(uow, ctx: Ctx, fixmedins: str, msgid: str, k: f.SettlementKey, when: datetime,
           pharmacy: bool = False) -> Outcome:
    """2208 (2103 with ``pharmacy``): the settlement undone (every posting negated, the counters
    given back) and its cancellation record, amounts negated, under the same ``setl_id``. The
    batch's lines stay with it, cancelled; a new batch number settles again. Already cancelled:
    that record, with a warning. A pharmacy purchase is cancelled by 2103, an outpatient one by 2208."""
    row = _own_settlement(uow, fixmedins, k.setl_id, k.psn_no, k.mdtrt_id)
    if pharmacy != (row.med_type == PHARMACY):
        right = "药店结算撤销(2103)" if row.med_type == PHARMACY else "门诊结算撤销(2208)"
        raise DomainError("INVALID_INPUT", f"结算 {row.setl_id} 是{'药店购药' if row.med_type == PHARMACY else '门诊'}"
                          f"结算,请以{right}撤销", "input.data.setl_id")
    row = _locked(uow, row)
    v = _visit_of(uow, row)
    if row.state == "reversed":
        return Outcome(record(uow, ctx, row, v, -1, when, ledger.balance(uow.session, row.psn_no)),
                       f"结算 {row.setl_id} 已于 {row.reversed_on} 撤销,本次未重复撤销", row.id)
    if row.state != "settled":
        raise DomainError("INVALID_INPUT", f"结算 {row.setl_id} 不能撤销", "input.data.setl_id")
    _undo(uow, ctx, row, f"nhsa:{msgid}")
    return Outcome(record(uow, ctx, row, v, -1, when, ledger.balance(uow.session, row.psn_no)), None, row.id)


def _undo(uow, ctx: Ctx, row: m.Settlement, key: str) -> None:
    settlements.reverse(uow, ctx, row.setl_id, key)  # the fee lines are cancelled with it


def _locked(uow, row: m.Settlement) -> m.Settlement:
    """The settlement re-read under its payers' locks (those ``settlements.reverse`` takes), so a
    2208 and a 2601 racing see each other's cancellation instead of both trying it."""
    uow.lock([row.psn_no] + [p.holder for p in row.mulaid])
    uow.session.refresh(row)
    return row


REVERSIBLE = {"2207": "门诊结算", "2102": "药店结算"}


def reverse_message(uow, ctx: Ctx, fixmedins: str, msgid: str, r: f.Reversal) -> Outcome:
    """2601: undo what message ``omsgid`` booked. Booked and still valid → cancelled; booked and
    already cancelled → nothing more; never arrived → nothing, and the message is refused should
    it arrive later. Success in every case, so a HIS after a timeout can always clear it."""
    from gongji.service.nhsa import messages

    if r.oinfno not in REVERSIBLE:
        raise DomainError("INVALID_INPUT", f"冲正交易只受理原交易 2207(门诊结算)和 2102(药店结算),不受理 {r.oinfno}",
                          "input.data.oinfno")
    original = messages.find(uow, fixmedins, r.omsgid)
    if original is None:
        messages.mark_reversed_first(uow, fixmedins, r.omsgid, r.oinfno, msgid)
        return Outcome({}, f"原报文 {r.omsgid} 未办理过,无需冲正;该报文此后到达也不予办理")
    if original.infno != r.oinfno and original.input_hash != messages.REVERSED_FIRST:
        raise DomainError("INVALID_INPUT", f"原报文 {r.omsgid} 是 {original.infno} 交易,不是 {r.oinfno}", "input.data.oinfno")
    if original.settlement_id is None:
        return Outcome({}, f"原报文 {r.omsgid} 未产生结算,无需冲正")
    row = _locked(uow, uow.session.get_one(m.Settlement, original.settlement_id))
    if r.psn_no and row.psn_no != r.psn_no:
        raise DomainError("INVALID_INPUT", "人员编号与原报文不符", "input.data.psn_no")
    if original.reversed_by is None:
        original.reversed_by = msgid
    if row.state == "reversed":
        return Outcome({}, f"原报文 {r.omsgid} 的结算 {row.setl_id} 已于 {row.reversed_on} 撤销,本次无需再冲正")
    if row.medins_setl_id != r.omsgid:
        # the message answered an earlier settlement of its batch: that one was not its booking
        return Outcome({}, f"原报文 {r.omsgid} 未产生新的结算(其批次此前已由报文 {row.medins_setl_id} 结算),无需冲正")
    _undo(uow, ctx, row, f"nhsa2601:{msgid}")
    return Outcome({})
