"""The audit trail for auditors and admins: filtered by days, actor, kind of action and person,
paged, each entry in words; and the hash chain checked from the page. Staff of an area see the
entries naming a person of it, as through ``GET /api/v1/audit``."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from gongji.domain.labels import ROLE_ZH
from gongji.gate.auth import Principal
from gongji.service import directory
from gongji.service.audit import verify_chain
from gongji.store import models as m
from gongji.web.common import page, render, svc

router = APIRouter(include_in_schema=False)
AUDITORS = ("auditor", "admin")
PER_PAGE = 50
ACTION_ZH = {
    "register_person": "登记参保人", "register_institution": "登记定点医药机构", "credit": "个人账户划入",
    "apply_batch": "批量导入个人账户划入", "set_frozen": "冻结或解除冻结共济", "sanction": "违规暂停共济",
    "file_remote": "异地就医备案", "change_status": "参保状态变更", "apply": "申请绑定", "review": "审核绑定申请",
    "withdraw": "撤回绑定申请", "unbind": "解除绑定", "settle": "结算", "reverse": "冲正结算",
    "reimburse": "登记手工报销", "approve_reimbursement": "复核通过手工报销", "reject_reimbursement": "复核不通过手工报销",
    "apply_catalog": "导入医保目录", "add_staff": "新增工作人员", "add_cashier": "新增收费员",
    "set_person_password": "设置参保人门户密码", "set_staff_password": "重置工作人员密码",
    "new_institution_secret": "生成或更换机构签名密钥", "set_suspended": "暂停或恢复机构结算资格",
    "set_paasid": "登记机构网关账号", "redact_secrets": "从审计记录中去除密钥", "bulk_demo": "载入演示数据",
    "nhsa_": "国家医保接口交易", "decide_flag": "确认或排除监管线索", "sanction_flag": "监管线索转为处罚",
    "supervise": "运行监管规则",
}
NHSA_ZH = {"9001": "签到", "9002": "签退", "1101": "人员信息获取", "2101": "药店预结算", "2102": "药店结算",
           "2103": "药店结算撤销", "2201": "门诊挂号", "2202": "门诊挂号撤销", "2203": "门诊就诊信息上传",
           "2203A": "门诊就诊信息上传", "2204": "门诊费用明细信息上传", "2205": "门诊费用明细信息撤销",
           "2206": "门诊预结算", "2207": "门诊结算", "2208": "门诊结算撤销", "2601": "冲正交易", "5203": "结算信息查询",
           "3201": "对总账"}
KIND_ZH = {"staff": "工作人员", "institution": "定点机构", "person": "参保人"}
PageNo = Annotated[int, Query(ge=1, le=10**6, alias="page")]
Text = Annotated[str, Query(max_length=80)]


def action_words(action: str) -> str:
    if action.startswith("nhsa_"):
        return f"国家医保接口:{NHSA_ZH.get(action[5:], '交易')}({action[5:]})"
    return ACTION_ZH.get(action, "其他操作")


def actor_words(actor: str) -> str:
    """``staff:demo-clerk`` → 工作人员 demo-clerk; ``institution:H1/li`` → 定点机构 H1(收费员 li)."""
    if actor.startswith("migration"):
        return "数据库升级"
    if ":" not in actor:
        return {"system": "系统", "cli": "命令行(运维)", "demo": "演示数据载入"}.get(actor, "其他")
    kind, _, rest = actor.partition(":")
    who, _, user = rest.partition("/")
    words = f"{KIND_ZH.get(kind, '其他')} {who}"
    return f"{words}(收费员 {user})" if user else words


def subject_words(target: str) -> str:
    if target.startswith("binding:"):
        return f"绑定 {target[8:]}"
    if target.startswith("flag:"):
        return f"监管线索 {target[5:]}"
    if target.startswith("claim:"):
        _, claim, _, psn = (target.split(":") + ["", ""])[:4]
        return f"报销单 {claim}(参保人 {psn})"
    # ``username:role:area`` of a new staff member, ``institution:patient`` of a settlement:
    # the parts side by side, a role in words
    return " · ".join(ROLE_ZH.get(part, part) for part in target.replace("->", " → ").split(":")) or "无"


def _day(text: str, name: str, errors: dict) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        errors[name] = "应为日期,如 2025-06-03"
        return None


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, frm: Annotated[str, Query(alias="from", max_length=10)] = "",
               to: Annotated[str, Query(max_length=10)] = "", actor: Text = "", action: Text = "",
               person: Annotated[str, Query(max_length=64)] = "", page_no: PageNo = 1,
               who: Principal = Depends(page(*AUDITORS))):
    values = {"from": frm.strip(), "to": to.strip(), "actor": actor.strip(), "action": action, "person": person.strip()}
    return _show(request, who, values, page_no)


@router.post("/audit/verify", response_class=HTMLResponse)
def verify(request: Request, who: Principal = Depends(page(*AUDITORS))):
    """The whole chain, every link recomputed (``service.audit.verify_chain``); said in words."""
    def check(uow) -> dict:
        conn = uow.session.connection()
        total = conn.execute(select(func.count()).select_from(m.AuditEntry)).scalar_one()
        return {"total": total, "problems": [p.split(" / ")[0] for p in verify_chain(conn)]}

    return _show(request, who, {}, 1, verdict=svc(request).read(check))


def _show(request: Request, who: Principal, values: dict[str, str], page_no: int, verdict: dict | None = None):
    errors: dict[str, str] = {}
    start, end = _day(values.get("from", ""), "from", errors), _day(values.get("to", ""), "to", errors)
    if start and end and end < start:
        errors["to"] = "终止日期不能早于起始日期"
    action = values.get("action", "")
    if action and action not in ACTION_ZH:
        errors["action"] = "不在可选范围内"
    found: dict = {"total": 0, "items": []}
    if not errors:
        found = svc(request).read(directory.audit, who.area, frm=start, to=end, actor=values.get("actor", ""),
                                  action=action, person=values.get("person", ""), limit=PER_PAGE,
                                  offset=(page_no - 1) * PER_PAGE)
    rows = [e | {"who": actor_words(e["actor"]), "what": action_words(e["action"]),
                 "subject": subject_words(e["target"])} for e in found["items"]]
    return render(request, "audit.html", who, status=422 if errors else 200, values=values, errors=errors,
                  rows=rows, total=found["total"], page_no=page_no, pages=max(1, -(-found["total"] // PER_PAGE)),
                  query=urlencode({k: v for k, v in values.items() if v}),
                  actions=[("", "全部")] + list(ACTION_ZH.items()), verdict=verdict)
