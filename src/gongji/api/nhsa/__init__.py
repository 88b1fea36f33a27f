"""The national platform's outpatient interface (国家医保 定点医药机构接口, docs/nhsa.md).

``POST /nhsa`` with ``infno`` in the body, or ``POST /nhsa/{infno}`` (the Guangdong gateway's
form; both must agree). Every answer is HTTP 200 with the reply envelope: ``infcode`` 0 or −1 and
a Chinese ``err_msg``, also for a failed signature, a body that is not JSON, an oversized body
or an unknown ``infno``: HIS software reads only the body of an HTTP 200.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from gongji.api.nhsa import person, pharmacy, query, settle, visit  # noqa: F401 - they register their transactions
from gongji.api.nhsa.auth import authenticate_now, nhsa_caller
from gongji.api.nhsa.registry import TRANSACTIONS, Call
from gongji.api.nhsa.wire import WireError, decode, envelope, now, respond
from gongji.calc_format import InputError
from gongji.domain.codes import CODE_ZH
from gongji.domain.errors import DomainError
from gongji.gate.auth import Principal
from gongji.gate.problems import unavailable
from gongji.gate.route import service
from gongji.nhsa_format import Envelope, read

log = logging.getLogger("gongji.nhsa")
router = APIRouter(tags=["nhsa"])
NOT_OFFERED = {"3202": "对明细账(3202)暂不提供:其明细文件(9101/9102)格式未公开,请以 3201 对总账,或以 5203 逐笔查询"}


@router.post("/nhsa", dependencies=[Depends(nhsa_caller)], summary="国家医保接口(交易编号在报文 infno 中)")
async def by_body(request: Request) -> Response:
    return await transact(request, None)


@router.post("/nhsa/{infno}", dependencies=[Depends(nhsa_caller)], summary="国家医保接口(交易编号在路径中,广东网关形式)")
async def by_path(request: Request, infno: str) -> Response:
    return await transact(request, infno)


# a HIS configured with a trailing slash: answered, not redirected (a 307 is a network error to it)
@router.post("/nhsa/", dependencies=[Depends(nhsa_caller)], include_in_schema=False)
async def by_body_slash(request: Request) -> Response:
    return await transact(request, None)


@router.post("/nhsa/{infno}/", dependencies=[Depends(nhsa_caller)], include_in_schema=False)
async def by_path_slash(request: Request, infno: str) -> Response:
    return await transact(request, infno)


async def transact(request: Request, path_infno: str | None) -> Response:
    received = now()
    try:
        body = getattr(request.state, "raw_body", None)
        if body is None:
            body = await request.body()
    except Exception:
        log.exception("nhsa transaction failed")
        return respond(envelope(received, "", err=FAILED))
    # one trip to the thread pool: the signature's nonce book and the transaction both block
    return await run_in_threadpool(_transact, request, path_infno, body, received)


FAILED = "系统内部错误,本次交易结果不确定:请按原报文ID冲正(2601)或查询(5203)后再办理"


def _transact(request: Request, path_infno: str | None, body: bytes, received: datetime) -> Response:
    area = ""
    try:
        code, why = authenticate_now(request, body)  # before the body is parsed: a stranger learns nothing
        if why is not None:
            return respond(envelope(received, area, err=why))
        request.state.principal = Principal("institution", code or "", "institution")
        doc = decode(body, _charset(request.headers.get("content-type", "")))
        if isinstance(doc, dict) and isinstance(doc.get("mdtrtarea_admvs"), str):
            area = doc["mdtrtarea_admvs"]
        env = read(Envelope, doc, "envelope")
        if path_infno is not None and path_infno != env.infno:
            raise InputError("infno", f"报文交易编号 {env.infno} 与地址中的 {path_infno} 不一致")
        if env.fixmedins_code != code:
            raise DomainError("FORBIDDEN", f"报文中的定点医药机构编号 {env.fixmedins_code} 与签名的机构不符")
        if env.infno in NOT_OFFERED:
            raise DomainError("NOT_OFFERED", NOT_OFFERED[env.infno])
        tx = TRANSACTIONS.get(env.infno)
        if tx is None:
            raise InputError("infno", f"不支持的交易编号 {env.infno}")
        data = _input(env.input)
        x = read(tx.model, data) if tx.model is not None else None
        svc = service(request)
        when = datetime.combine(svc.clock(), now().time().replace(microsecond=0))
        # the HIS's operator, when it names one: settlements and reversals are known per cashier
        actor = f"institution:{code}/{env.opter}" if env.opter else f"institution:{code}"
        call = Call(svc, env, data, code or "", actor, when)
        out = tx.handle(call, x)
        return respond(envelope(received, area, output=out.output, warn=out.warn))
    except WireError as e:
        return respond(envelope(received, area, err=str(e)))
    except InputError as e:
        return respond(envelope(received, area, err=f"输入有误:{e.field}:{e.message}" if e.field else f"输入有误:{e.message}"))
    except DomainError as e:
        label = CODE_ZH.get(e.code)
        return respond(envelope(received, area, err=f"{label}:{e.message}" if label and label not in e.message else e.message))
    except Exception as e:
        if unavailable(e):  # a failover under way: the HIS checks (5203) or reverses (2601) by msgid
            log.warning("nhsa transaction: database unavailable (%s)", type(e).__name__)
        else:
            log.exception("nhsa transaction failed")
        return respond(envelope(received, area, err=FAILED))


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset":
            return value.strip().strip('"')
    return ""


def _input(value: Any) -> dict:
    """``input`` is an object; some clients send it as a string holding JSON."""
    if isinstance(value, str):
        try:
            value = decode(value.encode())
        except WireError as e:
            raise InputError("input", str(e)) from None
    if not isinstance(value, dict):
        raise InputError("input", "应为 JSON 对象")
    return value
