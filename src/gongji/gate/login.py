"""The password check both login forms use (the REST one and the page), queued so that a flood
of logins cannot take every worker; its refusals, in the same words for every reason."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from gongji.gate.route import service
from gongji.service import security

log = logging.getLogger("gongji.auth")

REFUSED = (f"用户名或密码错误,或因连续输错 {security.MAX_FAILURES} 次已暂时锁定"
           f"({security.LOCK_MINUTES} 分钟后可再试)")
BUSY = "登录请求过多,请稍候几秒再试"
RETRY_AFTER = "2"  # seconds: a few password checks' time
BUSY_PAUSE = 1.0  # seconds a login waits for room in the queue before it is turned away


async def check_password(request: Request, kind: str, username: str, password: str) -> security.Login | None:
    """The login, queued in ``security.LOGINS``; None when the queue is still full after a pause
    (answer 429). The pause, which costs the server nothing, keeps a client that ignores
    Retry-After from turning the refusals themselves into a flood. Routed by province, the login is
    checked in one province: the person's, or the one a staff member names (``name@53``), else the
    first that knows the name; its session token carries the province."""
    engine, name, prefix = await _where(request, kind, username)
    result = await _queued(engine, kind, name, password, prefix)
    if result is not None and not result.ok:
        log.warning("login refused (%s) for a %s account", result.error, kind)
    return result


async def _where(request: Request, kind: str, username: str) -> tuple:
    provinces = request.app.state.provinces
    if not provinces.routed:
        return service(request).engine, username, ""
    name, at, code = username.rpartition("@")
    if at and code in provinces.services and kind != "person":
        return provinces.get(code).engine, name, f"{code}."
    code = await run_in_threadpool(provinces.login_province, kind, username)
    return provinces.get(code).engine, username, f"{code}."


async def _queued(engine, kind: str, username: str, password: str, prefix: str) -> security.Login | None:
    future = security.LOGINS.submit(security.login, engine, kind, username, password, datetime.now(), prefix)
    if future is None:
        await asyncio.sleep(BUSY_PAUSE)
        future = security.LOGINS.submit(security.login, engine, kind, username, password, datetime.now(), prefix)
    if future is None:
        log.warning("login turned away: too many at once")
        return None
    return await asyncio.wrap_future(future)
