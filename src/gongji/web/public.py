"""Pages for anyone: home, login and logout, the policy comparison, and the 结算单 (for each
party to a settlement)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gongji.gate.auth import COOKIE, Principal
from gongji.gate.login import BUSY, REFUSED, RETRY_AFTER, check_password
from gongji.policy.compare import ROWS, grounding, is_unpublished
from gongji.policy.loader import PolicyError
from gongji.service import queries as q
from gongji.service import security
from gongji.web import documents
from gongji.web.common import page, party_settlement, render, svc

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, who: Principal = Depends(page("anyone"))):
    if who.kind == "person":
        return RedirectResponse("/portal", 303)
    if who.kind == "staff":
        return RedirectResponse("/desk", 303)
    if who.kind == "institution":
        return RedirectResponse("/cashier", 303)
    return render(request, "home.html", who)


def local_path(target: str) -> str:
    """Where to go after logging in: a path of this site only. ``//host``, ``/\\host`` (browsers
    read a backslash as a slash) and anything with a scheme or control characters become ``/``."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target \
            or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return "/"
    return target


def _routed(request: Request) -> list[str] | None:
    """The provinces served, when routed by province (the login page's hint on ``name@53``)."""
    provinces = request.app.state.provinces
    return provinces.codes() if provinces.routed else None


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, kind: str = "person", next: str = "/", who: Principal = Depends(page("anyone"))):
    return render(request, "login.html", who, kind=kind, next=local_path(next), provinces=_routed(request))


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, kind: Annotated[str, Form()], username: Annotated[str, Form(max_length=64)],
                password: Annotated[str, Form(max_length=200)], next: Annotated[str, Form()] = "/",
                who: Principal = Depends(page("anyone"))):
    if kind not in ("person", "staff", "cashier"):
        kind = "person"
    result = await check_password(request, kind, username, password)
    if result is None or not result.ok:
        response = render(request, "login.html", who, status=401 if result else 429, kind=kind, username=username,
                          provinces=_routed(request),
                          next=local_path(next), flash_err=REFUSED if result else BUSY)
        if result is None:
            response.headers["Retry-After"] = RETRY_AFTER
        return response
    response = RedirectResponse(local_path(next), 303)
    response.set_cookie(COOKIE, result.token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=security.SESSION_HOURS * 3600, path="/")
    return response


@router.post("/logout")
def logout(request: Request, who: Principal = Depends(page("staff", "person", "institution"))):
    if COOKIE in request.cookies:  # a signed institution request has no session to end
        security.logout(svc(request).engine, request.cookies[COOKIE])
    response = RedirectResponse("/", 303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/statements/{setl_id}.pdf")
def statement(request: Request, setl_id: str, who: Principal = Depends(page("person", "staff", "institution")),
              paper: documents.Paper = "a4", first: bool = False):
    """The 结算单; marked 补打 unless ``?first=1`` (the cashier's link right after settling)."""
    s = party_settlement(request, who, setl_id)
    inst = svc(request).read(q.institution_view, s["fixmedins"])
    people = svc(request).read(q.statement_people, s)
    pdf = documents.settlement_pdf(s, inst, people, paper=paper, first=first)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{s["setl_id"]}.pdf"'})



# --- policies -----------------------------------------------------------------------------

@router.get("/policies", response_class=HTMLResponse)
def policies(request: Request, who: Principal = Depends(page("anyone"))):
    s = svc(request)
    text = request.query_params.get("date")
    try:
        day = date.fromisoformat(text) if text else s.clock()
    except ValueError:
        day, text = s.clock(), None
    regions = s.registry.regions
    rows = []
    try:
        for row in ROWS:
            cells = []
            for p in regions:
                recs = [p.params[n] for n in row.params]
                badge = ("unpublished" if all(is_unpublished(r, day) for r in recs)
                         else "assumption" if any(r.raw.assumption for r in recs) else None)
                cells.append({"text": row.show(p, day), "badge": badge,
                              "tip": ";".join(grounding(r) for r in recs)})
            rows.append((row.label, cells))
    except PolicyError as e:
        return render(request, "policies.html", who, status=200, day=s.clock().isoformat(), regions=regions,
                      rows=[], flash_err=e.plain)
    return render(request, "policies.html", who, day=day.isoformat(), regions=regions, rows=rows)
