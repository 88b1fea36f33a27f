"""The FastAPI application, put together: REST under /api/v1 and the national interface (``api``),
the pages (``web``), both on the shared edge (``gate``); health, metrics and the API docs."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from sqlalchemy import Engine, text
from starlette.exceptions import HTTPException

from gongji import routing
from gongji.api import flags, login, nhsa, v1
from gongji.api.lane import SettleLane
from gongji.api.metrics import Metrics
from gongji.api.nhsa import wire
from gongji.calc_format import InputError
from gongji.domain.codes import CODE_ZH
from gongji.domain.errors import DomainError
from gongji.gate.auth import allow
from gongji.gate.limits import BodyLimits
from gongji.gate.problems import (
    document_problems,
    on_domain_error,
    on_input_error,
    on_validation_error,
    problem,
    status_of,
    unavailable,
)
from gongji.gate.provinces import ProvinceRouter
from gongji.gate.route import service
from gongji.logs import install_record_masking
from gongji.policy.loader import Registry
from gongji.service.clock import Clock, china_today
from gongji.service.facade import Service
from gongji.service.provinces import Provinces
from gongji.web import admin, audit, cashier, common, desk, people, portal, public, supervision
from gongji.web.forms import refusal

log = logging.getLogger("gongji.api")
STATIC = Path(common.__file__).with_name("static")
access = logging.getLogger("gongji.access")


class AccessLog:
    """One log line per request: method, path, status, time, who. Plain ASGI: Starlette's
    ``BaseHTTPMiddleware`` costs a task and a stream per request, measured on the settle path."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), [500]

        async def send_(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_)
        finally:
            if access.isEnabledFor(logging.INFO):
                who = scope.get("state", {}).get("principal")
                # the line structlog's chain (logs.configure_structlog) made, made directly: that chain
                # cost more than the rest of the log call. Masked like every record, when it is made
                # and when it is formatted (logs.install_record_masking, logs.MaskingFormatter).
                access.info(json.dumps({
                    "method": scope["method"], "path": scope["path"],
                    "query": scope.get("query_string", b"").decode("latin-1"), "status": status[0],
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                    "actor": who.actor if who else "anonymous", "event": "request", "level": "info",
                    "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z")}, ensure_ascii=False))


def _nightly_supervision(engines: list[Engine]):
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from gongji.service.supervise.nightly import nightly

        tasks = [asyncio.create_task(nightly(engine)) for engine in engines]  # each province's own
        yield
        for task in tasks:
            task.cancel()
    return lifespan


def _ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def create_app(engine: Engine | None, registry: Registry | None = None, clock: Clock = china_today,
               nightly: bool = False, provinces: Provinces | None = None) -> FastAPI:
    """``nightly``: run the supervision rules each night after the day closes (the server does;
    tests and benches do not). ``provinces``: a database per province (``gongji.toml``), each
    request served from its patient's (``gate.provinces``); else the one ``engine``."""
    if provinces is None:
        assert engine is not None, "an engine or provinces"
        provinces = Provinces.single(Service(engine, registry, clock))
    install_record_masking()
    # /docs is served below from the vendored Swagger UI (static/swagger-ui): FastAPI's own loads it
    # from a CDN, blank on the 医保专网 without internet. ReDoc is not vendored, so /redoc is off.
    # FastAPI's native OpenTelemetry is off: gongji's metrics are Prometheus' (/metrics), and the check
    # for a configured provider read os.environ three times on every request (measured on bench.http)
    app = FastAPI(title="gongji 共济", version="0.1.0", docs_url=None, redoc_url=None,
                  description="职工医保个人账户家庭共济:结算、绑定、账户。错误为 RFC 9457 problem+json。",
                  telemetry={"tracing": False, "metrics": False, "logs": False},
                  lifespan=_nightly_supervision(provinces.supervision_engines) if nightly else None)
    app.state.service = provinces.default
    app.state.provinces = provinces
    app.state.metrics = Metrics()
    app.include_router(v1.router)
    app.include_router(flags.router)
    app.include_router(nhsa.router)
    app.include_router(login.router)
    app.add_middleware(SettleLane, fastapi_app=app)  # innermost: the access log and the body limits stay in front
    if provinces.routed:  # behind the body limits, whose raw body it reads
        app.add_middleware(ProvinceRouter, provinces=provinces, refusals={"/nhsa": wire.refusal})
    app.add_middleware(AccessLog)

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for pages in (public, portal, desk, supervision, cashier, people, audit, admin):
        app.include_router(pages.router)

    @app.exception_handler(common.NeedLogin)
    async def on_need_login(request: Request, e: common.NeedLogin) -> RedirectResponse:
        return RedirectResponse(f"/login?next={quote(e.path)}", 303)

    @app.exception_handler(DomainError)
    async def on_refusal(request: Request, e: DomainError):
        if common.is_page(request):
            status = getattr(e, "status", None) or status_of(e.code)
            title = CODE_ZH.get(e.code, "请求有误")
            # a page asked for by link shows the code's words only: its message may echo the URL
            return common.error_page(request, status, title if request.method == "GET" else f"{title}:{e.message}")
        return await on_domain_error(request, e)

    @app.exception_handler(RequestValidationError)
    @app.exception_handler(ValidationError)
    async def on_bad_input(request: Request, e: RequestValidationError | ValidationError):
        if common.is_page(request):  # the words are the field's and the rule's, never the input's
            return common.error_page(request, 422, f"{CODE_ZH['INVALID_INPUT']}:{refusal(e).message}")
        return await on_validation_error(request, e)

    app.add_exception_handler(InputError, on_input_error)

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, e: HTTPException):
        if common.is_page(request):
            return common.error_page(request, e.status_code, "页面不存在" if e.status_code == 404 else "请求有误")
        code = "NOT_FOUND" if e.status_code == 404 else f"HTTP_{e.status_code}"
        return problem(e.status_code, code, str(e.detail), instance=request.url.path)

    @app.exception_handler(Exception)
    async def on_crash(request: Request, e: Exception):
        if unavailable(e):  # a failover: no primary for some seconds; the retry with its key will do
            log.warning("database unavailable on %s: %s", request.url.path, type(e.orig if hasattr(e, "orig") else e).__name__)
            if common.is_page(request):
                return common.error_page(request, 503, "系统暂时繁忙(数据库切换中),请稍后再试")
            response = problem(503, "DB_UNAVAILABLE", "数据库暂不可用(主备切换中),请稍后用同一 Idempotency-Key 重试",
                               instance=request.url.path)
            response.headers["Retry-After"] = "1"
            return response
        log.exception("unhandled error on %s", request.url.path)
        if common.is_page(request):
            return common.error_page(request, 500, "系统暂时出错,请稍后再试")
        return problem(500, "INTERNAL", "系统内部错误,请稍后重试;重试请使用同一 Idempotency-Key",
                       instance=request.url.path)

    @app.get("/healthz", tags=["ops"], dependencies=[Depends(allow("anyone"))])
    def healthz(request: Request):
        """Routed by province: every province's database; a worker is out of rotation only when it
        reaches none (a province failing over is no fault of the worker: the others serve on)."""
        provinces = request.app.state.provinces
        if not provinces.routed or request.headers.get("x-insuplc-admdvs"):
            _ping(service(request).engine)
            return {"status": "ok"}
        states = {}
        for code, svc in provinces:
            try:
                _ping(svc.engine)
                states[code] = "ok"
            except Exception as e:  # noqa: BLE001 - reported, not raised: the other provinces serve on
                if not unavailable(e):
                    raise
                states[code] = "unavailable"
        up = [c for c, st in states.items() if st == "ok"]
        body = {"status": "ok" if len(up) == len(states) else "degraded" if up else "unavailable",
                "provinces": states}
        return body if up else JSONResponse(body, status_code=503)

    @app.get("/metrics", tags=["ops"], dependencies=[Depends(allow("anyone"))], response_class=PlainTextResponse)
    def metrics(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.app.state.metrics.text(), media_type="text/plain; version=0.0.4")

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(allow("anyone"))],
             response_class=HTMLResponse)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{root}/static/favicon.ico",
            # no badge fetched from validator.swagger.io (nor the spec's address sent there)
            swagger_ui_parameters={"validatorUrl": None})

    @app.get("/favicon.ico", include_in_schema=False, dependencies=[Depends(allow("anyone"))])
    def favicon() -> FileResponse:  # browsers ask here whatever the page's <link rel="icon"> says
        return FileResponse(STATIC / "favicon.ico", media_type="image/x-icon",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.add_middleware(BodyLimits, refusals={"/nhsa": wire.refusal})  # the national interface: its envelope

    def openapi() -> dict:
        if app.openapi_schema is None:
            from gongji.api.nhsa.openapi import document

            app.openapi_schema = document(document_problems(get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes)))
        return app.openapi_schema

    app.openapi = openapi
    return app


def from_environment() -> FastAPI:
    """The app on ``$GONGJI_DB``: what each worker process of ``gongji serve --workers N`` runs."""
    from gongji.logs import configure
    from gongji.store.db import make_engine

    configure()
    routes = routing.load()
    # GONGJI_NIGHTLY=off: the nightly supervision run is left to a timer of its own (docs/deploy.md)
    nightly = os.environ.get("GONGJI_NIGHTLY", "on").lower() not in ("off", "0", "no", "false")
    if routes.routed:
        return create_app(None, nightly=nightly, provinces=Provinces.open(routes))
    return create_app(make_engine(), nightly=nightly)
