"""The national-platform style adapter: ``POST /nhsa/{infno}`` for 2206 (pre-settle), 2207
(settle) and 2208 (reverse), with the national envelope and answer. ``msgid`` is the idempotency
key. Answers are always HTTP 200 with ``infcode`` 0 (success) or -1 (refused, ``err_msg`` says why),
as the platform's clients expect; amounts are yuan strings with two decimals."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from gongji.api.auth import Principal, allow
from gongji.calc_format import Admdvs, Code, InputError, ItemIn, PsnNo, Yuan, validate
from gongji.domain.codes import CODE_ZH
from gongji.domain.errors import DomainError
from gongji.service import commands as c
from gongji.service.clock import CHINA

router = APIRouter(prefix="/nhsa", tags=["nhsa"])


class Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")  # the platform sends more (cainfo, signtype, ...)
    infno: Annotated[str, Field(pattern=r"^[0-9]{4}$")]
    msgid: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
    mdtrtarea_admvs: Admdvs
    insuplc_admdvs: Admdvs
    recer_sys_code: Annotated[str, Field(min_length=1, max_length=32)]
    opter: Annotated[str, Field(min_length=1, max_length=64)]
    inf_time: str
    fixmedins_code: Code
    input: dict[str, Any]


class SettleData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    psn_no: PsnNo  # 人员编号 C(30)
    med_type: str
    dise_codg: str | None = None
    acct_used_flag: str = "1"
    external_rx: bool = False
    medfee_sumamt: Yuan | None = None


class SettleInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: SettleData
    feedetail: list[ItemIn] = Field(min_length=1, max_length=2000)


class ReverseData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    setl_id: Code
    psn_no: PsnNo  # 人员编号 C(30)


class ReverseInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: ReverseData


def _now() -> str:
    return datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def _answer(env: dict, infcode: int, output: dict | None, err: str | None = None) -> dict:
    return {"infcode": infcode, "err_msg": err, "inf_refmsgid": env.get("msgid"),
            "refmsg_time": env.get("inf_time"), "respond_time": _now(), "output": output}


def _visit(env: Envelope) -> c.VisitRef:
    body = validate(SettleInput, env.input, "input", ("input",))
    d = body.data
    visit = validate(c.VisitRef, {
        "psn_no": d.psn_no, "fixmedins": env.fixmedins_code, "med_type": d.med_type,
        "dise_codg": d.dise_codg, "acct_used_flag": d.acct_used_flag, "external_rx": d.external_rx,
        "items": body.feedetail}, "input", ("input", "data"))
    if d.medfee_sumamt is not None and d.medfee_sumamt != sum(it.amount for it in body.feedetail):
        raise InputError("input.data.medfee_sumamt", "does not equal the sum of feedetail amounts")
    return visit


@router.post("/{infno}")
def transact(request: Request, infno: str, envelope: Annotated[Any, Body()],
             who: Principal = Depends(allow("institution"))) -> dict:
    """2206 预结算 · 2207 结算 · 2208 冲正(国家平台报文格式)。"""
    svc = request.app.state.service
    try:
        env = validate(Envelope, envelope, "the envelope")
        if env.infno != infno:
            raise InputError("infno", f"envelope infno {env.infno} differs from the path's {infno}")
        if env.fixmedins_code != who.id:
            raise DomainError("FORBIDDEN", "fixmedins_code 与签名机构不符 / not the signing institution")
        if infno == "2206":
            return _answer(envelope, 0, {"setlinfo": svc.preview(_visit(env))})
        if infno == "2207":
            out = request.app.state.metrics.timed_settle(svc, env.msgid, _visit(env), who.actor)
            return _answer(envelope, 0, {"setlinfo": out | {"psn_no": env.input["data"]["psn_no"]}})
        if infno == "2208":
            data = validate(ReverseInput, env.input, "input", ("input",)).data
            setl = svc.read(_settlement_of, data.setl_id, data.psn_no, env.fixmedins_code)
            return _answer(envelope, 0, {"setlinfo": svc.reverse(setl, env.msgid, actor=who.actor)})
        raise InputError("infno", f"unsupported infno {infno} (2206, 2207, 2208)")
    except InputError as e:
        return _answer(envelope if isinstance(envelope, dict) else {}, -1, None, f"[INVALID_INPUT] {e}")
    except DomainError as e:
        return _answer(envelope if isinstance(envelope, dict) else {}, -1, None, f"[{e.code}] {CODE_ZH.get(e.code, e.code)}:{e.message}")


def _settlement_of(uow, setl_id: str, psn_no: str, fixmedins: str) -> str:
    from gongji.service.settlements import find
    row = find(uow, setl_id)
    if row.psn_no != psn_no or row.fixmedins != fixmedins:
        raise DomainError("UNKNOWN_SETTLEMENT", f"本机构无此参保人的结算 {setl_id}", "setl_id")
    return row.setl_id
