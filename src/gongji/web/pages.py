"""Server-rendered pages (Jinja2 + HTMX), Chinese first: home, login, the family portal, the
review desk and the policy comparison. Pages use the same sessions, rules and service as the
API; a refusal comes back as a Chinese message on the page, never a code or a traceback."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.background import BackgroundTask

from gongji.api.auth import COOKIE, AuthError, Principal, allow, principal
from gongji.api.login import BUSY, REFUSED, RETRY_AFTER, check_password
from gongji.api.v1 import BindingId, area, party_settlement
from gongji.domain.codes import CODE_ZH
from gongji.domain.errors import DomainError
from gongji.domain.money import format_yuan, parse_yuan
from gongji.domain.terms import CATEGORIES
from gongji.policy.compare import CATEGORY_ZH, INSUTYPE_ZH, RELATION_ZH, ROWS, grounding, is_unpublished
from gongji.policy.loader import PolicyError
from gongji.service import commands as c
from gongji.service import queries as q
from gongji.service import scope, security
from gongji.web import documents, flash
from gongji.web.documents import KIND_ZH
from gongji.web.forms import (
    ApplyForm,
    BillForm,
    OfflineForm,
    ReimburseForm,
    SanctionForm,
    SettleForm,
    StatusForm,
    form,
    refusal,
)

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
templates.env.filters["codelabel"] = lambda code: CODE_ZH.get(code, code)
templates.env.filters["yuan"] = format_yuan
STATE_BADGE = {"pending": "warn", "approved": "ok", "rejected": "bad", "withdrawn": "muted",
               "unbound": "muted", "ended": "muted"}
DONE_ZH = {"reversed": "已冲正,各账户金额已原路退回。", "applied": "申请已提交,请等待审核。", "withdrawn": "申请已撤回。", "unbound": "已解绑:今天仍可共济,明天起停止。",
           "frozen": "已冻结:本账户暂不为家人支付。", "unfrozen": "已解除冻结。", "approved": "已审核通过,即时生效。",
           "rejected": "已驳回。",
           "reimbursement_paid": "已复核通过,统筹基金应付已记账支付。", "reimbursement_rejected": "已复核不通过,不予支付。"}


class NeedLogin(Exception):
    def __init__(self, path: str) -> None:
        self.path = path


def page(*rules: str):
    """Like ``allow``; an anonymous visitor is sent to the login page instead of a 401."""
    inner = allow(*rules)

    async def check(request: Request, who: Principal = Depends(principal)) -> Principal:
        try:
            return await inner(request, who)
        except AuthError as e:
            if e.status == 401:
                raise NeedLogin(request.url.path) from None
            raise

    check.rules = rules
    return check


CATALOG = [  # common items the cashier can pick; amounts are always entered
    {"code": "X001", "name": "血常规", "list_class": "A", "category": "exam"},
    {"code": "X002", "name": "彩超", "list_class": "A", "category": "exam"},
    {"code": "D001", "name": "阿莫西林胶囊", "list_class": "A", "category": "drug"},
    {"code": "D002", "name": "硝苯地平缓释片", "list_class": "B", "category": "drug", "selfpay_prop": "0.10"},
    {"code": "D003", "name": "二甲双胍片", "list_class": "A", "category": "drug"},
    {"code": "T001", "name": "针灸", "list_class": "B", "category": "tcm", "selfpay_prop": "0.05"},
    {"code": "T002", "name": "推拿", "list_class": "B", "category": "tcm", "selfpay_prop": "0.05"},
    {"code": "C001", "name": "营养补充剂", "list_class": "C", "category": "drug"},
]
BILL_CATEGORIES = [(k, CATEGORY_ZH[k]) for k in CATEGORIES]  # in-scope kinds first, as the domain lists them
CATALOG_JSON = json.dumps({it["code"]: it for it in CATALOG}, ensure_ascii=False)  # made once


def render(request: Request, name: str, who: Principal, status: int = 200, **ctx) -> HTMLResponse:
    """A page; ``ctx`` values given (not None) win over the defaults, the flash message included."""
    flash_ok, flash_err = flash.take(request)
    ctx = {"who": who, "csrf": getattr(request.state, "csrf", ""), "flash_ok": flash_ok, "flash_err": flash_err,
            "relation_zh": RELATION_ZH, "insutype_zh": INSUTYPE_ZH, "state_badge": STATE_BADGE,
            "kind_zh": KIND_ZH, "catalog": CATALOG,
            "catalog_json": CATALOG_JSON} | {k: v for k, v in ctx.items() if v is not None}
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    flash.forget(request, response)
    return response


def back(request: Request, path: str, ok: str | None = None, error: DomainError | None = None,
         text: str | None = None, doing: str = "办理") -> RedirectResponse:
    """Redirect to ``path``, whose page then shows the outcome once: ``DONE_ZH[ok]``, ``text``, or
    the refusal (``未能{doing}:…``). The words travel in the flash cookie, never in the URL."""
    response = RedirectResponse(path, 303)
    if error is not None:
        flash.put(request, response, "err", f"未能{doing}:{error.message}")
    else:
        flash.put(request, response, "ok", text or DONE_ZH[ok])
    return response


def svc(request: Request):
    return request.app.state.service


# --- home and login -----------------------------------------------------------------------

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


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, kind: str = "person", next: str = "/", who: Principal = Depends(page("anyone"))):
    return render(request, "login.html", who, kind=kind, next=local_path(next))


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, kind: Annotated[str, Form()], username: Annotated[str, Form(max_length=64)],
                password: Annotated[str, Form(max_length=200)], next: Annotated[str, Form()] = "/",
                who: Principal = Depends(page("anyone"))):
    if kind not in ("person", "staff", "cashier"):
        kind = "person"
    result = await check_password(request, kind, username, password)
    if result is None or not result.ok:
        response = render(request, "login.html", who, status=401 if result else 429, kind=kind, username=username,
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


# --- family portal ------------------------------------------------------------------------

CAP_LABELS = (("beneficiary_year", "家人为我支付(年度)"), ("beneficiary_year_chronic", "含慢性病额外额度"),
              ("holder_year", "我为家人支付(年度)"))


def _caps(account: dict) -> list[tuple[str, dict]]:
    out = []
    for key, label in CAP_LABELS:
        cap = account["caps"].get(key)
        if cap is None:
            continue
        cap = dict(cap)
        if cap.get("cap"):
            used, whole = parse_yuan(cap["used"]), parse_yuan(cap["cap"])
            cap["pct"] = 100 if whole == 0 else min(100, used * 100 // whole)
        out.append((label, cap))
    return out


def _period(request: Request) -> tuple[date | None, date | None, str | None]:
    def day(name: str) -> date | None:
        try:
            return date.fromisoformat(request.query_params.get(name, ""))
        except ValueError:
            return None
    return day("from"), day("to"), request.query_params.get("person") or None


@router.get("/portal", response_class=HTMLResponse)
def portal(request: Request, who: Principal = Depends(page("person"))):
    s = svc(request)
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
    return render(request, "portal.html", who, person=person, account=account, caps=_caps(account),
                  bindings=bindings, family=family,
                  transactions=s.read(q.transactions, who.id, 200, 0, frm, to, patient)["items"],
                  relations=relations, review_days=review_days,
                  filters={"from": frm.isoformat() if frm else "", "to": to.isoformat() if to else "",
                           "person": patient or ""},
                  query=request.url.query)


@router.get("/portal/records.xlsx")
def portal_records(request: Request, who: Principal = Depends(page("person"))):
    """Every record of the period, however many: written row by row to a temporary file as the
    rows come from one query, then sent from the file (deleted once sent)."""
    s = svc(request)
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


@router.post("/portal/apply")
def portal_apply(request: Request, who: Principal = Depends(page("person")), f: ApplyForm = form(ApplyForm)):
    if not (f.face_check and f.e_commitment):
        return back(request, "/portal", error=DomainError("INVALID_INPUT", "请先完成人脸识别并同意电子承诺书。"))
    cmd = c.Apply(holder=who.id, beneficiary=f.beneficiary, relation=f.relation, channel="online",
                  face_check=True, e_commitment=True)
    return _attempt(request, "/portal", "applied", svc(request).apply, cmd, actor=who.actor, by_person=who.id)


def _attempt(request: Request, where: str, done: str, act, *args, **kw) -> RedirectResponse:
    """Back to ``where`` with the ``done`` banner, or with the refusal's words."""
    try:
        act(*args, **kw)
    except DomainError as e:
        return back(request, where, error=e)
    return back(request, where, done)


def _own(request: Request, who: Principal, binding_id: int, action, done: str) -> RedirectResponse:
    """Act on the person's own binding ``binding_id``; the service decides what they may do."""
    return _attempt(request, "/portal", done, action, c.BindingRef(binding_id=binding_id), actor=who.actor,
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


# --- review desk --------------------------------------------------------------------------

@router.get("/desk", response_class=HTMLResponse)
def desk(request: Request, who: Principal = Depends(page("staff"))):
    s = svc(request)
    today = s.clock()
    queue = s.read(q.bindings_list, today, state="pending", limit=200, area=who.area)["items"]
    reasons, names = {}, {}
    for b in queue:
        region = s.registry.find(b["region"])
        names[b["region"]] = region.name
        reasons[b["region"]] = region.value("rejection_reasons", today)
        channel = [ch for ch in region.value("channels", today) if ch.kind == b["channel"]]
        b["checklist"] = [(m, m in b["materials"]) for ch in channel for m in ch.materials] \
            if b["channel"] == "offline" else []
    return render(request, "desk.html", who, queue=queue, reasons=reasons, region_name=names,
                  can_review=who.role in ("clerk", "supervisor"))


@router.post("/desk/bindings/{binding_id}/review")
def desk_review(request: Request, binding_id: BindingId, decision: Annotated[str, Form()],
                reason: Annotated[str, Form(max_length=200)] = "", who: Principal = Depends(page("clerk", "supervisor"))):
    area(request, who, scope.act_on_binding, binding_id)  # outside the try: a 403 page, not a flash
    cmd = c.Review(binding_id=binding_id, decision=decision, reason=reason or None)
    return _attempt(request, "/desk", "approved" if decision == "approve" else "rejected", svc(request).review,
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
        area(request, who, scope.see_person, holder.strip())
        person = s.read(q.person_view, holder.strip())
        region = s.registry.find(person["insu_admdvs"])
    except (DomainError, PolicyError):
        return HTMLResponse('<legend class="muted">查无此主账户人,或其参保地没有共济政策</legend>')
    items = [m for ch in region.value("channels", s.clock()) if ch.kind == "offline" for m in ch.materials]
    boxes = "".join(f'<label><input type="checkbox" name="materials" value="{escape(m)}"> {escape(m)}</label>'
                    for m in items)
    return HTMLResponse(f'<legend>{escape(region.name)}线下申请材料(勾选已收取的)</legend>{boxes}')


@router.post("/desk/offline")
def desk_offline(request: Request, who: Principal = Depends(page("clerk", "supervisor")),
                 f: OfflineForm = form(OfflineForm)):
    area(request, who, scope.act_on, [f.holder, f.beneficiary], "申请的双方")
    try:
        cmd = c.Apply(holder=f.holder, beneficiary=f.beneficiary, relation=f.relation, channel="offline",
                      materials=f.materials)
        svc(request).apply(cmd, actor=who.actor)
    except DomainError as e:
        return back(request, "/desk/office", error=e)
    return back(request, "/desk", "applied")


@router.post("/desk/status")
def desk_status(request: Request, who: Principal = Depends(page("supervisor")), f: StatusForm = form(StatusForm)):
    area(request, who, scope.act_on, [f.psn_no])  # outside the try: a 403 page, not a flash
    try:
        out = svc(request).change_status(c.StatusChange(psn_no=f.psn_no, status=f.status), actor=who.actor)
    except DomainError as e:
        return back(request, "/desk/office", error=e)
    ended = len(out["bindings_ended"])
    zeroed = "、".join(f"{'受益' if k == 'received' else '支出'}额度 {v} 元" for k, v in out.get("quota_zeroed", {}).items())
    text = f"已变更:终止绑定 {ended} 个" + (f";清零{zeroed}" if zeroed else "")
    return back(request, "/desk/office", text=text)


@router.post("/desk/sanction")
def desk_sanction(request: Request, who: Principal = Depends(page("supervisor")), f: SanctionForm = form(SanctionForm)):
    area(request, who, scope.act_on, [f.psn_no])
    try:
        cmd = c.SanctionCmd(psn_no=f.psn_no, reason=f.reason, **{"from": f.from_, "to": f.to})
        svc(request).sanction(cmd, actor=who.actor)
    except DomainError as e:
        return back(request, "/desk/office", error=e)
    return back(request, "/desk/office", text=f"已暂停 {f.psn_no} 的共济:{f.from_} 至 {f.to}")


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
    return render(request, "reimburse.html", who, done=shown, fields=documents.FIELDS_ZH,
                  categories=BILL_CATEGORIES, pending=svc(request).read(pending_reimbursements, 200, 0, who.area))


@router.post("/desk/reimburse")
def reimburse(request: Request, who: Principal = Depends(page("clerk", "supervisor")),
              f: ReimburseForm = form(ReimburseForm)):
    try:
        cmd = c.Reimburse.model_validate({
            "claim_no": f.claim_no, "visit_on": f.visit_on, "visit": _visit(f.inst_code, f),
            "institution": {"code": f.inst_code, "name": f.inst_name, "level": f.inst_level,
                            "admdvs": f.inst_admdvs, "kind": f.inst_kind}})
    except ValidationError as e:
        raise refusal(e) from None
    area(request, who, scope.act_on, [cmd.visit.psn_no])
    try:
        out = svc(request).reimburse(cmd, actor=who.actor)
    except DomainError as e:
        return back(request, "/desk/reimburse", error=e, doing="登记")
    return RedirectResponse(f"/desk/reimburse?done={out['setl_id']}", 303)


def _decide(request: Request, who: Principal, setl_id: str, decide, done: str) -> RedirectResponse:
    """A second supervisor's decision on a pending reimbursement of their area."""
    area(request, who, scope.act_on_settlement, setl_id)
    return _attempt(request, "/desk/reimburse", done, decide, setl_id, actor=who.actor)


@router.post("/desk/reimburse/{setl_id}/approve")
def reimburse_approve(request: Request, setl_id: str, who: Principal = Depends(page("supervisor"))):
    return _decide(request, who, setl_id, svc(request).approve_reimbursement, "reimbursement_paid")


@router.post("/desk/reimburse/{setl_id}/reject")
def reimburse_reject(request: Request, setl_id: str, who: Principal = Depends(page("supervisor"))):
    return _decide(request, who, setl_id, svc(request).reject_reimbursement, "reimbursement_rejected")


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
                      rows=[], flash_err=f"该日期没有有效的政策:{e}")
    return render(request, "policies.html", who, day=day.isoformat(), regions=regions, rows=rows)


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/nhsa/", "/static/")) and \
        request.url.path not in ("/healthz", "/metrics", "/openapi.json", "/docs")


def error_page(request: Request, status: int, text: str) -> HTMLResponse:
    """The refusal as a page, or as a fragment for HTMX to put where the answer was to go."""
    if request.headers.get("hx-request"):
        return templates.TemplateResponse(request, "split.html", {"error": text}, status_code=status)
    who = getattr(request.state, "principal", None) or Principal("anonymous")
    return render(request, "error.html", who, status=status, message=text)


# --- cashier ------------------------------------------------------------------------------

def _visit(inst: str, f: BillForm) -> c.VisitRef:
    """A visit from a bill form; rows without an amount are left out, a bad row is named by its
    number on the form."""
    items, rows = [], []
    for row, (code, name, cls, cat, amount, prop) in enumerate(zip(f.code, f.name, f.list_class, f.category,
                                                                   f.amount, f.selfpay_prop, strict=True)):
        if not amount:
            continue
        item = {"code": code or f"ITEM{len(items) + 1}", "name": name, "list_class": cls, "category": cat,
                "amount": amount}
        if prop:
            item["selfpay_prop"] = prop
        items.append(item)
        rows.append(row)
    if not items:
        raise DomainError("INVALID_INPUT", "费用明细:请至少填写一项费用的金额", "items")
    doc = {"psn_no": f.psn_no, "fixmedins": inst, "med_type": f.med_type, "dise_codg": f.dise_codg or None,
           "external_rx": bool(f.external_rx), "acct_used_flag": "0" if f.no_account else "1", "items": items}
    try:
        return c.VisitRef.model_validate(doc)
    except ValidationError as e:
        raise refusal(e, rows) from None


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
    visit = _visit(who.id, f)
    try:
        split = svc(request).preview(visit, by_catalog=True)
    except DomainError as e:
        return templates.TemplateResponse(request, "split.html", {"error": f"{CODE_ZH.get(e.code, '')}:{e.message}"})
    return templates.TemplateResponse(request, "split.html", {"done": split, "fields": documents.FIELDS_ZH})


@router.post("/cashier/settle")
def cashier_settle(request: Request, who: Principal = Depends(page("institution")), f: SettleForm = form(SettleForm)):
    visit = _visit(who.id, f)
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
