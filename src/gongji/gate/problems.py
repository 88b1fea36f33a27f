"""Errors as RFC 9457 problem details (``application/problem+json``) carrying the domain code."""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from gongji.calc_format import InputError, _loc, _message
from gongji.domain.codes import CODE_ZH
from gongji.domain.errors import DomainError

STATUS = {
    "UNKNOWN_PERSON": 404, "UNKNOWN_INSTITUTION": 404, "UNKNOWN_SETTLEMENT": 404,
    "NO_SUCH_BINDING": 404, "NOT_FOUND": 404, "UNKNOWN_FLAG": 404,
    "FORBIDDEN": 403,
    "IDEMPOTENCY_CONFLICT": 409, "ALREADY_REVERSED": 409, "NOT_PENDING": 409,
    "ALREADY_REGISTERED": 409, "ALREADY_BOUND": 409,
}
PROBLEM = "application/problem+json"


def problem(status: int, code: str, detail: str, field: str | None = None,
            instance: str | None = None) -> JSONResponse:
    body = {"type": f"/problems/{code}", "title": CODE_ZH.get(code, code), "status": status,
            "detail": detail, "code": code}
    if field:
        body["field"] = field
    if instance:
        body["instance"] = instance
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def unavailable(e: BaseException) -> bool:
    """The database cannot be reached or is not writable now: a failover under way (no primary
    for some seconds), a server restarting. The request may succeed on a retry with its key."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(e, OperationalError):
        return True
    if isinstance(e, DBAPIError):
        return e.connection_invalidated or type(e.orig).__name__ == "ReadOnlySqlTransaction"
    return False


def status_of(code: str) -> int:
    return STATUS.get(code, 422)


async def on_domain_error(request: Request, e: DomainError) -> JSONResponse:
    status = getattr(e, "status", None) or status_of(e.code)
    response = problem(status, e.code, e.message, e.field, request.url.path)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Signature realm="gongji", Cookie realm="gongji"'
    return response


async def on_input_error(request: Request, e: InputError) -> JSONResponse:
    return problem(422, "INVALID_INPUT", str(e), e.field, request.url.path)


async def on_validation_error(request: Request, e: RequestValidationError | ValidationError) -> JSONResponse:
    """A bad body or parameter (FastAPI's check), or a command built in a handler from path and
    body parts (Pydantic's): both name the field."""
    err = e.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    if loc and loc[0] in ("body", "query", "path", "header"):
        loc = loc[1:]
    field = _loc(loc)
    return problem(422, "INVALID_INPUT", f"{field}: {_message(err)}" if field else _message(err),
                   field or None, request.url.path)


PROBLEM_SCHEMA = {
    "type": "object", "title": "Problem", "description": "RFC 9457 problem details, with the domain code",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "code": {"type": "string"},
        "field": {"type": "string"}, "instance": {"type": "string"},
    },
}
ERROR_STATUSES = {"401": "未登录或签名无效", "403": "无权访问", "404": "不存在", "409": "状态冲突",
                  "413": "请求过大", "422": "输入有误或政策不允许", "429": "请求过多,请稍后再试", "500": "系统内部错误"}


def document_problems(schema: dict) -> dict:
    """Every operation answers its errors as problem+json: say so in the OpenAPI document."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for schemas in (schema["components"]["schemas"],):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    ref = {"$ref": "#/components/schemas/Problem"}
    for methods in schema.get("paths", {}).values():
        for op in methods.values():
            responses = op.setdefault("responses", {})
            for status, text in ERROR_STATUSES.items():
                responses[status] = {"description": text, "content": {PROBLEM: {"schema": ref}}}
    return schema
