"""Login and logout for staff, insured persons and cashiers: a session cookie (HttpOnly,
SameSite=Strict) and a CSRF token the client echoes in ``X-CSRF-Token`` (or a form's
``csrf_token``). An unknown login, a wrong password and a locked login get one and the same
answer; only the server log says which it was."""

from __future__ import annotations

import asyncio
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


REFUSED = (f"用户名或密码错误,或因连续输错 {security.MAX_FAILURES} 次已暂时锁定"
           f"({security.LOCK_MINUTES} 分钟后可再试)")
BUSY = "登录请求过多,请稍候几秒再试"
RETRY_AFTER = "2"  # seconds: a few password checks' time
BUSY_PAUSE = 1.0  # seconds a login waits for room in the queue before it is turned away


async def check_password(request: Request, kind: str, username: str, password: str) -> security.Login | None:
    """The login, queued in ``security.LOGINS``; None when the queue is still full after a pause
    (answer 429). The pause, which costs the server nothing, keeps a client that ignores
    Retry-After from turning the refusals themselves into a flood."""
    engine = request.app.state.service.engine
    future = security.LOGINS.submit(security.login, engine, kind, username, password, datetime.now())
    if future is None:
        await asyncio.sleep(BUSY_PAUSE)
        future = security.LOGINS.submit(security.login, engine, kind, username, password, datetime.now())
    if future is None:
        log.warning("login turned away: too many at once")
        return None
    result = await asyncio.wrap_future(future)
    if not result.ok:
        log.warning("login refused (%s) for a %s account", result.error, kind)
    return result


@router.post("/login")
async def login(request: Request, body: Credentials, response: Response,
                who: Principal = Depends(allow("anyone"))):
    result = await check_password(request, body.kind, body.username, body.password)
    if result is None:
        busy = problem(429, "LOGIN_BUSY", BUSY, instance=request.url.path)
        busy.headers["Retry-After"] = RETRY_AFTER
        return busy
    if not result.ok:
        return problem(401, "LOGIN_FAILED", REFUSED, instance=request.url.path)
    response.set_cookie(COOKIE, result.token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=security.SESSION_HOURS * 3600, path="/")
    return {"kind": body.kind, "subject": body.username, "role": result.role, "csrf_token": result.csrf}


@router.post("/logout")
def logout(request: Request, response: Response,
           who: Principal = Depends(allow("staff", "person", "cashier"))) -> dict:
    security.logout(request.app.state.service.engine, request.cookies[COOKIE])
    response.delete_cookie(COOKIE, path="/")
    return {"ok": True}


@router.get("/me")
def me(who: Principal = Depends(allow("anyone"))) -> dict:
    return {"kind": who.kind, "id": who.id, "role": who.role}
