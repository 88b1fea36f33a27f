"""The cashier's desk of a designated institution: find the patient, enter the bill, preview,
settle, print the 结算单, reverse."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from gongji.domain.codes import CODE_ZH
from gongji.domain.errors import DomainError
from gongji.gate.auth import Principal
from gongji.service import queries as q
from gongji.web import documents
from gongji.web.common import BILL_CATEGORIES, back, page, party_settlement, render, svc, templates
from gongji.web.forms import BillForm, SettleForm, form, visit_of

router = APIRouter(include_in_schema=False)


@router.get("/cashier", response_class=HTMLResponse)
def cashier(request: Request, patient: str | None = None, who: Principal = Depends(page("institution"))):
    import uuid

    s = svc(request)
    found = None
    if patient:
        try:
            found = s.read(q.find_patient, patient.strip())
        except DomainError as e:
            request.state.flash_err = f"{CODE_ZH.get(e.code, '未找到')}:{e.message}"
    done = None
    if request.query_params.get("done"):
        try:
            done = party_settlement(request, who, request.query_params["done"])
        except DomainError:
            done = None
    return render(request, "cashier.html", who, inst=s.read(q.institution_view, who.id), patient=found,
                  query_patient=patient, key=uuid.uuid4().hex, done=done,
                  fields=documents.FIELDS_ZH, categories=BILL_CATEGORIES,
                  recent=s.read(q.settlements_of, fixmedins=who.id, limit=10)["items"],
                  flash_err=getattr(request.state, "flash_err", None))


@router.post("/cashier/preview", response_class=HTMLResponse)
def cashier_preview(request: Request, who: Principal = Depends(page("institution")), f: BillForm = form(BillForm)):
    visit = visit_of(who.id, f)
    try:
        split = svc(request).preview(visit, by_catalog=True)
    except DomainError as e:
        return templates.TemplateResponse(request, "split.html", {"error": f"{CODE_ZH.get(e.code, '')}:{e.message}"})
    return templates.TemplateResponse(request, "split.html", {"done": split, "fields": documents.FIELDS_ZH})


@router.post("/cashier/settle")
def cashier_settle(request: Request, who: Principal = Depends(page("institution")), f: SettleForm = form(SettleForm)):
    visit = visit_of(who.id, f)
    try:
        out = request.app.state.metrics.timed_settle(svc(request), f.key, visit, who.actor, by_catalog=True)
    except DomainError as e:
        return back(request, f"/cashier?patient={quote(f.psn_no)}", error=e, doing="结算")
    return RedirectResponse(f"/cashier?done={out['setl_id']}", 303)


@router.post("/cashier/settlements/{setl_id}/reverse")
def cashier_reverse(request: Request, setl_id: str, who: Principal = Depends(page("institution"))):
    try:
        party_settlement(request, who, setl_id)
        svc(request).reverse(setl_id, f"rev-{setl_id}", actor=who.actor)
    except DomainError as e:
        return back(request, "/cashier", error=e, doing="冲正")
    return back(request, "/cashier", "reversed")
