"""The binding workflow: apply, review within the deadline, withdraw, unbind.

Every rule is checked when the application is made and again when it is approved, because the
family may have changed in between; a refusal changes nothing. Review, withdraw and unbind act on
one row, named by its id. ``by_person`` is the insured person acting for themselves (None: staff
or the system); what such a person may do, and see in a refusal, is decided here for every route."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import and_, or_, select

from gongji.domain import binding as b
from gongji.domain import situation as d
from gongji.domain.errors import DomainError
from gongji.domain.labels import CHANNEL_ZH, region_path, word
from gongji.domain.workdays import add_working_days
from gongji.service.commands import Apply, BindingRef, Pair, Review
from gongji.service.common import Ctx, domain_person, living, person, region_of
from gongji.service.uow import UnitOfWork
from gongji.store import models as m


def view(x: m.Binding, today: date | None = None) -> dict:
    out = {
        "id": x.id, "holder": x.holder, "beneficiary": x.beneficiary, "relation": x.relation,
        "region": x.region, "channel": x.channel, "materials": list(x.materials or []),
        "e_commitment": x.e_commitment, "face_check": x.face_check, "state": x.state,
        "state_zh": b.STATE_ZH[x.state], "applied_on": _iso(x.applied_on),
        "review_due": _iso(x.review_due), "review_due_estimated": x.review_due_estimated,
        "reviewer": x.reviewer, "decided_on": _iso(x.decided_on), "reason": x.reason,
        "approved_on": _iso(x.approved_on), "unbind_requested_on": _iso(x.unbind_requested_on),
        "ended_on": _iso(x.ended_on), "end_reason": x.end_reason,
    }
    if today is not None and x.state == b.PENDING:
        out["overdue"] = x.review_due < today
    return out


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def open_bindings(uow: UnitOfWork, psn_nos: list[str], day: date, exclude: int | None = None
                  ) -> list[b.OpenBinding]:
    """Bindings that still take a place on ``day``: pending, approved, or unbound but still
    serving that day."""
    q = select(m.Binding).where(
        or_(m.Binding.holder.in_(psn_nos), m.Binding.beneficiary.in_(psn_nos)),
        or_(m.Binding.state.in_((b.PENDING, b.APPROVED)),
            and_(m.Binding.state == b.UNBOUND, m.Binding.unbind_requested_on >= day)))
    return [b.OpenBinding(x.holder, x.beneficiary) for x in uow.session.scalars(q) if x.id != exclude]


def _check(uow: UnitOfWork, ctx: Ctx, holder: m.Person, ben: m.Person, relation: str,
           exclude: int | None = None):
    region = _region(ctx, holder)
    terms = region.at(ctx.day)
    opens = open_bindings(uow, [holder.psn_no, ben.psn_no], ctx.day, exclude)
    b.check_application(domain_person(holder, 0, []), domain_person(ben, 0, []), relation, terms, opens)
    return region


def _region(ctx: Ctx, holder: m.Person):
    try:
        return region_of(ctx.registry, holder.insu_admdvs, "holder")
    except DomainError:
        raise DomainError("HOLDER_NOT_ELIGIBLE",
                          f"主账户人参保地({region_path(holder.insu_admdvs)})没有家庭共济政策", "holder") from None


# An insured person acts on their own bindings only: the application is the holder's to withdraw;
# either party may end an approved binding.
PERSON_MAY = {"withdraw": ("holder",), "unbind": ("holder", "beneficiary")}
NOT_YOURS = {"withdraw": "只有主账户人本人可以撤回该申请", "unbind": "只能解除本人作为主账户人或被绑定人的绑定"}
# the refusal when a binding is not in the state an action needs
WRONG_STATE = {b.PENDING: "NOT_PENDING", b.APPROVED: "NO_SUCH_BINDING"}
# what a person applying online is told when the refusal concerns the other person
REFUSED_FOR_APPLICANT = "无法为该人员办理绑定,请核对后到经办机构窗口办理"


def apply(uow: UnitOfWork, ctx: Ctx, c: Apply, by_person: str | None = None) -> dict:
    s = uow.session
    if by_person is not None and (by_person != c.holder or c.channel != "online"):
        raise DomainError("FORBIDDEN", "参保人只能以主账户人的身份在线申请绑定", "holder")
    holder = person(s, c.holder, "holder")
    uow.lock([c.holder, c.beneficiary])
    if by_person is None:
        region = _check(uow, ctx, holder, person(s, c.beneficiary, "beneficiary"), c.relation)
    else:
        region = _check_for_applicant(uow, ctx, holder, c)
    channels = [ch for ch in region.value("channels", ctx.day) if ch.kind == c.channel]
    known = list(dict.fromkeys(mat for ch in channels for mat in ch.materials))  # file order
    for i, mat in enumerate(c.materials):
        if mat not in known:
            raise DomainError("INVALID_INPUT",
                              f"材料“{mat}”不在{region.name}{word(CHANNEL_ZH, c.channel)}申请的材料清单中:{'、'.join(known)}",
                              f"materials[{i}]")
    due, estimated = add_working_days(ctx.day, region.value("review_working_days", ctx.day))
    x = m.Binding(region=region.region, holder=c.holder, beneficiary=c.beneficiary,
                  relation=c.relation, channel=c.channel, materials=list(c.materials),
                  e_commitment=c.e_commitment, face_check=c.face_check, state=b.PENDING,
                  applied_on=ctx.day, review_due=due, review_due_estimated=estimated)
    s.add(x)
    s.flush()
    out = view(x)
    out["missing_materials"] = [mat for mat in known if mat not in c.materials] if c.channel == "offline" else []
    return out


def _check_for_applicant(uow: UnitOfWork, ctx: Ctx, holder: m.Person, c: Apply):
    """The applicant's own rules first, each with its precise refusal: checked against a stand-in
    beneficiary who passes every rule of the other side, so the answer cannot depend on who was
    named. Then the named person's, every refusal alike: the applicant learns nothing of whether a
    third party exists, has died, is insured elsewhere or is bound to someone else."""
    region = _region(ctx, holder)
    terms = region.at(ctx.day)
    stand_in = d.Person(c.beneficiary, "390", terms.beneficiary_area or holder.insu_admdvs)
    b.check_application(domain_person(holder, 0, []), stand_in, c.relation, terms,
                        open_bindings(uow, [holder.psn_no], ctx.day))
    try:
        return _check(uow, ctx, holder, person(uow.session, c.beneficiary, "beneficiary"), c.relation)
    except DomainError:
        raise DomainError("BINDING_REFUSED", REFUSED_FOR_APPLICANT, "beneficiary") from None


def open_binding_id(uow: UnitOfWork, c: Pair, state: str) -> int:
    """The pair's one binding in ``state`` (pending or approved: a pair has at most one of each),
    for story steps, which name the pair. Refused as acting on it would be: the pair has no binding
    at all (``NO_SUCH_BINDING``), or none in that state."""
    s = uow.session
    person(s, c.holder, "holder")
    person(s, c.beneficiary, "beneficiary")
    rows = list(s.scalars(select(m.Binding).where(
        m.Binding.holder == c.holder, m.Binding.beneficiary == c.beneficiary).order_by(m.Binding.id.desc())))
    if not rows:
        raise DomainError("NO_SUCH_BINDING", f"{c.holder} 与 {c.beneficiary} 之间没有绑定或申请", "beneficiary")
    for x in rows:
        if x.state == state:
            return x.id
    raise DomainError(WRONG_STATE[state], f"{c.holder} → {c.beneficiary} 当前状态为{b.STATE_ZH[rows[0].state]}",
                      "beneficiary")


def _row(uow: UnitOfWork, binding_id: int, state: str, by_person: str | None = None,
         action: str = "") -> m.Binding:
    """Binding ``binding_id``, its two people locked, if it is in ``state``; else a refusal."""
    s = uow.session
    x = s.get(m.Binding, binding_id)
    if x is None:
        raise DomainError("NO_SUCH_BINDING", f"没有编号为 {binding_id} 的绑定", "binding_id")
    if by_person is not None and by_person not in (getattr(x, side) for side in PERSON_MAY[action]):
        raise DomainError("FORBIDDEN", NOT_YOURS[action], "binding_id")
    uow.lock([x.holder, x.beneficiary])
    s.refresh(x)  # as it stands now that no one else can change it
    if x.state != state:
        raise DomainError(WRONG_STATE[state], f"绑定 {x.id}({x.holder} → {x.beneficiary})当前状态为"
                          f"{b.STATE_ZH[x.state]}", "binding_id")
    return x


def review(uow: UnitOfWork, ctx: Ctx, c: Review) -> dict:
    x = _row(uow, c.binding_id, b.PENDING)
    if c.decision == "approve":
        _check(uow, ctx, living(uow.session, x.holder, "holder"),
               living(uow.session, x.beneficiary, "beneficiary"), x.relation, exclude=x.id)
        x.state, x.approved_on = b.APPROVED, ctx.day
    else:
        x.state = b.REJECTED
    x.decided_on, x.reviewer, x.reason = ctx.day, ctx.actor, c.reason
    return view(x)


def withdraw(uow: UnitOfWork, ctx: Ctx, c: BindingRef, by_person: str | None = None) -> dict:
    x = _row(uow, c.binding_id, b.PENDING, by_person, "withdraw")
    x.state, x.decided_on, x.reason = b.WITHDRAWN, ctx.day, "申请人撤回"
    return view(x)


def unbind(uow: UnitOfWork, ctx: Ctx, c: BindingRef, by_person: str | None = None) -> dict:
    x = _row(uow, c.binding_id, b.APPROVED, by_person, "unbind")
    x.state, x.unbind_requested_on = b.UNBOUND, ctx.day
    out = view(x)
    stops_next = ctx.registry.find(x.region).at(ctx.day).unbind_stops_next_day
    out["last_day"] = (ctx.day if stops_next else ctx.day - timedelta(days=1)).isoformat()
    return out


def pending(uow: UnitOfWork, today: date, region: str | None = None) -> list[dict]:
    """Pending applications by review deadline, the overdue ones (due before today) first."""
    q = select(m.Binding).where(m.Binding.state == b.PENDING)
    if region:
        q = q.where(m.Binding.region == region)
    rows = uow.session.scalars(q.order_by(m.Binding.review_due, m.Binding.id))
    return [view(x, today) for x in rows]
