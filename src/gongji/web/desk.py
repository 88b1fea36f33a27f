"""The agency's desk: the review queue, the office (offline applications, status changes,
sanctions), manual reimbursement with its second check, and the dashboard."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import ValidationError

from gongji.domain import labels
from gongji.domain.errors import DomainError
from gongji.gate.auth import Principal
from gongji.gate.params import BindingId
from gongji.policy.loader import PolicyError
from gongji.service import commands as c
from gongji.service import queries as q
from gongji.service import scope
from gongji.web.common import BILL_CATEGORIES, attempt, back, guard, page, party_settlement, render, svc, templates
from gongji.web.forms import (
    Filled,
    OfflineForm,
    ReimburseForm,
    SanctionForm,
    StatusForm,
    again,
    kept,
    refusal,
    refused_status,
    visit_of,
)

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
        b["missing"] = [m for m, given in b["checklist"] if not given] + (  # approving asks first, naming them
            [w for w, done in (("人脸识别", b["face_check"]), ("电子承诺书", b["e_commitment"])) if not done]
            if b["channel"] == "online" else [])
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
    return _office(request, who)


def _office(request: Request, who: Principal, status: int = 200, shown: dict | None = None) -> HTMLResponse:
    """The office page; ``shown``: a form refused, shown again as typed (``forms.again``)."""
    reasons = []
    for region in svc(request).registry.regions:
        reasons += [r for r in region.value("sanction_reasons", svc(request).clock()) if r not in reasons]
    listed = _materials(request, who, shown["values"]["holder"]) if shown and shown["form"] == "offline" else None
    return render(request, "office.html", who, status=status, sanction_reasons=reasons, kept=shown,
                  listed=listed)


def _refused(request: Request, who: Principal, form: str, filled: Filled, e: DomainError) -> HTMLResponse:
    return _office(request, who, refused_status(e), again(form, filled, e))


def _materials(request: Request, who: Principal, holder: str) -> tuple[str, list[str]] | None:
    """The holder's region and the materials its offline channel asks for; None for a person not
    known within the staff member's area, or a region without a policy."""
    s = svc(request)
    try:
        guard(request, who, scope.see_person, holder.strip())
        person = s.read(q.person_view, holder.strip())
        region = s.registry.find(person["insu_admdvs"])
    except (DomainError, PolicyError):
        return None
    whose = labels.person(person["psn_no"], s.read(q.names_of, [person["psn_no"]]).get(person["psn_no"]))
    return f"{whose} · {labels.region_name(region.region)}", [m for ch in region.value("channels", s.clock()) if ch.kind == "offline" for m in ch.materials]


@router.get("/desk/materials", response_class=HTMLResponse)
def materials(request: Request, holder: str = "", who: Principal = Depends(page("clerk", "supervisor"))):
    """The offline channel's materials of the holder's region, as checkboxes (HTMX fragment). The
    boxes already ticked come along (hx-include) and stay ticked: an answer arriving after the clerk
    ticked some must not silently untick them."""
    ticks = request.query_params.getlist("materials")
    return templates.TemplateResponse(request, "materials.html", {
        "listed": _materials(request, who, holder), "asked": True,
        "kept": {"form": "offline", "values": {"materials": ticks}, "bad": None} if ticks else None})


@router.get("/desk/person-name")
def person_name(request: Request, psn_no: str = "", who: Principal = Depends(page("clerk", "supervisor"))):
    """The name of a person of the staff member's area, for a confirmation to name whom it acts
    on; anyone else (or nobody) answers as unknown, whatever the reason."""
    s, psn_no = svc(request), psn_no.strip()[:64]
    try:
        guard(request, who, scope.see_person, psn_no)
        name = s.read(q.person_view, psn_no, unmasked=True)["name"] or "未登记姓名"
    except DomainError:
        return JSONResponse({"name": "查无此参保人"}, status_code=404)
    return JSONResponse({"name": name}, headers={"Cache-Control": "no-store"})


@router.post("/desk/offline")
def desk_offline(request: Request, who: Principal = Depends(page("clerk", "supervisor")),
                 filled: Filled[OfflineForm] = kept(OfflineForm)):
    if (f := filled.model) is None:
        return _refused(request, who, "offline", filled, _error(filled))
    guard(request, who, scope.act_on, [f.holder, f.beneficiary], "申请的双方")
    try:
        cmd = c.Apply(holder=f.holder, beneficiary=f.beneficiary, relation=f.relation, channel="offline",
                      materials=f.materials)
        svc(request).apply(cmd, actor=who.actor)
    except DomainError as e:
        return _refused(request, who, "offline", filled, e)
    return back(request, "/desk", "applied")


def _error(filled: Filled) -> DomainError:
    assert filled.error is not None  # a form is either read or refused
    return filled.error


@router.post("/desk/status")
def desk_status(request: Request, who: Principal = Depends(page("supervisor")),
                filled: Filled[StatusForm] = kept(StatusForm)):
    if (f := filled.model) is None:
        return _refused(request, who, "status", filled, _error(filled))
    guard(request, who, scope.act_on, [f.psn_no])  # outside the try: a 403 page, not a refusal beside the form
    try:
        out = svc(request).change_status(c.StatusChange(psn_no=f.psn_no, status=f.status), actor=who.actor)
    except DomainError as e:
        return _refused(request, who, "status", filled, e)
    ended = len(out["bindings_ended"])
    zeroed = "、".join(f"{'受益' if k == 'received' else '支出'}额度 {v} 元" for k, v in out.get("quota_zeroed", {}).items())
    text = f"已变更 {_named(request, f.psn_no)} 的参保状态:终止绑定 {ended} 个" + (f";清零{zeroed}" if zeroed else "")
    return back(request, "/desk/office", text=text)


@router.post("/desk/sanction")
def desk_sanction(request: Request, who: Principal = Depends(page("supervisor")),
                  filled: Filled[SanctionForm] = kept(SanctionForm)):
    if (f := filled.model) is None:
        return _refused(request, who, "sanction", filled, _error(filled))
    guard(request, who, scope.act_on, [f.psn_no])
    try:
        cmd = c.SanctionCmd(psn_no=f.psn_no, reason=f.reason, **{"from": f.from_, "to": f.to})
        svc(request).sanction(cmd, actor=who.actor)
    except DomainError as e:
        return _refused(request, who, "sanction", filled, e)
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
    shown = party_settlement(request, who, done) if done else None
    return _reimburse_page(request, who, done=shown)


def _reimburse_page(request: Request, who: Principal, status: int = 200, **ctx) -> HTMLResponse:
    from gongji.service.settlements import pending_reimbursements
    s = svc(request)
    pending = s.read(pending_reimbursements, 200, 0, who.area)
    people = [p["psn_no"] for p in pending["items"]]  # the list and the confirmations name the patient
    if shown := ctx.get("done"):
        people += [shown["psn_no"], *(d["holder"] for d in shown["mulaid_detail"])]
    return render(request, "reimburse.html", who, status=status, fields=labels.AMOUNT_ZH, categories=BILL_CATEGORIES,
                  pending=pending, names=s.read(q.names_of, people), levels=labels.LEVEL_ZH, **ctx)


@router.post("/desk/reimburse")
def reimburse(request: Request, who: Principal = Depends(page("clerk", "supervisor")),
              filled: Filled[ReimburseForm] = kept(ReimburseForm)):
    try:
        f = filled.model
        if f is None:
            raise _error(filled)
        try:
            cmd = c.Reimburse.model_validate({
                "claim_no": f.claim_no, "visit_on": f.visit_on, "visit": visit_of(f.inst_code, f),
                "institution": {"code": f.inst_code, "name": f.inst_name, "level": f.inst_level,
                                "admdvs": f.inst_admdvs, "kind": f.inst_kind}})
        except ValidationError as e:
            raise refusal(e) from None
    except DomainError as e:
        return _reimburse_page(request, who, refused_status(e), kept=again("reimburse", filled, e, "登记"))
    guard(request, who, scope.act_on, [cmd.visit.psn_no])
    try:
        out = svc(request).reimburse(cmd, actor=who.actor)
    except DomainError as e:
        return _reimburse_page(request, who, refused_status(e), kept=again("reimburse", filled, e, "登记"))
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
