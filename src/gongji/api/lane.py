"""The settlement fast lane: ``POST /api/v1/settlements`` signed by an institution (and the
national interface's ``POST /nhsa...``) answered by plain ASGI, without FastAPI's routing,
dependency solving and response validation, and with one trip to the thread pool instead of two.

Measured on the HTTP bench these cost more server CPU than the settlement's own Python around the
database. Nothing is checked less: the same signature and nonce book (``security.check_signature``),
the same ``Idempotency-Key`` rule, the same body model, the same refusals (the app's own exception
handlers write them). A request the lane is not sure of, before anything is recorded (no signature
headers, another content type, a body or key that does not validate), goes on to the FastAPI route
unchanged, which answers it as before: the lane only ever takes requests that would reach
``settle`` itself. The routes stay declared in FastAPI (OpenAPI, the authorisation matrix).
"""

from __future__ import annotations

import logging
import re
import time

import pydantic_core
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from gongji.gate.auth import AuthError, Principal, forbid
from gongji.gate.params import IdempotencyKey
from gongji.service import security

log = logging.getLogger("gongji.auth")
SETTLE = "/api/v1/settlements"
NHSA = re.compile(r"/nhsa(?:/([^/]+))?/?")
JSON_HEADERS = [(b"content-type", b"application/json")]
WANTED = {b"x-inst-code", b"idempotency-key", b"x-timestamp", b"x-nonce", b"x-signature", b"content-type"}


KEY = TypeAdapter(IdempotencyKey)  # the Idempotency-Key header, by the REST route's own rule


class SettleLane:
    def __init__(self, app, fastapi_app) -> None:
        self.app, self.fastapi = app, fastapi_app
        from gongji.api.v1 import SettleIn

        self.model = SettleIn

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        path = scope["path"]
        if path == SETTLE:
            return await self._settle(scope, receive, send)
        if path.startswith("/nhsa"):
            match = NHSA.fullmatch(path)  # the four routes of api.nhsa: /nhsa, /nhsa/, /nhsa/{infno}, /nhsa/{infno}/
            if match:
                return await self._nhsa(scope, receive, send, match.group(1))
        return await self.app(scope, receive, send)

    async def _nhsa(self, scope, receive, send, infno: str | None) -> None:
        from gongji.api.nhsa import transact

        scope.setdefault("app", self.fastapi)
        response = await transact(Request(scope, receive), infno)
        await response(scope, receive, send)

    async def _settle(self, scope, receive, send) -> None:
        state = scope.get("state") or {}
        body = state.get("raw_body")
        found: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in WANTED and name not in found:  # the first of a repeated header, as Starlette reads it
                found[name] = value
        code, key = found.get(b"x-inst-code"), found.get(b"idempotency-key")
        timestamp, nonce, signature = found.get(b"x-timestamp"), found.get(b"x-nonce"), found.get(b"x-signature")
        content_type = found.get(b"content-type", b"")
        json_body = content_type.split(b";", 1)[0].strip().lower() == b"application/json"
        if body is None or code is None or key is None or not json_body:
            return await self.app(scope, receive, send)  # FastAPI answers it, as before
        try:
            idem = KEY.validate_python(key.decode("latin-1"))
            visit = self.model.model_validate_json(body).visit
        except (ValidationError, UnicodeDecodeError):
            return await self.app(scope, receive, send)  # its refusal, in FastAPI's words
        inst = code.decode("latin-1")
        service = state.get("service") or self.fastapi.state.service
        metrics = self.fastapi.state.metrics
        args = (service.engine, inst, (timestamp or b"").decode("latin-1"), (nonce or b"").decode("latin-1"),
                (signature or b"").decode("latin-1"), "POST", SETTLE, body)

        def work() -> dict:
            why = security.check_signature(*args, int(time.time()))
            if why is not None:
                log.warning("signed request refused: %s from institution %s on %s", why, inst[:64], SETTLE)
                raise AuthError(403 if why == "INSTITUTION_SUSPENDED" else 401, why, "机构签名校验未通过,请检查密钥与时间")
            who = Principal("institution", inst, "institution")
            scope.setdefault("state", {})["principal"] = who
            if visit.fixmedins != who.id:
                raise forbid("机构只能为本机构的就诊结算")
            return metrics.timed_settle(service, idem, visit, who.actor, by_catalog=True)

        try:
            out = await run_in_threadpool(work)
        except Exception as e:  # noqa: BLE001 - answered by the app's own handler for it
            return await self._refuse(scope, receive, send, e)
        payload = pydantic_core.to_json(out)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(payload)).encode()), *JSON_HEADERS]})
        await send({"type": "http.response.body", "body": payload})

    async def _refuse(self, scope, receive, send, e: Exception) -> None:
        handlers = self.fastapi.exception_handlers
        handler = next((handlers[c] for c in type(e).__mro__ if c in handlers), None)
        if handler is None:  # no handler: as Starlette, a 500 (ServerErrorMiddleware's)
            raise e
        scope.setdefault("app", self.fastapi)
        response = await handler(Request(scope, receive), e)
        await response(scope, receive, send)
