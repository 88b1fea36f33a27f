"""What every page module shares: the templates, the login-or-refuse dependency ``page``,
``render`` and ``back`` (redirect with a one-time message), the area guard and the error page.
Pages use the same sessions, rules and service as the API; a refusal comes back as a Chinese
message on the page, never a code or a traceback."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from gongji.domain import labels
from gongji.domain.errors import DomainError
from gongji.domain.labels import CATEGORY_ZH, CODE_ZH, INSUTYPE_SHORT, POSTING_ZH, RELATION_ZH
from gongji.domain.money import format_yuan, parse_yuan
from gongji.domain.terms import CATEGORIES
from gongji.gate.auth import AuthError, Principal, allow, principal
from gongji.gate.route import service
from gongji.service import scope
from gongji.web import flash

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
templates.env.filters.update({  # every code in words, from domain.labels (the PDF and Excel read the same)
    "codelabel": lambda code: labels.word(CODE_ZH, code),
    "yuan": format_yuan,
    "person": lambda psn_no, names: labels.person(psn_no, (names or {}).get(psn_no)),  # {{ no|person(names) }}
    "region": labels.region_name,
    "region_path": labels.region_path,
    "relation": lambda code: labels.word(RELATION_ZH, code),
    "insutype": lambda code: labels.word(labels.INSUTYPE_ZH, code),
    "level": labels.institution_level,
    "state": labels.state,
    "posting": lambda code: labels.word(POSTING_ZH, code),
})


def grouped(yuan: object) -> str:
    """``"1200.00"`` (or fen as an int) → ``"1,200.00"``: amounts as the cashier's desk shows them."""
    from decimal import Decimal, InvalidOperation
    try:
        value = Decimal(yuan) / 100 if isinstance(yuan, int) else Decimal(str(yuan))
    except InvalidOperation:
        return str(yuan)
    return f"{value:,.2f}"


templates.env.filters["money"] = grouped
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


BILL_CATEGORIES = [(k, CATEGORY_ZH[k]) for k in CATEGORIES]  # in-scope kinds first, as the domain lists them


def render(request: Request, name: str, who: Principal, status: int = 200, **ctx) -> HTMLResponse:
    """A page; ``ctx`` values given (not None) win over the defaults, the flash message included."""
    flash_ok, flash_err = flash.take(request)
    ctx = {"who": who, "csrf": getattr(request.state, "csrf", ""), "flash_ok": flash_ok, "flash_err": flash_err,
            "relation_zh": RELATION_ZH, "insutype_zh": INSUTYPE_SHORT, "state_badge": STATE_BADGE,
            "kind_zh": POSTING_ZH} | {k: v for k, v in ctx.items() if v is not None}
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
    return service(request)


def reader(request: Request):
    """The read-only pages' service: the province's standby when the routing file names one
    (``read_url``), but the primary right after the caller's own change (its flash message is
    waiting), so a family never sees its own freeze undone by replication lag."""
    state = request.scope.get("state", {})
    if flash.COOKIE in request.cookies:
        return service(request)
    return state.get("read_service") or service(request)



def guard(request: Request, who: Principal, check, *args) -> None:
    """``service.scope.guard``: staff of an area read and act only within it."""
    scope.guard(svc(request), who, check, *args)


def party_settlement(request: Request, who: Principal, setl_id: str) -> dict:
    return scope.party_settlement(svc(request), who, setl_id)


def attempt(request: Request, where: str, done: str, act, *args, **kw) -> RedirectResponse:
    """Back to ``where`` with the ``done`` banner, or with the refusal's words."""
    try:
        act(*args, **kw)
    except DomainError as e:
        return back(request, where, error=e)
    return back(request, where, done)


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/nhsa/", "/static/")) and \
        request.url.path not in ("/healthz", "/metrics", "/openapi.json", "/docs")


def error_page(request: Request, status: int, text: str) -> HTMLResponse:
    """The refusal as a page, or as a fragment for HTMX to put where the answer was to go."""
    if request.headers.get("hx-request"):
        return templates.TemplateResponse(request, "split.html", {"error": text}, status_code=status)
    who = getattr(request.state, "principal", None) or Principal("anonymous")
    return render(request, "error.html", who, status=status, message=text)


def caps_shown(account: dict, labels_: tuple[tuple[str, str], ...]) -> list[tuple[str, dict]]:
    """The account's caps this year as the pages draw them (label, cap with ``pct`` used), in the
    words of ``labels_`` (the family reads 为我支付, staff 为其支付)."""
    out = []
    for key, label in labels_:
        cap = account["caps"].get(key)
        if cap is None:
            continue
        cap = dict(cap)
        if cap.get("cap"):
            used, whole = parse_yuan(cap["used"]), parse_yuan(cap["cap"])
            cap["pct"] = 100 if whole == 0 else min(100, used * 100 // whole)
        out.append((label, cap))
    return out
