"""Login and logout for staff, insured persons and cashiers: a session cookie (HttpOnly,
SameSite=Strict) and a CSRF token the client echoes in ``X-CSRF-Token`` (or a form's
``csrf_token``). An unknown login, a wrong password and a locked login get one and the same
answer; only the server log says which it was."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from gongji.gate.auth import COOKIE, Principal, allow
from gongji.gate.login import BUSY, REFUSED, RETRY_AFTER, check_password
from gongji.gate.problems import problem
from gongji.gate.route import service
from gongji.service import security

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["staff", "person", "cashier"]
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=200)]


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
    security.logout(service(request).engine, request.cookies[COOKIE])
    response.delete_cookie(COOKIE, path="/")
    return {"ok": True}


@router.get("/me")
def me(who: Principal = Depends(allow("anyone"))) -> dict:
    return {"kind": who.kind, "id": who.id, "role": who.role}
