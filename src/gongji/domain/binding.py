"""Who may bind to whom: the rules an application must pass, when made and again when approved.

Pure: it gets the people and the bindings already open (pending, or still in force on the day)
and raises ``DomainError`` with the story-format code of the first rule broken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from gongji.domain.errors import DomainError
from gongji.domain.labels import BINDING_STATE_ZH, RELATION_ZH, region_name, state, word
from gongji.domain.situation import ACTIVE, DECEASED, Person
from gongji.domain.terms import EMPLOYEE, Terms

PENDING, APPROVED, REJECTED, WITHDRAWN, UNBOUND, ENDED = (
    "pending", "approved", "rejected", "withdrawn", "unbound", "ended")
STATE_ZH = BINDING_STATE_ZH


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
            who = "主账户人" if p is holder else "被绑定人"
            raise DomainError("PERSON_DECEASED", f"{who} {p.psn_no} 已身故,不能办理绑定",
                              "holder" if p is holder else "beneficiary")
    if holder.psn_no == beneficiary.psn_no:
        raise DomainError("RELATION_NOT_ALLOWED", "不能绑定本人", "beneficiary")
    if relation not in terms.relations:
        allowed = "、".join(word(RELATION_ZH, r) for r in RELATION_ZH if r in terms.relations)
        raise DomainError("RELATION_NOT_ALLOWED",
                          f"{terms.name}不能以“{word(RELATION_ZH, relation)}”关系绑定,可以绑定的是:{allowed}",
                          "relation")
    if holder.insutype != EMPLOYEE or not holder.insu_admdvs.startswith(terms.holder_area):
        raise DomainError("HOLDER_NOT_ELIGIBLE",
                          f"主账户人须为{region_name(terms.holder_area)}的职工医保参保人", "holder")
    if holder.status != ACTIVE:
        raise DomainError("HOLDER_NOT_ELIGIBLE", f"主账户人{state(holder.status, 'person')},不能绑定", "holder")
    if terms.beneficiary_area and not beneficiary.insu_admdvs.startswith(terms.beneficiary_area):
        raise DomainError("BENEFICIARY_REGION",
                          f"被绑定人须在{region_name(terms.beneficiary_area)}参保", "beneficiary")
    if any(b.holder == holder.psn_no and b.beneficiary == beneficiary.psn_no for b in open_bindings):
        raise DomainError("ALREADY_BOUND", f"被绑定人 {beneficiary.psn_no} 已绑定或已申请绑定这个主账户", "beneficiary")
    if terms.one_holder_per_beneficiary and any(
            b.beneficiary == beneficiary.psn_no for b in open_bindings):
        raise DomainError("ALREADY_BOUND",
                          f"被绑定人 {beneficiary.psn_no} 已关联其他主账户,一人只能关联一个主账户", "beneficiary")
    members = sum(1 for b in open_bindings if b.holder == holder.psn_no)
    if terms.member_limit is not None and members >= terms.member_limit:
        raise DomainError("MEMBER_LIMIT",
                          f"该主账户已绑定或申请绑定 {members} 人,已达上限 {terms.member_limit} 人",
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
