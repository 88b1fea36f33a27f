"""The cashier's desk of a designated institution: find the patient, enter the bill (any number of
rows, items found in the catalogue by code, name or pinyin initials), preview, settle, print the
结算单, reverse; and the institution's settlement history (search, pages, reprint, reverse).

A refused preview or settlement shows the same desk again with the whole bill as it was typed and
the bad row marked, never a redirect that loses it."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from gongji.domain import labels
from gongji.domain.codes import CODE_ZH
from gongji.domain.errors import DomainError
from gongji.gate.auth import Principal
from gongji.service import cashier_history, catalog_search
from gongji.service import queries as q
from gongji.web.common import BILL_CATEGORIES, back, page, party_settlement, render, svc, templates
from gongji.web.forms import ROW_FIELD, BillForm, PreviewForm, SettleForm, form, visit_of

router = APIRouter(include_in_schema=False)
EMPTY_ROWS = 5  # a fresh bill: enough rows without JavaScript; with it, rows are added and removed
ROW_COLUMNS = ("code", "name", "list_class", "category", "amount", "selfpay_prop")
BACK_TO = re.compile(r"/cashier(?:/history)?(?:\?[0-9A-Za-z%&=._+\-]*)?")  # where a reversal returns


def words(e: DomainError) -> str:
    label = CODE_ZH.get(e.code, "")
    return f"{label}:{e.message}" if label and label not in e.message else e.message


def bill_of(f: BillForm | None, error: DomainError | None = None) -> dict:
    """The bill as the form holds it (or an empty one), with the refusal put beside what it names:
    a row's field (``rows.N.amount``) or a field of the visit (``dise_codg``)."""
    if f is None:
        rows = [dict.fromkeys(ROW_COLUMNS, "") for _ in range(EMPTY_ROWS)]
        return {"rows": rows, "med_type": "", "dise_codg": "", "external_rx": False, "no_account": False, "bad": {}}
    rows = [dict(zip(ROW_COLUMNS, values, strict=True))
            for values in zip(f.code, f.name, f.list_class, f.category, f.amount, f.selfpay_prop, strict=True)]
    bad: dict[str, str] = {}
    mark = ROW_FIELD.fullmatch(error.field or "") if error else None
    if error and mark and int(mark[1]) < len(rows):
        rows[int(mark[1])]["bad"] = {mark[2] if mark[2] in ROW_COLUMNS else "amount": error.message}
    elif error and error.field in ("dise_codg", "med_type"):
        bad[error.field] = error.message
    return {"rows": rows or bill_of(None)["rows"], "med_type": f.med_type, "dise_codg": f.dise_codg,
            "external_rx": bool(f.external_rx), "no_account": bool(f.no_account), "bad": bad}


def desk(request: Request, who: Principal, *, patient: str | None = None, f: BillForm | None = None,
         error: DomainError | None = None, key: str | None = None, split: dict | None = None,
         status: int = 200, warning: str | None = None):
    """The desk; with a bill form, the patient it names and the bill kept as typed."""
    s = svc(request)
    found = None
    query = f.psn_no if f is not None else (patient or "").strip()
    if query:
        try:
            found = s.read(q.find_patient, query)
        except DomainError as e:
            error = error or e
    done = None
    if f is None and request.query_params.get("done"):
        try:
            done = party_settlement(request, who, request.query_params["done"])
        except DomainError:
            done = None
    recent = s.read(q.settlements_of, fixmedins=who.id, limit=10)["items"]
    return render(request, "cashier.html", who, status=status, inst=s.read(q.institution_view, who.id),
                  patient=found, query_patient=query, key=key or uuid.uuid4().hex, done=done,
                  fields=labels.AMOUNT_ZH, categories=BILL_CATEGORIES, bill=bill_of(f, error),
                  split=split, warning=warning, search_url="/cashier/search",
                  recent=recent, names=_payers(request, split, done, patients=[r["psn_no"] for r in recent]), flash_err=words(error) if error is not None else None)


def _payers(request: Request, *splits: dict | None, patients: tuple[str, ...] | list[str] = ()) -> dict:
    """The names of the holders who pay in the splits shown (and of ``patients``), in one query:
    the cashier tells the patient whose account paid."""
    people = [*patients, *(d["holder"] for s in splits if s for d in s["mulaid_detail"])]
    return svc(request).read(q.names_of, people) if people else {}


@router.get("/cashier", response_class=HTMLResponse)
def cashier(request: Request, patient: str | None = None, who: Principal = Depends(page("institution"))):
    return desk(request, who, patient=patient)


@router.get("/cashier/search", response_class=HTMLResponse)
def cashier_search(request: Request, text: Annotated[str, Query(alias="q", max_length=64)] = "",
                   who: Principal = Depends(page("institution"))):
    """Catalogue lines in force today for the institution's region, as options for the bill row."""
    s = svc(request)
    inst = s.read(q.institution_view, who.id)
    hits = s.read(catalog_search.search, s.catalog_index, inst["admdvs"], s.clock(), text)
    return templates.TemplateResponse(request, "suggest.html", {"hits": hits, "categories": dict(BILL_CATEGORIES),
                                                               "text": text.strip()})


@router.post("/cashier/preview", response_class=HTMLResponse)
def cashier_preview(request: Request, who: Principal = Depends(page("institution")),
                    f: PreviewForm = form(PreviewForm)):
    """HTMX: the split (or the refusal) and the bill's rows again, marked; without JavaScript the
    whole desk with the split under the bill."""
    error, split = None, None
    try:
        split = svc(request).preview(visit_of(who.id, f), by_catalog=True)
    except DomainError as e:
        error = e
    status = 200 if error is None else 422
    if not request.headers.get("hx-request"):
        return desk(request, who, f=f, error=error, split=split, status=status, key=f.key)
    return templates.TemplateResponse(request, "preview.html", {
        "done": split, "error": words(error) if error else None, "fields": labels.AMOUNT_ZH,
        "names": _payers(request, split),
        "bill": bill_of(f, error), "categories": BILL_CATEGORIES, "search_url": "/cashier/search"},
        status_code=status)


@router.post("/cashier/settle")
def cashier_settle(request: Request, who: Principal = Depends(page("institution")), f: SettleForm = form(SettleForm)):
    try:
        visit = visit_of(who.id, f)
        out = request.app.state.metrics.timed_settle(svc(request), f.key, visit, who.actor, by_catalog=True)
    except DomainError as e:
        # The key's rule (service.settle_once): one settlement per institution and key; the same
        # bill again under a booked key answers the first settlement, never a second charge. A
        # refusal books nothing, so the form keeps its key: a retry after a fix settles once even
        # if pressed twice. Only IDEMPOTENCY_CONFLICT means the key DID book (another bill): keeping
        # it would refuse forever, so the form gets a new key, and a warning names the booked one.
        if e.code != "IDEMPOTENCY_CONFLICT":
            return desk(request, who, f=f, error=e, key=f.key, status=422)
        booked = svc(request).setl_id_for_key(f.key, who.id)
        return desk(request, who, f=f, error=e, status=409,
                    warning=f"此单已以结算号 {booked} 记账。若是同一次就诊,请在结算记录中查看或冲正 {booked};"
                            "确认是另一笔费用再点“结算”。")
    return RedirectResponse(f"/cashier?done={out['setl_id']}", 303)


@router.post("/cashier/settlements/{setl_id}/reverse")
def cashier_reverse(request: Request, setl_id: str, who: Principal = Depends(page("institution")),
                    to: Annotated[str, Query(alias="back", max_length=300)] = "/cashier"):
    where = to if BACK_TO.fullmatch(to) else "/cashier"
    try:
        party_settlement(request, who, setl_id)
        svc(request).reverse(setl_id, f"rev-{setl_id}", actor=who.actor)
    except DomainError as e:
        return back(request, where, error=e, doing="冲正")
    return back(request, where, "reversed")


def _day(text: str, label: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError("INVALID_INPUT", f"{label}应为日期,如 2025-06-03", "date") from None


@router.get("/cashier/history", response_class=HTMLResponse)
def cashier_history_page(request: Request, who: Principal = Depends(page("institution")),
                         start: Annotated[str, Query(alias="from", max_length=10)] = "",
                         end: Annotated[str, Query(alias="to", max_length=10)] = "",
                         patient: Annotated[str, Query(max_length=64)] = "",
                         setl_id: Annotated[str, Query(max_length=20)] = "",
                         page_no: Annotated[str, Query(alias="page", max_length=6)] = "1"):
    """This institution's settlements, 20 a page, newest first; any of them reprinted or reversed."""
    asked = {"from": start.strip(), "to": end.strip(), "patient": patient.strip(), "setl_id": setl_id.strip()}
    error, found = None, {"total": 0, "page": 1, "pages": 1, "items": []}
    try:
        number = int(page_no) if page_no.isdigit() else 0
        found = svc(request).read(cashier_history.history, who.id, start=_day(start, "起始日期"),
                                  end=_day(end, "终止日期"), patient=asked["patient"], setl_id=asked["setl_id"],
                                  page=number)
    except DomainError as e:
        error = e.message
    kept = {k: v for k, v in asked.items() if v}
    here = "/cashier/history" + ("?" + urlencode(kept | {"page": found["page"]}) if kept or found["page"] > 1 else "")
    return render(request, "cashier_history.html", who, status=422 if error else 200,
                  inst=svc(request).read(q.institution_view, who.id), found=found, asked=asked,
                  pages=_pages(found["page"], found["pages"]), here=here,
                  link=lambda n: "/cashier/history?" + urlencode(kept | {"page": n}),
                  flash_err=error)


def _pages(current: int, last: int) -> list[int | None]:
    """Page numbers to link: the first, the last and two either side of the current (None: a gap)."""
    out: list[int | None] = []
    previous = 0
    for n in sorted({1, last, *range(max(1, current - 2), min(last, current + 2) + 1)}):
        if n - previous > 1:
            out.append(None)
        out.append(n)
        previous = n
    return out
