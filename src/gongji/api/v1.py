"""REST under /api/v1. Every route depends on ``allow(...)``: who may call it (see ``auth``);
where the answer depends on the record (whose settlement, whose binding), the handler narrows it.
Handlers are plain ``def``: the service blocks on the database, so they run in the thread pool."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from pydantic import BaseModel, ConfigDict, StringConstraints

from gongji.api.auth import Principal, allow, forbid
from gongji.calc_format import calc
from gongji.domain.errors import DomainError
from gongji.service import commands as c
from gongji.service import queries as q
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
    return request.app.state.service


BindingId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=q.MAX_PAGE)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
# what a settlement request number may be: the REST header and the cashier's form alike
IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
IdemKey = Annotated[IdempotencyKey, Header(alias="Idempotency-Key")]


# --- persons and institutions ------------------------------------------------------------

@router.post("/persons", status_code=201, tags=["persons"])
def register_person(request: Request, body: c.RegisterPerson,
                    who: Principal = Depends(allow("clerk", "supervisor", "admin"))) -> dict:
    """登记参保人(职工 310 带期初余额;居民 390 无个人账户)。"""
    svc(request).register_person(body, actor=who.actor)
    return svc(request).read(q.person_view, body.psn_no, unmasked=True)


@router.get("/persons/{psn_no}", tags=["persons"])
def get_person(request: Request, psn_no: str, who: Principal = STAFF_OR_SELF) -> dict:
    """参保人信息:本人与经办人员可见完整身份证号、姓名、电话。"""
    return svc(request).read(q.person_view, psn_no, unmasked=True)


@router.post("/persons/{psn_no}/status", tags=["persons"])
def change_status(request: Request, psn_no: str,
                  status: Annotated[Literal["active", "transferred", "interrupted", "deceased"], Body(embed=True)],
                  who: Principal = SUPERVISOR) -> dict:
    """参保状态变更:转移、中断终止其作为主账户人的绑定;身故终止全部绑定并清零当年剩余额度。"""
    return svc(request).change_status(c.StatusChange(psn_no=psn_no, status=status), actor=who.actor)


@router.post("/persons/{psn_no}/password", tags=["persons"])
def reset_password(request: Request, psn_no: str, who: Principal = CLERK) -> dict:
    """经办窗口为参保人设置门户初始密码(仅显示一次)。"""
    from gongji.service.security import set_person_password
    return {"psn_no": psn_no, "password": svc(request).secure(set_person_password, psn_no, actor=who.actor)}


@router.post("/institutions", status_code=201, tags=["institutions"])
def register_institution(request: Request, body: c.RegisterInstitution, who: Principal = ADMIN) -> dict:
    """登记定点医药机构;返回签名密钥,仅此一次。"""
    from gongji.service.security import new_institution_secret
    svc(request).register_institution(body, actor=who.actor)
    secret = svc(request).secure(new_institution_secret, body.code, actor=who.actor)
    return svc(request).read(q.institution_view, body.code) | {"secret": secret}


@router.post("/institutions/{code}/rotate-secret", tags=["institutions"])
def rotate_secret(request: Request, code: str, who: Principal = ADMIN) -> dict:
    from gongji.service.security import new_institution_secret
    return {"code": code, "secret": svc(request).secure(new_institution_secret, code, actor=who.actor)}


@router.post("/institutions/{code}/suspend", tags=["institutions"])
def suspend(request: Request, code: str, suspended: Annotated[bool, Body(embed=True)],
            who: Principal = ADMIN) -> dict:
    from gongji.service.security import set_suspended
    svc(request).secure(set_suspended, code, suspended, actor=who.actor)
    return {"code": code, "suspended": suspended}


@router.get("/institutions/{code}", tags=["institutions"])
def get_institution(request: Request, code: str, who: Principal = ANYONE) -> dict:
    return svc(request).read(q.institution_view, code)


@router.post("/staff", status_code=201, tags=["staff"])
def add_staff(request: Request, username: Annotated[str, Body(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")],
              role: Annotated[Literal["clerk", "supervisor", "auditor", "admin"], Body()],
              who: Principal = ADMIN) -> dict:
    """新增工作人员;初始密码仅显示一次。"""
    from gongji.service.security import add_staff as add
    return {"username": username, "role": role,
            "password": svc(request).secure(add, username, role, actor=who.actor)}


@router.get("/audit", tags=["audit"])
def audit_log(request: Request, limit: Limit = 50, offset: Offset = 0,
              who: Principal = Depends(allow("auditor", "admin"))) -> dict:
    """审计日志(哈希链)。"""
    from gongji.service.audit import entries
    q.page(limit, offset)
    return svc(request).read(lambda uow: entries(uow.session, limit, offset))


# --- bindings -----------------------------------------------------------------------------

def _own_binding(who: Principal, holder: str, beneficiary: str | None = None) -> None:
    if who.kind == "person" and who.id not in (holder, beneficiary):
        raise forbid("只能办理本人的绑定 / only your own bindings")


@router.post("/bindings", status_code=201, tags=["bindings"])
def apply(request: Request, body: c.Apply, who: Principal = CLERK_OR_PERSON) -> dict:
    """申请绑定(主账户人在线申请,或经办窗口代办);结果含审核期限 review_due。"""
    if who.kind == "person" and (who.id != body.holder or body.channel != "online"):
        raise forbid("参保人只能以主账户人身份在线申请 / apply online, as the holder")
    return svc(request).apply(body, actor=who.actor)


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
                  state=state, region=region, overdue=overdue, limit=limit, offset=offset)


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject"]
    reason: c.Text | None = None


def _pair(request: Request, binding_id: int) -> c.Pair:
    holder, beneficiary = svc(request).read(q.binding_pair, binding_id)
    return c.Pair(holder=holder, beneficiary=beneficiary)


def _same(result: dict, binding_id: int) -> dict:
    if result["id"] != binding_id:
        raise DomainError("NOT_PENDING", f"绑定 {binding_id} 不是该亲属间当前的申请", "binding_id")
    return result


@router.post("/bindings/{binding_id}/review", tags=["bindings"])
def review(request: Request, binding_id: BindingId, body: Decision, who: Principal = CLERK) -> dict:
    """审核:通过即时生效;驳回写明原因。"""
    pair = _pair(request, binding_id)
    return _same(svc(request).review(c.Review(**pair.model_dump(), **body.model_dump()), actor=who.actor), binding_id)


@router.post("/bindings/{binding_id}/withdraw", tags=["bindings"])
def withdraw(request: Request, binding_id: BindingId, who: Principal = CLERK_OR_PERSON) -> dict:
    pair = _pair(request, binding_id)
    _own_binding(who, pair.holder)
    return _same(svc(request).withdraw(pair, actor=who.actor), binding_id)


@router.post("/bindings/{binding_id}/unbind", tags=["bindings"])
def unbind(request: Request, binding_id: BindingId, who: Principal = CLERK_OR_PERSON) -> dict:
    """解绑:当日仍可共济,次日起停止。"""
    pair = _pair(request, binding_id)
    _own_binding(who, pair.holder, pair.beneficiary)
    return _same(svc(request).unbind(pair, actor=who.actor), binding_id)


# --- accounts -----------------------------------------------------------------------------

@router.get("/accounts/{psn_no}", tags=["accounts"])
def account(request: Request, psn_no: str, who: Principal = STAFF_OR_SELF) -> dict:
    """余额,及本年度共济已用额度与各项限额。"""
    s = svc(request)
    return s.read(q.account_view, s.registry, psn_no, s.clock())


@router.get("/accounts/{psn_no}/authorisations", tags=["accounts"])
def authorisations(request: Request, psn_no: str, limit: Limit = 50, offset: Offset = 0,
                   who: Principal = STAFF_OR_SELF) -> dict:
    """个人账户共济授权记录(作为主账户人或被绑定人)。"""
    s = svc(request)
    s.read(q.person_view, psn_no)
    return s.read(q.bindings_list, s.clock(), person_no=psn_no, limit=limit, offset=offset)


@router.get("/accounts/{psn_no}/transactions", tags=["accounts"])
def transactions(request: Request, psn_no: str, limit: Limit = 50, offset: Offset = 0,
                 who: Principal = STAFF_OR_SELF) -> dict:
    """个人账户收支明细(划入、本人支付、共济支出、冲正)。"""
    return svc(request).read(q.transactions, psn_no, limit, offset)


@router.get("/accounts/{psn_no}/settlements", tags=["accounts"])
def account_settlements(request: Request, psn_no: str, role: Literal["patient", "payer"] = "patient",
                        limit: Limit = 50, offset: Offset = 0, who: Principal = STAFF_OR_SELF) -> dict:
    """本人就医的结算(patient),或本账户为家人支付的每一笔(payer)。"""
    s = svc(request)
    s.read(q.person_view, psn_no)
    whose = {"psn_no": psn_no} if role == "patient" else {"payer": psn_no}
    return s.read(q.settlements_of, **whose, limit=limit, offset=offset)


@router.post("/accounts/{psn_no}/freeze", tags=["accounts"])
def freeze(request: Request, psn_no: str, who: Principal = CLERK_OR_SELF) -> dict:
    """冻结:本账户不再为任何家庭成员支付。"""
    return svc(request).freeze(c.Freeze(holder=psn_no), actor=who.actor)


@router.post("/accounts/{psn_no}/unfreeze", tags=["accounts"])
def unfreeze(request: Request, psn_no: str, who: Principal = CLERK_OR_SELF) -> dict:
    return svc(request).unfreeze(c.Freeze(holder=psn_no), actor=who.actor)


@router.post("/accounts/{psn_no}/credits", tags=["accounts"])
def credit(request: Request, psn_no: str, amount: Annotated[Any, Body(embed=True)],
           who: Principal = SUPERVISOR) -> dict:
    """手工划入(如手工报销后补记)。"""
    return svc(request).credit(c.Credit(psn_no=psn_no, amount=amount), actor=who.actor)


# --- filings, sanctions -------------------------------------------------------------------

@router.post("/filings", status_code=201, tags=["filings"])
def file_remote(request: Request, body: c.FileRemote, who: Principal = CLERK_OR_PERSON) -> dict:
    """异地就医备案(本人或经办)。"""
    if who.kind == "person" and who.id != body.psn_no:
        raise forbid("只能为本人备案 / file for yourself only")
    return svc(request).file_remote(body, actor=who.actor)


@router.post("/reimbursements", status_code=201, tags=["settlements"])
def reimburse(request: Request, body: c.Reimburse, who: Principal = CLERK) -> dict:
    """异地就医手工报销:按就诊日政策计算统筹应付并登记;同一报销单号只登记一次。"""
    return svc(request).reimburse(body, actor=who.actor)


@router.post("/sanctions", status_code=201, tags=["sanctions"])
def sanction(request: Request, body: c.SanctionCmd, who: Principal = SUPERVISOR) -> dict:
    """违规暂停共济(套现、转卖药品等),含起止日期。"""
    return svc(request).sanction(body, actor=who.actor)


# --- settlements --------------------------------------------------------------------------

class SettleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visit: c.VisitRef


def _at_own_counter(who: Principal, visit: c.VisitRef) -> None:
    if visit.fixmedins != who.id:
        raise forbid("机构只能为本机构结算 / settle at your own institution only")


@router.post("/settlements/preview", tags=["settlements"])
def preview(request: Request, body: SettleIn, who: Principal = INSTITUTION) -> dict:
    """预结算:按当日政策计算,不记账。"""
    _at_own_counter(who, body.visit)
    return svc(request).preview(body.visit)


@router.post("/settlements", tags=["settlements"])
def settle(request: Request, body: SettleIn, key: IdemKey, who: Principal = INSTITUTION) -> dict:
    """结算。同一机构同一 Idempotency-Key:相同请求返回首次结果,不重复扣款;不同请求为 IDEMPOTENCY_CONFLICT。"""
    _at_own_counter(who, body.visit)
    return request.app.state.metrics.timed_settle(svc(request), key, body.visit, who.actor)


def party_settlement(request: Request, who: Principal, setl_id: str) -> dict:
    """The settlement, if the caller is party to it: its institution, staff, the patient, or a
    holder who paid in it."""
    s = svc(request).read(q.settlement, setl_id)
    payers = {d["holder"] for d in s["mulaid_detail"]}
    if who.kind == "institution" and s["fixmedins"] == who.id or who.kind == "staff" \
            or who.kind == "person" and (who.id == s["psn_no"] or who.id in payers):
        return s
    raise DomainError("UNKNOWN_SETTLEMENT", f"查无此结算 {setl_id}", "setl_id")  # not: "exists, not yours"


@router.post("/settlements/{setl_id}/reverse", tags=["settlements"])
def reverse(request: Request, setl_id: str,
            key: Annotated[IdempotencyKey | None, Header(alias="Idempotency-Key")] = None,
            who: Principal = Depends(allow("institution", "supervisor"))) -> dict:
    """冲正:每一笔记账原路退回,额度恢复。带同一 Idempotency-Key 重试返回首次结果。"""
    party_settlement(request, who, setl_id)
    return svc(request).reverse(setl_id, key, actor=who.actor)


@router.get("/settlements/{setl_id}", tags=["settlements"])
def get_settlement(request: Request, setl_id: str, who: Principal = PARTY) -> dict:
    return party_settlement(request, who, setl_id)


@router.post("/calc", tags=["calc"])
def calculate(request: Request, situation: Annotated[dict, Body()], who: Principal = ANYONE) -> dict:
    """按 calc-format.md 计算一笔结算,不读写数据库。"""
    return calc(situation, svc(request).registry)
