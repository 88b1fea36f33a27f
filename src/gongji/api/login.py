"""Login and logout for staff and insured persons: a session cookie (HttpOnly, SameSite=Strict)
and a CSRF token the client echoes in ``X-CSRF-Token`` (or a form's ``csrf_token``)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from gongji.api.auth import COOKIE, Principal, allow
from gongji.api.problems import problem
from gongji.service import security

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
log = logging.getLogger("gongji.auth")


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["staff", "person", "cashier"]
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=200)]


@router.post("/login")
def login(request: Request, body: Credentials, response: Response,
          who: Principal = Depends(allow("anyone"))):
    result = security.login(request.app.state.service.engine, body.kind, body.username, body.password,
                            datetime.now())
    if not result.ok:
        log.warning("login refused (%s) for a %s account", result.error, body.kind)
        status = 423 if result.error == "ACCOUNT_LOCKED" else 401
        return problem(status, result.error, "用户名或密码错误" if status == 401
                       else f"登录失败次数过多,请 {security.LOCK_MINUTES} 分钟后再试", instance=request.url.path)
    response.set_cookie(COOKIE, result.token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=security.SESSION_HOURS * 3600, path="/")
    return {"kind": body.kind, "subject": body.username, "role": result.role, "csrf_token": result.csrf}


@router.post("/logout")
def logout(request: Request, response: Response, who: Principal = Depends(allow("staff", "person"))) -> dict:
    security.logout(request.app.state.service.engine, request.cookies[COOKIE])
    response.delete_cookie(COOKIE, path="/")
    return {"ok": True}


@router.get("/me")
def me(who: Principal = Depends(allow("anyone"))) -> dict:
    return {"kind": who.kind, "id": who.id, "role": who.role}
