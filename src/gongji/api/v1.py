"""REST under /api/v1. Every route depends on ``allow(...)``: who may call it (see ``auth``);
where the answer depends on the record (whose settlement, whose binding), the handler narrows it.
Handlers are plain ``def``: the service blocks on the database, so they run in the thread pool."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from pydantic import BaseModel, ConfigDict

from gongji.calc_format import calc
from gongji.gate.auth import Principal, allow, forbid
from gongji.gate.params import BindingId, IdempotencyKey, Limit, Offset
from gongji.gate.route import service
from gongji.service import commands as c
from gongji.service import queries as q
from gongji.service import scope
from gongji.service.facade import Service

router = APIRouter(prefix="/api/v1")

ANYONE = Depends(allow("anyone"))
INSTITUTION = Depends(allow("institution"))
CLERK = Depends(allow("clerk", "supervisor"))
SUPERVISOR = Depends(allow("supervisor"))
ADMIN = Depends(allow("admin"))
STAFF = Depends(allow("staff"))
STAFF_OR_SELF = Depends(allow("staff", "self"))
CLERK_OR_SELF = Depends(allow("clerk", "supervisor", "self"))
CLERK_OR_PERSON = Depends(allow("clerk", "supervisor", "person"))
PARTY = Depends(allow("institution", "staff", "person"))


def svc(request: Request) -> Service:
    return service(request)


def area_of_new(who: Principal, admdvs: str, what: str) -> None:
    if who.kind == "staff" and not scope.in_area(who.area, admdvs):
        raise scope.OutOfArea(what)


IdemKey = Annotated[IdempotencyKey, Header(alias="Idempotency-Key")]


# --- persons and institutions ------------------------------------------------------------

@router.post("/persons", status_code=201, tags=["persons"])
def register_person(request: Request, body: c.RegisterPerson,
                    who: Principal = Depends(allow("clerk", "supervisor", "admin"))) -> dict:
    """登记参保人(职工 310 带期初余额;居民 390 无个人账户)。期初余额是一笔划入:非零时须由主管办理。"""
    area_of_new(who, body.insu_admdvs, "该参保地")
    svc(request).register_person(body, actor=who.actor)
    return svc(request).read(q.person_view, body.psn_no, unmasked=True)


@router.get("/persons/{psn_no}", tags=["persons"])
def get_person(request: Request, psn_no: str, who: Principal = STAFF_OR_SELF) -> dict:
    """参保人信息:本人与经办人员可见完整身份证号、姓名、电话。"""
    scope.guard(svc(request), who, scope.see_person, psn_no)
    return svc(request).read(q.person_view, psn_no, unmasked=True)


@router.post("/persons/{psn_no}/status", tags=["persons"])
def change_status(request: Request, psn_no: str,
                  status: Annotated[Literal["active", "transferred", "interrupted", "deceased"], Body(embed=True)],
                  who: Principal = SUPERVISOR) -> dict:
    """参保状态变更:转移、中断终止其作为主账户人的绑定;身故终止全部绑定并清零当年剩余额度。"""
    scope.guard(svc(request), who, scope.act_on, [psn_no])
    return svc(request).change_status(c.StatusChange(psn_no=psn_no, status=status), actor=who.actor)


@router.post("/persons/{psn_no}/password", tags=["persons"])
def reset_password(request: Request, psn_no: str, who: Principal = CLERK) -> dict:
    """经办窗口为参保人设置门户初始密码(仅显示一次)。"""
    from gongji.service.security import set_person_password
    scope.guard(svc(request), who, scope.act_on, [psn_no])
    return {"psn_no": psn_no, "password": svc(request).secure(set_person_password, psn_no, actor=who.actor)}


@router.post("/institutions", status_code=201, tags=["institutions"])
def register_institution(request: Request, body: c.RegisterInstitution, who: Principal = ADMIN) -> dict:
    """登记定点医药机构;返回签名密钥,仅此一次。"""
    from gongji.service.security import new_institution_secret
    area_of_new(who, body.admdvs, "该机构所在地")
    svc(request).register_institution(body, actor=who.actor)
    secret = svc(request).secure(new_institution_secret, body.code, actor=who.actor)
    return svc(request).read(q.institution_view, body.code) | {"secret": secret}


@router.post("/institutions/{code}/rotate-secret", tags=["institutions"])
def rotate_secret(request: Request, code: str, who: Principal = ADMIN) -> dict:
    from gongji.service.security import new_institution_secret
    scope.guard(svc(request), who, scope.act_on_institution, code)
    return {"code": code, "secret": svc(request).secure(new_institution_secret, code, actor=who.actor)}


@router.post("/institutions/{code}/suspend", tags=["institutions"])
def suspend(request: Request, code: str, suspended: Annotated[bool, Body(embed=True)],
            who: Principal = ADMIN) -> dict:
    from gongji.service.security import set_suspended
    scope.guard(svc(request), who, scope.act_on_institution, code)
    svc(request).secure(set_suspended, code, suspended, actor=who.actor)
    return {"code": code, "suspended": suspended}


@router.get("/institutions/{code}", tags=["institutions"])
def get_institution(request: Request, code: str, who: Principal = ANYONE) -> dict:
    return svc(request).read(q.institution_view, code)


@router.post("/staff", status_code=201, tags=["staff"])
def add_staff(request: Request, username: Annotated[str, Body(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")],
              role: Annotated[Literal["clerk", "supervisor", "auditor", "admin"], Body()],
              area_: Annotated[str | None, Body(alias="area", max_length=6)] = None,
              who: Principal = ADMIN) -> dict:
    """新增工作人员;服务区域为行政区划代码前缀(省 2 位、地市 4 位、县区 6 位,全国 00),
    默认与本人相同,且须在本人的服务区域之内。初始密码仅显示一次。"""
    from gongji.service.security import add_staff as add
    served = who.area if area_ is None else scope.served(area_, svc(request).registry)
    if not scope.in_area(who.area, served or "00"):
        raise scope.OutOfArea("该服务区域")
    return {"username": username, "role": role, "area": served or "00",
            "password": svc(request).secure(add, username, role, served, actor=who.actor)}


@router.get("/audit", tags=["audit"])
def audit_log(request: Request, limit: Limit = 50, offset: Offset = 0,
              who: Principal = Depends(allow("auditor", "admin"))) -> dict:
    """审计日志(哈希链)。"""
    from gongji.service.audit import entries
    q.page(limit, offset)
    return svc(request).read(lambda uow: entries(uow.session, limit, offset, who.area))


# --- bindings -----------------------------------------------------------------------------

@router.post("/bindings", status_code=201, tags=["bindings"])
def apply(request: Request, body: c.Apply, who: Principal = CLERK_OR_PERSON) -> dict:
    """申请绑定(主账户人在线申请,或经办窗口代办);结果含审核期限 review_due。"""
    scope.guard(svc(request), who, scope.act_on, [body.holder, body.beneficiary], "申请的双方")
    return svc(request).apply(body, actor=who.actor, by_person=_person(who))


@router.get("/bindings", tags=["bindings"])
def list_bindings(
    request: Request,
    holder: str | None = None, beneficiary: str | None = None,
    person: Annotated[str | None, Query(description="as holder or beneficiary")] = None,
    state: Literal["pending", "approved", "rejected", "withdrawn", "unbound", "ended"] | None = None,
    region: str | None = None,
    overdue: Annotated[bool | None, Query(description="pending only: past (true) or within (false) the deadline")] = None,
    limit: Limit = 50, offset: Offset = 0, who: Principal = STAFF,
) -> dict:
    """绑定记录(经办);按审核期限排序,逾期的在前。"""
    s = svc(request)
    return s.read(q.bindings_list, s.clock(), holder=holder, beneficiary=beneficiary, person_no=person,
                  state=state, region=region, overdue=overdue, limit=limit, offset=offset, area=who.area)


def _person(who: Principal) -> str | None:
    """The insured person acting for themselves; the service applies a person's limits."""
    return who.id if who.kind == "person" else None


@router.post("/bindings/{binding_id}/review", tags=["bindings"])
def review(request: Request, binding_id: BindingId, body: c.Decision, who: Principal = CLERK) -> dict:
    """审核该编号的申请:通过即时生效;驳回写明原因。"""
    scope.guard(svc(request), who, scope.act_on_binding, binding_id)
    return svc(request).review(c.Review(binding_id=binding_id, **body.model_dump()), actor=who.actor)


@router.post("/bindings/{binding_id}/withdraw", tags=["bindings"])
def withdraw(request: Request, binding_id: BindingId, who: Principal = CLERK_OR_PERSON) -> dict:
    """撤回该编号的待审核申请(参保人:限主账户人本人)。"""
    scope.guard(svc(request), who, scope.act_on_binding, binding_id)
    return svc(request).withdraw(c.BindingRef(binding_id=binding_id), actor=who.actor, by_person=_person(who))


@router.post("/bindings/{binding_id}/unbind", tags=["bindings"])
def unbind(request: Request, binding_id: BindingId, who: Principal = CLERK_OR_PERSON) -> dict:
    """解除该编号的绑定:当日仍可共济,次日起停止(参保人:限绑定双方)。"""
    scope.guard(svc(request), who, scope.act_on_binding, binding_id)
    return svc(request).unbind(c.BindingRef(binding_id=binding_id), actor=who.actor, by_person=_person(who))


# --- accounts -----------------------------------------------------------------------------

@router.get("/accounts/{psn_no}", tags=["accounts"])
def account(request: Request, psn_no: str, who: Principal = STAFF_OR_SELF) -> dict:
    """余额,及本年度共济已用额度与各项限额。"""
    scope.guard(svc(request), who, scope.see_person, psn_no)
    s = svc(request)
    return s.read(q.account_view, s.registry, psn_no, s.clock())


@router.get("/accounts/{psn_no}/authorisations", tags=["accounts"])
def authorisations(request: Request, psn_no: str, limit: Limit = 50, offset: Offset = 0,
                   who: Principal = STAFF_OR_SELF) -> dict:
    """个人账户共济授权记录(作为主账户人或被绑定人)。"""
    scope.guard(svc(request), who, scope.see_person, psn_no)
    s = svc(request)
    s.read(q.person_view, psn_no)
    return s.read(q.bindings_list, s.clock(), person_no=psn_no, limit=limit, offset=offset)


@router.get("/accounts/{psn_no}/transactions", tags=["accounts"])
def transactions(request: Request, psn_no: str, limit: Limit = 50, offset: Offset = 0,
                 who: Principal = STAFF_OR_SELF) -> dict:
    """个人账户收支明细(划入、本人支付、共济支出、冲正)。"""
    scope.guard(svc(request), who, scope.see_person, psn_no)
    return svc(request).read(q.transactions, psn_no, limit, offset)


@router.get("/accounts/{psn_no}/settlements", tags=["accounts"])
def account_settlements(request: Request, psn_no: str, role: Literal["patient", "payer"] = "patient",
                        limit: Limit = 50, offset: Offset = 0, who: Principal = STAFF_OR_SELF) -> dict:
    """本人就医的结算(patient),或本账户为家人支付的每一笔(payer)。"""
    scope.guard(svc(request), who, scope.see_person, psn_no)
    s = svc(request)
    s.read(q.person_view, psn_no)
    whose = {"psn_no": psn_no} if role == "patient" else {"payer": psn_no}
    return s.read(q.settlements_of, **whose, limit=limit, offset=offset)


@router.post("/accounts/{psn_no}/freeze", tags=["accounts"])
def freeze(request: Request, psn_no: str, who: Principal = CLERK_OR_SELF) -> dict:
    """冻结:本账户不再为任何家庭成员支付。"""
    scope.guard(svc(request), who, scope.act_on, [psn_no])
    return svc(request).freeze(c.Freeze(holder=psn_no), actor=who.actor)


@router.post("/accounts/{psn_no}/unfreeze", tags=["accounts"])
def unfreeze(request: Request, psn_no: str, who: Principal = CLERK_OR_SELF) -> dict:
    scope.guard(svc(request), who, scope.act_on, [psn_no])
    return svc(request).unfreeze(c.Freeze(holder=psn_no), actor=who.actor)


@router.post("/accounts/{psn_no}/credits", tags=["accounts"])
def credit(request: Request, psn_no: str, amount: Annotated[Any, Body(embed=True)],
           who: Principal = SUPERVISOR) -> dict:
    """手工划入(如手工报销后补记)。"""
    scope.guard(svc(request), who, scope.act_on, [psn_no])
    return svc(request).credit(c.Credit(psn_no=psn_no, amount=amount), actor=who.actor)


# --- filings, sanctions -------------------------------------------------------------------

@router.post("/filings", status_code=201, tags=["filings"])
def file_remote(request: Request, body: c.FileRemote, who: Principal = CLERK_OR_PERSON) -> dict:
    """异地就医备案(本人或经办)。"""
    if who.kind == "person" and who.id != body.psn_no:
        raise forbid("只能为本人备案")
    scope.guard(svc(request), who, scope.act_on, [body.psn_no])
    return svc(request).file_remote(body, actor=who.actor)


@router.post("/reimbursements", status_code=201, tags=["settlements"])
def reimburse(request: Request, body: c.Reimburse, who: Principal = CLERK) -> dict:
    """异地就医手工报销:按就诊日政策计算统筹应付并登记;同一报销单号只登记一次。
    统筹应付超过本地区复核金额的,state 为 pending_approval,须另一名主管复核后才支付。"""
    scope.guard(svc(request), who, scope.act_on, [body.visit.psn_no])
    return svc(request).reimburse(body, actor=who.actor)


@router.get("/reimbursements", tags=["settlements"])
def pending_reimbursements(request: Request, limit: Limit = 50, offset: Offset = 0, who: Principal = CLERK) -> dict:
    """待复核的手工报销(最早的在前)。"""
    from gongji.service.settlements import pending_reimbursements as pending
    return svc(request).read(pending, limit, offset, who.area)


@router.post("/reimbursements/{setl_id}/approve", tags=["settlements"])
def approve_reimbursement(request: Request, setl_id: str, who: Principal = SUPERVISOR) -> dict:
    """复核通过并支付;录入人本人不能复核。"""
    scope.guard(svc(request), who, scope.act_on_settlement, setl_id)
    return svc(request).approve_reimbursement(setl_id, actor=who.actor)


@router.post("/reimbursements/{setl_id}/reject", tags=["settlements"])
def reject_reimbursement(request: Request, setl_id: str, who: Principal = SUPERVISOR) -> dict:
    """复核不通过:不支付;录入人本人不能复核。"""
    scope.guard(svc(request), who, scope.act_on_settlement, setl_id)
    return svc(request).reject_reimbursement(setl_id, actor=who.actor)


@router.post("/sanctions", status_code=201, tags=["sanctions"])
def sanction(request: Request, body: c.SanctionCmd, who: Principal = SUPERVISOR) -> dict:
    """违规暂停共济(套现、转卖药品等),含起止日期。"""
    scope.guard(svc(request), who, scope.act_on, [body.psn_no])
    return svc(request).sanction(body, actor=who.actor)


# --- settlements --------------------------------------------------------------------------

class SettleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visit: c.VisitRef


def _at_own_counter(who: Principal, visit: c.VisitRef) -> None:
    if visit.fixmedins != who.id:
        raise forbid("机构只能为本机构的就诊结算")


@router.post("/settlements/preview", tags=["settlements"])
def preview(request: Request, body: SettleIn, who: Principal = INSTITUTION) -> dict:
    """预结算:按当日政策计算,不记账。费用明细的项目编码在医保目录中有当日有效的目录行的,按目录分类。"""
    _at_own_counter(who, body.visit)
    return svc(request).preview(body.visit, by_catalog=True)


@router.post("/settlements", tags=["settlements"])
def settle(request: Request, body: SettleIn, key: IdemKey, who: Principal = INSTITUTION) -> dict:
    """结算。答复为计算结果加 setl_id、state(settled)与 reversed_on(null)。同一机构同一 Idempotency-Key:
    相同请求返回首次结果,不重复扣款,但 state 与 reversed_on 为该结算当前的状态(已冲正则为 reversed 及冲正日期);
    不同请求为 IDEMPOTENCY_CONFLICT。项目编码在医保目录中有当日有效目录行的,按目录定甲乙丙类、类别、先行自付比例与超限价部分
    (classified_by=catalog),其余按请求所填(classified_by=caller)。"""
    _at_own_counter(who, body.visit)
    return request.app.state.metrics.timed_settle(svc(request), key, body.visit, who.actor, by_catalog=True)


@router.post("/settlements/{setl_id}/reverse", tags=["settlements"])
def reverse(request: Request, setl_id: str,
            key: Annotated[IdempotencyKey | None, Header(alias="Idempotency-Key")] = None,
            who: Principal = Depends(allow("institution", "supervisor"))) -> dict:
    """冲正:每一笔记账原路退回,额度恢复。带同一 Idempotency-Key 重试返回首次结果。"""
    scope.party_settlement(svc(request), who, setl_id)
    scope.guard(svc(request), who, scope.act_on_settlement, setl_id)  # reading it is not enough to move its money
    return svc(request).reverse(setl_id, key, actor=who.actor)


@router.get("/settlements/{setl_id}", tags=["settlements"])
def get_settlement(request: Request, setl_id: str, who: Principal = PARTY) -> dict:
    return scope.party_settlement(svc(request), who, setl_id)


@router.post("/calc", tags=["calc"])
def calculate(request: Request, situation: Annotated[dict, Body()], who: Principal = ANYONE) -> dict:
    """按 calc-format.md 计算一笔结算,不读写数据库。"""
    return calc(situation, svc(request).registry)
