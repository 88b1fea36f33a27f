"""Refuse hostile requests before they are parsed: a body of more than ``MAX_BYTES`` (413), JSON
nested deeper than ``MAX_DEPTH`` (422), or a NUL character anywhere (422: no text column of
PostgreSQL can hold one, and no name, code or reason needs one), raw (multipart included), as a
JSON escape, or percent-encoded in a form however its content type is spelt. A pure ASGI
middleware, so the body is read once and streamed bodies without a Content-Length are counted as
they arrive."""

from __future__ import annotations

import re
from collections.abc import Callable

from python_multipart.multipart import parse_options_header
from starlette.responses import Response

from gongji.gate.problems import problem

MAX_BYTES = 2 * 1024 * 1024  # a 2,000-item bill is about 300 KB
MAX_DEPTH = 32
NUL_MESSAGE = "输入含有不可见的空字符(NUL),请检查后重新提交"
FORM = "application/x-www-form-urlencoded"
FORMS = (FORM, "multipart/form-data")


def media_type(value: bytes | str | None) -> str:
    """``Application/X-WWW-Form-Urlencoded; charset=UTF-8`` → ``application/x-www-form-urlencoded``:
    parsed as Starlette parses it before it reads a form, so a guard sees what the form reader sees."""
    return parse_options_header(value)[0].decode("latin-1")


# a JSON string (its closing quote may be missing: the rest of the body is then inside it) or a bracket
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.S)


def too_deep(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """Nested deeper than ``limit`` outside strings. Brackets are counted in C: a body with no more
    opening brackets than ``limit`` cannot be too deep, and the rest skips its strings whole."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for token in _TOKENS.finditer(body):
        byte = token.group()[0]
        if byte == 0x22:  # a string: brackets in it do not count
            continue
        if byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class BodyLimits:
    """``refusals`` maps a path prefix to the answer in that interface's own format (the national
    interface's envelope); elsewhere a refusal is problem+json."""

    def __init__(self, app, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
                 refusals: dict[str, Callable[[str], Response]] | None = None) -> None:
        self.app, self.max_bytes, self.max_depth = app, max_bytes, max_depth
        self.refusals = refusals or {}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope.get("path", ""):
            return await self._refuse(scope, receive, send, 422, "INVALID_INPUT", NUL_MESSAGE)
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            return await self._refuse(scope, receive, send, 413, "TOO_LARGE",
                                      f"请求内容超过 {self.max_bytes // 1024} KB,请分批提交")
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return await self._refuse(scope, receive, send, 413, "TOO_LARGE",
                                          f"请求内容超过 {self.max_bytes // 1024} KB,请分批提交")
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        # every Content-Type header: a repeated one must not hide a form from the guard
        types = {media_type(value) for name, value in scope["headers"] if name == b"content-type"}
        if b"\x00" in body or b"\\u0000" in body or (FORM in types and b"%00" in body):
            return await self._refuse(scope, receive, send, 422, "INVALID_INPUT", NUL_MESSAGE)
        if any("json" in t for t in types) and too_deep(body, self.max_depth):
            return await self._refuse(scope, receive, send, 422, "INVALID_INPUT",
                                      f"JSON 嵌套超过 {self.max_depth} 层,请检查报文结构")
        # the signature check reads it here: a route with form fields has consumed the stream by then
        scope.setdefault("state", {})["raw_body"] = body
        delivered = False

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope, receive, send, status: int, code: str, detail: str) -> None:
        for prefix, refusal in self.refusals.items():
            if scope.get("path", "").startswith(prefix):
                return await refusal(detail)(scope, receive, send)
        await problem(status, code, detail, instance=scope.get("path"))(scope, receive, send)
