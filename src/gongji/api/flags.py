"""Supervision flags under /api/v1/flags, with exactly the desk pages' rights: clerks, supervisors
and auditors read the flags of their area; clerks and supervisors decide; supervisors turn a
confirmed flag into a sanction. Persons, institutions and cashiers are refused."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from gongji.gate.auth import Principal, allow
from gongji.gate.params import FlagId, Limit, Offset
from gongji.gate.route import service
from gongji.service import commands as c
from gongji.service import scope
from gongji.service.facade import Service
from gongji.service.supervise import review

router = APIRouter(prefix="/api/v1", tags=["supervision"])
READERS = Depends(allow("clerk", "supervisor", "auditor"))
DECIDERS = Depends(allow("clerk", "supervisor"))
SUPERVISOR = Depends(allow("supervisor"))


def svc(request: Request) -> Service:
    return service(request)


@router.get("/flags")
def list_flags(request: Request,
               state: Literal["open", "confirmed", "excluded", "sanctioned", "all"] = "open",
               rule: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z0-9_]+$")] = None,
               severity: Literal["high", "medium", "low"] | None = None,
               limit: Limit = 50, offset: Offset = 0, who: Principal = READERS) -> dict:
    """基金监管线索(本服务区域内):风险高的在前,同等风险发现早的在前。金额为元。"""
    return svc(request).flags(who.area, state=None if state == "all" else state, rule=rule, severity=severity,
                              limit=limit, offset=offset)


@router.get("/flags/{flag_id}")
def get_flag(request: Request, flag_id: FlagId, who: Principal = READERS) -> dict:
    """一条线索:证据结算(含费用明细与共济支付)、家庭绑定、当年共济使用。"""
    return svc(request).flag(flag_id, who.area)


@router.post("/flags/{flag_id}/decision")
def decide(request: Request, flag_id: FlagId, decision: Annotated[Literal["confirm", "exclude"], Body()],
           reason: Annotated[str, Body(max_length=200)] = "", who: Principal = DECIDERS) -> dict:
    """确认或排除一条待处理的线索,须写明理由(不超过 200 字)。"""
    scope.guard(svc(request), who, review.act_on_flag, flag_id)
    return svc(request).decide_flag(c.FlagDecision(flag_id=flag_id, decision=decision, reason=reason),
                                    actor=who.actor)


class SanctionBody(BaseModel):
    """What the supervisor changes of the prefilled sanction; everything may be left out."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    reason: Annotated[str, Field(max_length=200)] = ""


@router.post("/flags/{flag_id}/sanction")
def sanction(request: Request, flag_id: FlagId, body: SanctionBody | None = None,
             who: Principal = SUPERVISOR) -> dict:
    """把已确认的线索转为违规暂停共济(参保人;家庭线索为主账户人):起止日期默认自今日起一年,
    原因默认取本地区违规行为的第一项。与暂停共济同一事务。"""
    scope.guard(svc(request), who, review.sanction_flag_in, flag_id)
    given = (body or SanctionBody()).model_dump(by_alias=True)
    cmd = c.FlagSanction.model_validate({**given, "flag_id": flag_id})
    return svc(request).sanction_flag(cmd, actor=who.actor)
