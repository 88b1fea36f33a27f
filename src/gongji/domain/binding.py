"""Who may bind to whom: the rules an application must pass, when made and again when approved.

Pure: it gets the people and the bindings already open (pending, or still in force on the day)
and raises ``DomainError`` with the story-format code of the first rule broken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from gongji.domain.errors import DomainError
from gongji.domain.situation import ACTIVE, DECEASED, Person
from gongji.domain.terms import EMPLOYEE, Terms

PENDING, APPROVED, REJECTED, WITHDRAWN, UNBOUND, ENDED = (
    "pending", "approved", "rejected", "withdrawn", "unbound", "ended")
STATE_ZH = {PENDING: "待审核", APPROVED: "已生效", REJECTED: "未通过", WITHDRAWN: "已撤回",
            UNBOUND: "已解绑", ENDED: "已终止"}


@dataclass(frozen=True, slots=True)
class OpenBinding:
    """A binding that still occupies a place: pending, or approved and in force on the day."""

    holder: str
    beneficiary: str


def check_application(holder: Person, beneficiary: Person, relation: str, terms: Terms,
                      open_bindings: list[OpenBinding]) -> None:
    """Raise the first rule an application ``holder`` → ``beneficiary`` breaks.

    ``open_bindings`` are those of the holder and of the beneficiary, excluding this one."""
    for p in (holder, beneficiary):
        if p.status == DECEASED:
            raise DomainError("PERSON_DECEASED", f"{p.psn_no} 已身故", "holder" if p is holder else "beneficiary")
    if holder.psn_no == beneficiary.psn_no:
        raise DomainError("RELATION_NOT_ALLOWED", "不能绑定本人", "beneficiary")
    if relation not in terms.relations:
        allowed = "、".join(sorted(terms.relations))
        raise DomainError("RELATION_NOT_ALLOWED",
                          f"{terms.name}不允许以“{relation}”关系绑定(可绑定:{allowed})(relations)", "relation")
    if holder.insutype != EMPLOYEE or not holder.insu_admdvs.startswith(terms.holder_area):
        raise DomainError("HOLDER_NOT_ELIGIBLE",
                          f"主账户人须为 {terms.holder_area} 的职工医保参保人(holder_area)", "holder")
    if holder.status != ACTIVE:
        raise DomainError("HOLDER_NOT_ELIGIBLE", f"主账户人参保状态为 {holder.status},不能绑定", "holder")
    if terms.beneficiary_area and not beneficiary.insu_admdvs.startswith(terms.beneficiary_area):
        raise DomainError("BENEFICIARY_REGION",
                          f"被绑定人须在 {terms.beneficiary_area} 参保(beneficiary_area)", "beneficiary")
    if any(b.holder == holder.psn_no and b.beneficiary == beneficiary.psn_no for b in open_bindings):
        raise DomainError("ALREADY_BOUND", f"{beneficiary.psn_no} 已绑定或已申请绑定该主账户", "beneficiary")
    if terms.one_holder_per_beneficiary and any(
            b.beneficiary == beneficiary.psn_no for b in open_bindings):
        raise DomainError("ALREADY_BOUND",
                          f"{beneficiary.psn_no} 只能关联一个主账户(one_holder_per_beneficiary)", "beneficiary")
    members = sum(1 for b in open_bindings if b.holder == holder.psn_no)
    if terms.member_limit is not None and members >= terms.member_limit:
        raise DomainError("MEMBER_LIMIT",
                          f"{holder.psn_no} 已绑定或申请 {members} 人,上限 {terms.member_limit} 人(member_limit)",
                          "holder")


def last_day(state: str, approved_on: date | None, unbind_requested_on: date | None,
             ended_on: date | None, stops_next_day: bool) -> date | None:
    """The unbind date the calculation's ``Binding`` takes, for any stored state: an unbinding
    serves its own day (where the region stops it the next day); a lifecycle end on D does not
    serve D."""
    if state == UNBOUND:
        return unbind_requested_on
    if state == ENDED and ended_on is not None:
        return ended_on - timedelta(days=1) if stops_next_day else ended_on
    return None
