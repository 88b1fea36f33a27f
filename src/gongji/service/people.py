"""Registering people and institutions, monthly credits, freezing, sanctions, filings, and the
lifecycle events (transfer, interruption, death) with what they end and zero."""

from __future__ import annotations

from sqlalchemy import or_, select

from gongji.domain import binding as b
from gongji.domain import situation as d
from gongji.domain.errors import DomainError
from gongji.domain.money import format_yuan
from gongji.service import four_eyes, ledger
from gongji.service.commands import (
    Credit,
    FileRemote,
    Freeze,
    RegisterInstitution,
    RegisterPerson,
    SanctionCmd,
    StatusChange,
)
from gongji.service.common import Ctx, living, person, usage
from gongji.service.uow import UnitOfWork
from gongji.store import models as m


def register_institution(uow: UnitOfWork, ctx: Ctx, c: RegisterInstitution) -> dict:
    s = uow.session
    if s.get(m.Institution, c.code) is not None:
        raise DomainError("ALREADY_REGISTERED", f"定点医药机构 {c.code} 已登记", "code")
    s.add(m.Institution(code=c.code, name=c.name, level=c.level, admdvs=c.admdvs, kind=c.kind,
                        registered_on=ctx.day))
    return {"code": c.code, "level": c.level, "admdvs": c.admdvs, "kind": c.kind}


def register_person(uow: UnitOfWork, ctx: Ctx, c: RegisterPerson) -> dict:
    s = uow.session
    if s.get(m.Person, c.psn_no) is not None:
        raise DomainError("ALREADY_REGISTERED", f"参保人 {c.psn_no} 已登记", "psn_no")
    if c.certno and s.scalar(select(m.Person.psn_no).where(m.Person.certno == c.certno)):
        raise DomainError("ALREADY_REGISTERED", "该身份证号已登记为其他参保人", "certno")
    s.add(m.Person(psn_no=c.psn_no, name=c.name, certno=c.certno, phone=c.phone,
                   insutype=c.insutype, insu_admdvs=c.insu_admdvs, status=d.ACTIVE,
                   mulaid_frozen=False, registered_on=ctx.day))
    s.merge(m.DirectoryEntry(psn_no=c.psn_no, province=c.insu_admdvs[:2]))
    s.flush()
    out = {"psn_no": c.psn_no, "insutype": c.insutype, "insu_admdvs": c.insu_admdvs}
    if c.insutype == "310":
        acct = ledger.personal(s, c.psn_no)
        if c.balance:
            _pay_in(uow, ctx, c.psn_no, c.balance, "opening", "期初余额", "balance")
        out["balance"] = format_yuan(acct.balance or 0)
    return out


def credit(uow: UnitOfWork, ctx: Ctx, c: Credit, ref: str | None = None) -> dict:
    p = living(uow.session, c.psn_no)
    if p.insutype != "310":
        raise DomainError("INVALID_INPUT", f"{c.psn_no} 为居民医保参保人,没有个人账户", "psn_no")
    uow.lock([c.psn_no])
    acct = _pay_in(uow, ctx, c.psn_no, c.amount, "credit", "手工划入", "amount", ref)
    return {"psn_no": c.psn_no, "amount": format_yuan(c.amount), "balance": format_yuan(acct.balance or 0)}


def _pay_in(uow: UnitOfWork, ctx: Ctx, psn_no: str, amount: int, kind: str, what: str, field: str,
            ref: str | None = None) -> m.Account:
    """Money into a personal account from contributions: an opening balance or a manual credit,
    checked alike (who may, how much) and posted alike."""
    s = uow.session
    four_eyes.check_credit(s, ctx.actor, amount, what, field)
    acct = ledger.personal(s, psn_no)
    ledger.post(s, kind, ctx.day, [(ledger.account(s, ledger.CONTRIBUTIONS, "contributions"), -amount),
                                   (acct, amount)], ref=ref)
    return acct


def set_frozen(uow: UnitOfWork, ctx: Ctx, c: Freeze, frozen: bool) -> dict:
    p = living(uow.session, c.holder, "holder")
    uow.lock([p.psn_no])
    if p.mulaid_frozen != frozen:
        p.mulaid_frozen = frozen
        uow.session.add(m.Event(psn_no=p.psn_no, kind="freeze" if frozen else "unfreeze", on=ctx.day))
    return {"holder": p.psn_no, "mulaid_frozen": frozen}


def sanction(uow: UnitOfWork, ctx: Ctx, c: SanctionCmd) -> dict:
    living(uow.session, c.psn_no)
    uow.lock([c.psn_no])
    uow.session.add(m.Sanction(psn_no=c.psn_no, start=c.from_, end=c.to, reason=c.reason,
                               recorded_on=ctx.day))
    return {"psn_no": c.psn_no, "from": c.from_.isoformat(), "to": c.to.isoformat(), "reason": c.reason}


def file_remote(uow: UnitOfWork, ctx: Ctx, c: FileRemote) -> dict:
    living(uow.session, c.psn_no)
    uow.session.add(m.Filing(psn_no=c.psn_no, admdvs=c.admdvs, start=c.from_, end=c.to, filed_on=ctx.day))
    return {"psn_no": c.psn_no, "admdvs": c.admdvs, "from": c.from_.isoformat(), "to": c.to.isoformat()}


OPEN = (b.PENDING, b.APPROVED)


def change_status(uow: UnitOfWork, ctx: Ctx, c: StatusChange) -> dict:
    """Transfer or interruption ends every binding the person holds (where the region says so);
    death ends every binding either way and zeroes the year's unused quota, recorded."""
    s = uow.session
    p = living(s, c.psn_no)
    mine = list(s.scalars(select(m.Binding).where(
        or_(m.Binding.holder == p.psn_no, m.Binding.beneficiary == p.psn_no),
        m.Binding.state.in_(OPEN)).order_by(m.Binding.id)))
    uow.lock([p.psn_no] + [x.holder for x in mine] + [x.beneficiary for x in mine])
    p.status, p.status_on = c.status, ctx.day
    s.add(m.Event(psn_no=p.psn_no, kind="status", value=c.status, on=ctx.day))
    ended = []
    for x in mine:
        if c.status == d.DECEASED or (
                c.status in (d.TRANSFERRED, d.INTERRUPTED) and x.holder == p.psn_no
                and ctx.registry.find(x.region).value("holder_inactive_ends_bindings", ctx.day)):
            x.state, x.ended_on, x.end_reason = b.ENDED, ctx.day, c.status
            ended.append({"holder": x.holder, "beneficiary": x.beneficiary})
    out: dict = {"psn_no": p.psn_no, "status": c.status, "bindings_ended": ended}
    if c.status == d.DECEASED:
        out["quota_zeroed"] = _zero_quota(uow, ctx, p, mine)
    return out


def _zero_quota(uow: UnitOfWork, ctx: Ctx, p: m.Person, bindings: list[m.Binding]) -> dict:
    """Forfeit what is left of the year's caps: recorded in the QUOTA ledger and counted as used,
    so it is never inherited or reused. A cap that is not published leaves nothing to zero."""
    s, year = uow.session, ctx.day.year
    as_beneficiary = [x.region for x in bindings if x.beneficiary == p.psn_no]
    region = ctx.registry.find(as_beneficiary[-1]) if as_beneficiary else None
    if region is None:
        try:
            region = ctx.registry.find(p.insu_admdvs)
        except Exception:  # no policy for where the person is insured: no quota to zero
            return {}
    if not region.value("death_zeroes_quota", ctx.day):
        return {}
    terms = region.at(ctx.day)
    u = usage(s, p.psn_no, year)
    zeroed = {}
    ben_cap = terms.annual_cap_beneficiary.get(p.insutype)
    if ben_cap is not None:
        left = max(0, ben_cap - u.mulaid_received - u.zeroed_received)
        _forfeit(s, ctx, f"quota:received:{p.psn_no}:{year}", left)
        u.zeroed_received += left
        zeroed["received"] = format_yuan(left)
    if p.insutype == "310" and terms.annual_cap_holder is not None:
        left = max(0, terms.annual_cap_holder - u.mulaid_paid - u.zeroed_paid)
        _forfeit(s, ctx, f"quota:paid:{p.psn_no}:{year}", left)
        u.zeroed_paid += left
        zeroed["paid"] = format_yuan(left)
    return zeroed


def _forfeit(s, ctx: Ctx, name: str, amount: int) -> None:
    quota = ledger.account(s, name, "quota", ledger.QUOTA)
    ledger.post(s, "zero_quota", ctx.day,
                [(quota, -amount), (ledger.account(s, ledger.FORFEITED, "quota", ledger.QUOTA), amount)])


__all__ = ["register_institution", "register_person", "credit", "set_frozen", "sanction",
           "file_remote", "change_status", "person"]
