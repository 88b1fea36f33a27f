"""Who is calling, and may they: the principal of a request and the rule each route declares.

A request is an institution's when it carries ``X-Inst-Code`` (and must then be signed), a
staff member's or a person's when it carries the session cookie (unsafe methods must then echo
the session's CSRF token in ``X-CSRF-Token``), and anonymous otherwise. Every route depends on
``allow(...)``; the authorisation matrix test fails for a route without it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from gongji.domain.errors import DomainError
from gongji.gate.limits import FORMS, media_type
from gongji.gate.route import service
from gongji.service import security

log = logging.getLogger("gongji.auth")
COOKIE = "gongji_session"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Principal:
    kind: str  # anonymous | institution | staff | person
    id: str = ""
    role: str = ""  # staff role; "person"; "institution"; "cashier"
    user: str = ""  # who acts for an institution: the logged-in cashier
    area: str = ""  # staff: the admdvs prefix served, "" the whole country (service.scope)

    @property
    def actor(self) -> str:
        who = f"{self.kind}:{self.id}" if self.id else self.kind
        return f"{who}/{self.user}" if self.user else who


ANONYMOUS = Principal("anonymous")


class AuthError(DomainError):
    """401 (who are you?) or 403 (not you)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code, message)
        self.status = status


async def principal(request: Request) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    engine = service(request).engine
    code = request.headers.get("x-inst-code")
    if code is not None:
        body = getattr(request.state, "raw_body", None)
        if body is None:  # not behind BodyLimits (GET) or called directly
            body = await request.body()
        why = await run_in_threadpool(  # a database write: never on the event loop
            security.check_signature,
            engine, code, request.headers.get("x-timestamp", ""), request.headers.get("x-nonce", ""),
            request.headers.get("x-signature", ""), request.method, request.url.path, body,
            int(time.time()))
        if why is not None:
            log.warning("signed request refused: %s from institution %s on %s", why, code[:64], request.url.path)
            status = 403 if why == "INSTITUTION_SUSPENDED" else 401
            raise AuthError(status, why, "机构签名校验未通过,请检查密钥与时间")
        p = Principal("institution", code, "institution")
    elif COOKIE in request.cookies:
        info = await run_in_threadpool(  # a database read: off the event loop too
            security.session_of, engine, request.cookies[COOKIE], datetime.now())
        if info is None:  # expired or logged out: a stranger, who may still log in again
            request.state.principal = ANONYMOUS
            return ANONYMOUS
        if request.method in UNSAFE and request.headers.get("x-csrf-token") != info.csrf \
                and (await _form_csrf(request)) != info.csrf:
            log.warning("csrf token missing or wrong on %s", request.url.path)
            raise AuthError(403, "CSRF", "页面已过期或来源不明,请刷新页面后重新提交")
        p = Principal(info.kind, info.subject, info.role, info.user, info.area)
        request.state.csrf = info.csrf
    else:
        p = ANONYMOUS
    request.state.principal = p
    return p


async def _form_csrf(request: Request) -> str | None:
    """The token a page form carries, whatever the spelling of its content type; a file is no token."""
    if media_type(request.headers.get("content-type")) in FORMS:
        token = (await request.form()).get("csrf_token")
        return token if isinstance(token, str) else None
    return None


def allow(*rules: str):
    """A dependency admitting callers by rule: ``anyone``, ``institution``, ``cashier`` (an
    institution by a cashier's session, not a signed request), ``staff`` (any role), a role name
    (``clerk``, ``supervisor``, ``auditor``, ``admin``), ``self`` (the person named by the route's
    ``psn_no``), ``person`` (any logged-in person; the handler narrows it)."""
    roles = {r for r in rules if r in security.ROLES}

    async def check(request: Request, who: Principal = Depends(principal)) -> Principal:
        if "anyone" in rules:
            return who
        if who.kind == "anonymous":
            raise AuthError(401, "UNAUTHENTICATED", "请先登录;机构接口须签名")
        if who.kind == "institution" and ("institution" in rules or ("cashier" in rules and who.user)):
            return who
        if who.kind == "staff" and ("staff" in rules or who.role in roles):
            return who
        if who.kind == "person":
            if "person" in rules:
                return who
            if "self" in rules and request.path_params.get("psn_no") == who.id:
                return who
        raise forbid()

    check.rules = rules  # read by the authorisation matrix test
    return check


def forbid(message: str = "您的账号无权办理此事项") -> AuthError:
    return AuthError(403, "FORBIDDEN", message)


def api_routes(routes) -> list:
    """Every APIRoute of an app, including those of included routers (FastAPI wraps those)."""
    from fastapi.routing import APIRoute

    out = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.append(r)
        elif hasattr(r, "original_router"):
            out.extend(api_routes(r.original_router.routes))
    return out


def rules_of(route) -> tuple:
    """The rules a route's ``allow(...)`` dependency declares; () when it has none."""
    stack = [route.dependant]
    while stack:
        d = stack.pop()
        if getattr(d.call, "rules", None):
            return d.call.rules
        stack.extend(d.dependencies)
    return ()
