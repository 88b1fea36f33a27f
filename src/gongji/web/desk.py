"""The agency's desk: the review queue, the office (offline applications, status changes,
sanctions), manual reimbursement with its second check, and the dashboard."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from gongji.domain import labels
from gongji.domain.errors import DomainError
from gongji.gate.auth import Principal
from gongji.gate.params import BindingId
from gongji.policy.loader import PolicyError
from gongji.service import commands as c
from gongji.service import queries as q
from gongji.service import scope
from gongji.web.common import BILL_CATEGORIES, attempt, back, guard, page, party_settlement, render, svc
from gongji.web.forms import OfflineForm, ReimburseForm, SanctionForm, StatusForm, form, refusal, visit_of

router = APIRouter(include_in_schema=False)


@router.get("/desk", response_class=HTMLResponse)
def desk(request: Request, who: Principal = Depends(page("staff"))):
    s = svc(request)
    today = s.clock()
    queue = s.read(q.bindings_list, today, state="pending", limit=200, area=who.area)["items"]
    names = s.read(q.names_of, [p for b in queue for p in (b["holder"], b["beneficiary"])])  # one query
    reasons = {}
    for b in queue:
        region = s.registry.find(b["region"])
        reasons[b["region"]] = region.value("rejection_reasons", today)
        channel = [ch for ch in region.value("channels", today) if ch.kind == b["channel"]]
        b["checklist"] = [(m, m in b["materials"]) for ch in channel for m in ch.materials] \
            if b["channel"] == "offline" else []
    return render(request, "desk.html", who, queue=queue, reasons=reasons, names=names,
                  can_review=who.role in ("clerk", "supervisor"))


@router.post("/desk/bindings/{binding_id}/review")
def desk_review(request: Request, binding_id: BindingId, decision: Annotated[str, Form()],
                reason: Annotated[str, Form(max_length=200)] = "", who: Principal = Depends(page("clerk", "supervisor"))):
    guard(request, who, scope.act_on_binding, binding_id)  # outside the try: a 403 page, not a flash
    cmd = c.Review(binding_id=binding_id, decision=decision, reason=reason or None)
    return attempt(request, "/desk", "approved" if decision == "approve" else "rejected", svc(request).review,
                    cmd, actor=who.actor)


@router.get("/desk/office", response_class=HTMLResponse)
def office(request: Request, who: Principal = Depends(page("clerk", "supervisor"))):
    reasons = []
    for region in svc(request).registry.regions:
        reasons += [r for r in region.value("sanction_reasons", svc(request).clock()) if r not in reasons]
    return render(request, "office.html", who, sanction_reasons=reasons)


@router.get("/desk/materials", response_class=HTMLResponse)
def materials(request: Request, holder: str = "", who: Principal = Depends(page("clerk", "supervisor"))):
    """The offline channel's materials of the holder's region, as checkboxes (HTMX fragment)."""
    from html import escape
    s = svc(request)
    try:
        guard(request, who, scope.see_person, holder.strip())
        person = s.read(q.person_view, holder.strip())
        region = s.registry.find(person["insu_admdvs"])
    except (DomainError, PolicyError):
        return HTMLResponse('<legend class="muted">查无此主账户人,或其参保地没有共济政策</legend>')
    items = [m for ch in region.value("channels", s.clock()) if ch.kind == "offline" for m in ch.materials]
    boxes = "".join(f'<label><input type="checkbox" name="materials" value="{escape(m)}"> {escape(m)}</label>'
                    for m in items)
    whose = labels.person(person["psn_no"], s.read(q.names_of, [person["psn_no"]]).get(person["psn_no"]))
    return HTMLResponse(f'<legend>{escape(whose)} · {escape(labels.region_name(region.region))}线下申请材料'
                        f'(勾选已收取的)</legend>{boxes}')


@router.post("/desk/offline")
def desk_offline(request: Request, who: Principal = Depends(page("clerk", "supervisor")),
                 f: OfflineForm = form(OfflineForm)):
    guard(request, who, scope.act_on, [f.holder, f.beneficiary], "申请的双方")
    try:
        cmd = c.Apply(holder=f.holder, beneficiary=f.beneficiary, relation=f.relation, channel="offline",
                      materials=f.materials)
        svc(request).apply(cmd, actor=who.actor)
    except DomainError as e:
        return back(request, "/desk/office", error=e)
    return back(request, "/desk", "applied")


@router.post("/desk/status")
def desk_status(request: Request, who: Principal = Depends(page("supervisor")), f: StatusForm = form(StatusForm)):
    guard(request, who, scope.act_on, [f.psn_no])  # outside the try: a 403 page, not a flash
    try:
        out = svc(request).change_status(c.StatusChange(psn_no=f.psn_no, status=f.status), actor=who.actor)
    except DomainError as e:
        return back(request, "/desk/office", error=e)
    ended = len(out["bindings_ended"])
    zeroed = "、".join(f"{'受益' if k == 'received' else '支出'}额度 {v} 元" for k, v in out.get("quota_zeroed", {}).items())
    text = f"已变更 {_named(request, f.psn_no)} 的参保状态:终止绑定 {ended} 个" + (f";清零{zeroed}" if zeroed else "")
    return back(request, "/desk/office", text=text)


@router.post("/desk/sanction")
def desk_sanction(request: Request, who: Principal = Depends(page("supervisor")), f: SanctionForm = form(SanctionForm)):
    guard(request, who, scope.act_on, [f.psn_no])
    try:
        cmd = c.SanctionCmd(psn_no=f.psn_no, reason=f.reason, **{"from": f.from_, "to": f.to})
        svc(request).sanction(cmd, actor=who.actor)
    except DomainError as e:
        return back(request, "/desk/office", error=e)
    return back(request, "/desk/office", text=f"已暂停 {_named(request, f.psn_no)} 的共济:{f.from_} 至 {f.to}")


def _named(request: Request, psn_no: str) -> str:
    """``王建国(P1)`` for the outcome shown to the clerk (never logged)."""
    return labels.person(psn_no, svc(request).read(q.names_of, [psn_no]).get(psn_no))


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, who: Principal = Depends(page("staff"))):
    s = svc(request)
    today = s.clock()
    f = s.read(q.dashboard, s.registry, today, area=who.area)
    f["daily_short"] = [(d[5:], n) for d, n in f["daily"]]
    f["regions_yuan"] = [(name, fen // 100) for name, fen in f["regions"]]  # whole yuan: bar heights only
    f["bands_named"] = list(zip(("0–20%", "20–40%", "40–60%", "60–80%", "80–100%", "未设上限"), f["bands"], strict=False))
    return render(request, "dashboard.html", who, figures=f, year=today.year)


@router.get("/desk/reimburse", response_class=HTMLResponse)
def reimburse_page(request: Request, done: str | None = None, who: Principal = Depends(page("clerk", "supervisor"))):
    from gongji.service.settlements import pending_reimbursements
    shown = party_settlement(request, who, done) if done else None
    pending = svc(request).read(pending_reimbursements, 200, 0, who.area)
    people = [p["psn_no"] for p in pending["items"]]
    if shown:
        people += [shown["psn_no"], *(d["holder"] for d in shown["mulaid_detail"])]
    return render(request, "reimburse.html", who, done=shown, fields=labels.AMOUNT_ZH, categories=BILL_CATEGORIES,
                  pending=pending, names=svc(request).read(q.names_of, people), levels=labels.LEVEL_ZH)


@router.post("/desk/reimburse")
def reimburse(request: Request, who: Principal = Depends(page("clerk", "supervisor")),
              f: ReimburseForm = form(ReimburseForm)):
    try:
        cmd = c.Reimburse.model_validate({
            "claim_no": f.claim_no, "visit_on": f.visit_on, "visit": visit_of(f.inst_code, f),
            "institution": {"code": f.inst_code, "name": f.inst_name, "level": f.inst_level,
                            "admdvs": f.inst_admdvs, "kind": f.inst_kind}})
    except ValidationError as e:
        raise refusal(e) from None
    guard(request, who, scope.act_on, [cmd.visit.psn_no])
    try:
        out = svc(request).reimburse(cmd, actor=who.actor)
    except DomainError as e:
        return back(request, "/desk/reimburse", error=e, doing="登记")
    return RedirectResponse(f"/desk/reimburse?done={out['setl_id']}", 303)


def _decide(request: Request, who: Principal, setl_id: str, decide, done: str) -> RedirectResponse:
    """A second supervisor's decision on a pending reimbursement of their area."""
    guard(request, who, scope.act_on_settlement, setl_id)
    return attempt(request, "/desk/reimburse", done, decide, setl_id, actor=who.actor)


@router.post("/desk/reimburse/{setl_id}/approve")
def reimburse_approve(request: Request, setl_id: str, who: Principal = Depends(page("supervisor"))):
    return _decide(request, who, setl_id, svc(request).approve_reimbursement, "reimbursement_paid")


@router.post("/desk/reimburse/{setl_id}/reject")
def reimburse_reject(request: Request, setl_id: str, who: Principal = Depends(page("supervisor"))):
    return _decide(request, who, setl_id, svc(request).reject_reimbursement, "reimbursement_rejected")
