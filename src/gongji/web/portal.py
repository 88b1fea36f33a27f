"""The family portal: the insured person's account, caps, bindings, records (and their Excel),
applying, withdrawing, unbinding and freezing."""

from __future__ import annotations

import os
import tempfile
from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from starlette.background import BackgroundTask

from gongji.domain.errors import DomainError
from gongji.domain.labels import RELATION_ZH
from gongji.gate.auth import Principal
from gongji.gate.params import BindingId
from gongji.policy.loader import PolicyError
from gongji.service import commands as c
from gongji.service import queries as q
from gongji.web import documents
from gongji.web.common import attempt, back, caps_shown, page, reader, render, svc
from gongji.web.forms import ApplyForm, Filled, again, kept, refused_status

router = APIRouter(include_in_schema=False)

CAP_LABELS = (("beneficiary_year", "家人为我支付(年度)"), ("beneficiary_year_chronic", "含慢性病额外额度"),
              ("holder_year", "我为家人支付(年度)"))

def _period(request: Request) -> tuple[date | None, date | None, str | None]:
    def day(name: str) -> date | None:
        try:
            return date.fromisoformat(request.query_params.get(name, ""))
        except ValueError:
            return None
    return day("from"), day("to"), request.query_params.get("person") or None


@router.get("/portal", response_class=HTMLResponse)
def portal(request: Request, who: Principal = Depends(page("person"))):
    return _portal(request, who)


def _portal(request: Request, who: Principal, status: int = 200, shown: dict | None = None) -> HTMLResponse:
    """The portal; ``shown``: the application refused, shown again as typed (``forms.again``).
    Read from the province's standby when one is named (``common.reader``)."""
    s = svc(request) if shown is not None else reader(request)
    today = s.clock()
    frm, to, patient = _period(request)
    person = s.read(q.person_view, who.id, unmasked=True)
    account = s.read(q.account_view, s.registry, who.id, today)
    try:
        region = s.registry.find(person["insu_admdvs"])
        relations = [r for r in RELATION_ZH if r in region.value("relations", today)]
        review_days = region.value("review_working_days", today)
    except PolicyError:
        relations, review_days = [], 3
    bindings = s.read(q.bindings_list, today, person_no=who.id, limit=200)["items"]
    family = sorted({who.id} | {b["holder"] for b in bindings} | {b["beneficiary"] for b in bindings})
    transactions = s.read(q.transactions, who.id, 200, 0, frm, to, patient)["items"]
    names = s.read(q.names_of, {*family, *(t["patient"] for t in transactions if t.get("patient"))})  # one query
    return render(request, "portal.html", who, person=person, account=account, caps=caps_shown(account, CAP_LABELS),
                  bindings=bindings, family=family, names=names, transactions=transactions,
                  relations=relations, review_days=review_days,
                  filters={"from": frm.isoformat() if frm else "", "to": to.isoformat() if to else "",
                           "person": patient or ""},
                  query=request.url.query, status=status, kept=shown)


@router.get("/portal/records.xlsx")
def portal_records(request: Request, who: Principal = Depends(page("person"))):
    """Every record of the period, however many: written row by row to a temporary file as the
    rows come from one query, then sent from the file (deleted once sent)."""
    s = reader(request)
    frm, to, patient = _period(request)
    today = s.clock()

    def write(uow) -> None:
        bindings = list(_all_bindings(uow, today, who.id))  # a family's few, read before the rows stream
        family = {who.id, *(b["holder"] for b in bindings), *(b["beneficiary"] for b in bindings)}
        if patient:
            family.add(patient)
        names = q.names_of(uow, family)
        with open(path, "wb") as out:  # a retried read starts the file afresh
            documents.records_xlsx(out, who.id, q.all_transactions(uow, who.id, frm, to, patient),
                                   bindings, frm, to, patient=patient, names=names)

    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        s.read(write)
    except BaseException:
        os.unlink(path)
        raise
    return FileResponse(path, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        filename=f"records-{who.id}.xlsx", background=BackgroundTask(os.unlink, path))


def _all_bindings(uow, today: date, psn_no: str):
    offset, total = 0, 1
    while offset < total:
        chunk = q.bindings_list(uow, today, person_no=psn_no, limit=q.MAX_PAGE, offset=offset)
        total, offset = chunk["total"], offset + q.MAX_PAGE
        yield from chunk["items"]


@router.post("/portal/apply")
def portal_apply(request: Request, who: Principal = Depends(page("person")),
                 filled: Filled[ApplyForm] = kept(ApplyForm)):
    try:
        if (f := filled.model) is None:
            raise filled.error or DomainError("INVALID_INPUT", "请重新填写申请")
        if not (f.face_check and f.e_commitment):
            raise DomainError("INVALID_INPUT", "请先完成人脸识别并同意电子承诺书。",
                              "e_commitment" if f.face_check else "face_check")
        cmd = c.Apply(holder=who.id, beneficiary=f.beneficiary, relation=f.relation, channel="online",
                      face_check=True, e_commitment=True)
        svc(request).apply(cmd, actor=who.actor, by_person=who.id)
    except DomainError as e:
        return _portal(request, who, refused_status(e), again("apply", filled, e))
    return back(request, "/portal", "applied")


def _own(request: Request, who: Principal, binding_id: int, action, done: str) -> RedirectResponse:
    """Act on the person's own binding ``binding_id``; the service decides what they may do."""
    return attempt(request, "/portal", done, action, c.BindingRef(binding_id=binding_id), actor=who.actor,
                    by_person=who.id)


@router.post("/portal/bindings/{binding_id}/withdraw")
def portal_withdraw(request: Request, binding_id: BindingId, who: Principal = Depends(page("person"))):
    return _own(request, who, binding_id, svc(request).withdraw, "withdrawn")


@router.post("/portal/bindings/{binding_id}/unbind")
def portal_unbind(request: Request, binding_id: BindingId, who: Principal = Depends(page("person"))):
    return _own(request, who, binding_id, svc(request).unbind, "unbound")


@router.post("/portal/freeze")
def portal_freeze(request: Request, who: Principal = Depends(page("person"))):
    svc(request).freeze(c.Freeze(holder=who.id), actor=who.actor)
    return back(request, "/portal", "frozen")


@router.post("/portal/unfreeze")
def portal_unfreeze(request: Request, who: Principal = Depends(page("person"))):
    svc(request).unfreeze(c.Freeze(holder=who.id), actor=who.actor)
    return back(request, "/portal", "unfrozen")
