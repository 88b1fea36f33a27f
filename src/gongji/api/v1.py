"""REST under /api/v1. Each route names who may call it (``x-callers`` in the OpenAPI);
issue 5 enforces it with signatures and sessions. Handlers are plain ``def``: the service
blocks on the database, so FastAPI runs them in its thread pool."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query, Request
from pydantic import BaseModel, ConfigDict

from gongji.calc_format import calc
from gongji.domain.errors import DomainError
from gongji.service import commands as c
from gongji.service import queries as q
from gongji.service.facade import Service

router = APIRouter(prefix="/api/v1")

INSTITUTION, STAFF, PERSON, ADMIN, ANYONE = "institution", "staff", "person", "admin", "anyone"


def callers(*who: str) -> dict:
    return {"openapi_extra": {"x-callers": list(who)}}


def svc(request: Request) -> Service:
    return request.app.state.service


IdemKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=64,
                                pattern=r"^[A-Za-z0-9._:-]+$")]


# --- persons and institutions ------------------------------------------------------------

@router.post("/persons", status_code=201, tags=["persons"], **callers(STAFF))
def register_person(request: Request, body: c.RegisterPerson) -> dict:
    """登记参保人(职工 310 带期初余额;居民 390 无个人账户)。"""
    svc(request).register_person(body)
    return svc(request).read(q.person_view, body.psn_no)


@router.get("/persons/{psn_no}", tags=["persons"], **callers(STAFF, PERSON))
def get_person(request: Request, psn_no: str) -> dict:
    """参保人信息;身份证号、姓名、电话脱敏显示。"""
    return svc(request).read(q.person_view, psn_no)


@router.post("/persons/{psn_no}/status", tags=["persons"], **callers(STAFF))
def change_status(request: Request, psn_no: str,
                  status: Annotated[Literal["active", "transferred", "interrupted", "deceased"], Body(embed=True)]) -> dict:
    """参保状态变更:转移、中断终止其作为主账户人的绑定;身故终止全部绑定并清零当年剩余额度。"""
    return svc(request).change_status(c.StatusChange(psn_no=psn_no, status=status))


@router.post("/institutions", status_code=201, tags=["institutions"], **callers(ADMIN))
def register_institution(request: Request, body: c.RegisterInstitution) -> dict:
    svc(request).register_institution(body)
    return svc(request).read(q.institution_view, body.code)


@router.get("/institutions/{code}", tags=["institutions"], **callers(ANYONE))
def get_institution(request: Request, code: str) -> dict:
    return svc(request).read(q.institution_view, code)


# --- bindings -----------------------------------------------------------------------------

@router.post("/bindings", status_code=201, tags=["bindings"], **callers(PERSON, STAFF))
def apply(request: Request, body: c.Apply) -> dict:
    """申请绑定;结果含审核期限 review_due(第 3 个工作日)。"""
    return svc(request).apply(body)


@router.get("/bindings", tags=["bindings"], **callers(STAFF, PERSON))
def list_bindings(
    request: Request,
    holder: str | None = None, beneficiary: str | None = None,
    person: Annotated[str | None, Query(description="as holder or beneficiary")] = None,
    state: Literal["pending", "approved", "rejected", "withdrawn", "unbound", "ended"] | None = None,
    region: str | None = None,
    overdue: Annotated[bool | None, Query(description="pending only: past (true) or within (false) the deadline")] = None,
    limit: int = 50, offset: int = 0,
) -> dict:
    """绑定记录;按审核期限排序,逾期的在前。"""
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


@router.post("/bindings/{binding_id}/review", tags=["bindings"], **callers(STAFF))
def review(request: Request, binding_id: int, body: Decision) -> dict:
    """审核:通过即时生效;驳回须写明原因。"""
    pair = _pair(request, binding_id)
    return _same(svc(request).review(c.Review(**pair.model_dump(), **body.model_dump())), binding_id)


@router.post("/bindings/{binding_id}/withdraw", tags=["bindings"], **callers(PERSON, STAFF))
def withdraw(request: Request, binding_id: int) -> dict:
    return _same(svc(request).withdraw(_pair(request, binding_id)), binding_id)


@router.post("/bindings/{binding_id}/unbind", tags=["bindings"], **callers(PERSON, STAFF))
def unbind(request: Request, binding_id: int) -> dict:
    """解绑:当日仍可共济,次日起停止。"""
    return _same(svc(request).unbind(_pair(request, binding_id)), binding_id)


# --- accounts -----------------------------------------------------------------------------

@router.get("/accounts/{psn_no}", tags=["accounts"], **callers(PERSON, STAFF))
def account(request: Request, psn_no: str) -> dict:
    """余额,及本年度共济已用额度与各项限额。"""
    s = svc(request)
    return s.read(q.account_view, s.registry, psn_no, s.clock())


@router.get("/accounts/{psn_no}/authorisations", tags=["accounts"], **callers(PERSON, STAFF))
def authorisations(request: Request, psn_no: str, limit: int = 50, offset: int = 0) -> dict:
    """个人账户共济授权记录(作为主账户人或被绑定人)。"""
    s = svc(request)
    s.read(q.person_view, psn_no)
    return s.read(q.bindings_list, s.clock(), person_no=psn_no, limit=limit, offset=offset)


@router.get("/accounts/{psn_no}/transactions", tags=["accounts"], **callers(PERSON, STAFF))
def transactions(request: Request, psn_no: str, limit: int = 50, offset: int = 0) -> dict:
    """个人账户收支明细(划入、本人支付、共济支出、冲正)。"""
    return svc(request).read(q.transactions, psn_no, limit, offset)


@router.get("/accounts/{psn_no}/settlements", tags=["accounts"], **callers(PERSON, STAFF))
def account_settlements(request: Request, psn_no: str, role: Literal["patient", "payer"] = "patient",
                        limit: int = 50, offset: int = 0) -> dict:
    s = svc(request)
    s.read(q.person_view, psn_no)
    who = {"psn_no": psn_no} if role == "patient" else {"payer": psn_no}
    return s.read(q.settlements_of, **who, limit=limit, offset=offset)


@router.post("/accounts/{psn_no}/freeze", tags=["accounts"], **callers(PERSON, STAFF))
def freeze(request: Request, psn_no: str) -> dict:
    """冻结:本账户不再为任何家庭成员支付。"""
    return svc(request).freeze(c.Freeze(holder=psn_no))


@router.post("/accounts/{psn_no}/unfreeze", tags=["accounts"], **callers(PERSON, STAFF))
def unfreeze(request: Request, psn_no: str) -> dict:
    return svc(request).unfreeze(c.Freeze(holder=psn_no))


@router.post("/accounts/{psn_no}/credits", tags=["accounts"], **callers(STAFF))
def credit(request: Request, psn_no: str, amount: Annotated[Any, Body(embed=True)]) -> dict:
    return svc(request).credit(c.Credit(psn_no=psn_no, amount=amount))


# --- filings, sanctions -------------------------------------------------------------------

@router.post("/filings", status_code=201, tags=["filings"], **callers(PERSON, STAFF))
def file_remote(request: Request, body: c.FileRemote) -> dict:
    """异地就医备案。"""
    return svc(request).file_remote(body)


@router.post("/sanctions", status_code=201, tags=["sanctions"], **callers(STAFF))
def sanction(request: Request, body: c.SanctionCmd) -> dict:
    """违规暂停共济(套现、转卖药品等),含起止日期。"""
    return svc(request).sanction(body)


# --- settlements --------------------------------------------------------------------------

class SettleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visit: c.VisitRef


@router.post("/settlements/preview", tags=["settlements"], **callers(INSTITUTION))
def preview(request: Request, body: SettleIn) -> dict:
    """预结算:按当日政策计算,不记账。"""
    return svc(request).preview(body.visit)


@router.post("/settlements", tags=["settlements"], **callers(INSTITUTION))
def settle(request: Request, body: SettleIn, key: IdemKey) -> dict:
    """结算。同一机构同一 Idempotency-Key:相同请求返回首次结果,不重复扣款;不同请求为 IDEMPOTENCY_CONFLICT。"""
    return request.app.state.metrics.timed_settle(svc(request), key, body.visit)


@router.post("/settlements/{setl_id}/reverse", tags=["settlements"], **callers(INSTITUTION, STAFF))
def reverse(request: Request, setl_id: str,
            key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=64)] = None) -> dict:
    """冲正:每一笔记账原路退回,额度恢复。带同一 Idempotency-Key 重试返回首次结果。"""
    return svc(request).reverse(setl_id, key)


@router.get("/settlements/{setl_id}", tags=["settlements"], **callers(INSTITUTION, STAFF, PERSON))
def get_settlement(request: Request, setl_id: str) -> dict:
    return svc(request).read(q.settlement, setl_id)


@router.post("/calc", tags=["calc"], **callers(ANYONE))
def calculate(request: Request, situation: Annotated[dict, Body()]) -> dict:
    """按 calc-format.md 计算一笔结算,不读写数据库。"""
    return calc(situation, svc(request).registry)

