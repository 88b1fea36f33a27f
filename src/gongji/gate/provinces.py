"""Which province's service answers a request (``service.provinces``), decided once at the edge.

With one database every request goes to it and this middleware is not installed. Routed, the
patient's province is found from, in order:

1. a login session's province (the session cookie is ``NN.token``, ``gate.login``): a session is
   kept, and answered, in the province it was opened in; staff serving two provinces log in to
   each (``name@65``);
2. the ``X-Insuplc-Admdvs`` header (REST's spelling of the national envelope's 参保地 field);
3. the national interface's envelope ``insuplc_admdvs``; else its ``psn_no``, or the ID-card
   number of a 1101 read before the card's area is known;
4. a JSON body's ``insu_admdvs`` (registering a person), ``visit.psn_no``, ``psn_no``, ``holder``
   or ``beneficiary``;
5. a ``/persons/{psn_no}`` or ``/accounts/{psn_no}`` path;
6. a signed institution's own province (the province of its area);
7. otherwise the first province of the routing file (public pages, health).

A person no province knows goes to the first province, which answers "查无此参保人".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser
from starlette.responses import Response

from gongji.gate.auth import COOKIE
from gongji.gate.problems import problem
from gongji.service.provinces import Provinces

ADMDVS = re.compile(rb"^[0-9]{6}$")
PERSON_PATH = re.compile(r"^/api/v1/(?:persons|accounts)/([^/]+)")
PERSON_KEYS = ("psn_no", "holder", "beneficiary")
CERTNO = re.compile(r"^[0-9]{17}[0-9Xx]$")


def session_province(token: str) -> str | None:
    code, dot, _ = token.partition(".")
    return code if dot and len(code) == 2 and code.isdigit() else None


class ProvinceRouter:
    def __init__(self, app, provinces: Provinces, refusals: dict[str, Callable[[str], Response]] | None = None) -> None:
        self.app, self.provinces, self.refusals = app, provinces, refusals or {}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            code = await self._province(scope)
            p = self.provinces
            if code not in p.services:  # an area the HIS names, of a province no database here serves
                return await self._not_served(code, scope, receive, send)
            state = scope.setdefault("state", {})
            state["service"] = p.get(code)
            state["read_service"] = p.read_services.get(code)
        await self.app(scope, receive, send)

    async def _not_served(self, code: str, scope, receive, send) -> None:
        """PROVINCE_NOT_SERVED, in the national interface's envelope on /nhsa (``refusals``, as
        the body limits take them), else problem+json: never the first province's 查无此参保人
        for a patient another database keeps."""
        message = f"本系统未承办省份 {code} 的参保人(参保地区划前两位)"
        for prefix, refusal in self.refusals.items():
            if scope.get("path", "").startswith(prefix):
                return await refusal(message)(scope, receive, send)
        await problem(422, "PROVINCE_NOT_SERVED", message, field="insuplc_admdvs",
                      instance=scope.get("path"))(scope, receive, send)

    async def _province(self, scope) -> str:
        p = self.provinces
        headers: dict[bytes, bytes] = {}
        for key, value in scope["headers"]:  # the first of a repeated header, as Starlette's request reads it
            headers.setdefault(key, value)
        token = _cookie(scope["headers"], COOKIE)
        if token and b"x-inst-code" not in headers:  # a session lives in the database it was opened in
            found = session_province(token)
            if found in p.services:
                return found
        area = _area(headers.get(b"x-insuplc-admdvs", b"").decode("latin-1"))
        if area:
            return area
        body = scope.get("state", {}).get("raw_body")
        doc = _json(body) if body else None
        if isinstance(doc, dict):
            found = await self._from_body(doc, scope["path"])
            if found:
                return found
        match = PERSON_PATH.match(scope["path"])
        if match:
            found = await run_in_threadpool(p.province_of, match.group(1))
            if found:
                return found
        inst = headers.get(b"x-inst-code")
        if inst:
            found = await run_in_threadpool(p.institution_province, inst.decode("latin-1"))
            if found:
                return found
        return p.codes()[0]

    async def _from_body(self, doc: dict, path: str) -> str | None:
        p = self.provinces
        if path.startswith("/nhsa"):
            area = _area(doc.get("insuplc_admdvs"))
            if area:
                return area
            data = _nhsa_input(doc.get("input"))
            psn = data.get("psn_no")
            if isinstance(psn, str) and psn:
                return await run_in_threadpool(p.province_of, psn)
            certno = data.get("certno") or data.get("mdtrt_cert_no")
            if isinstance(certno, str) and CERTNO.match(certno):
                return await run_in_threadpool(p.province_of_certno, certno.upper())
            return None
        area = _area(doc.get("insu_admdvs"))  # a province not served: registering there is refused by the service
        if area in p.services:
            return area
        visit = doc.get("visit")
        keys: list[Any] = [visit.get("psn_no")] if isinstance(visit, dict) else []
        keys += [doc.get(k) for k in PERSON_KEYS]
        for psn in keys:
            if isinstance(psn, str) and psn:
                found = await run_in_threadpool(p.province_of, psn)
                if found:
                    return found
        return None


def _area(value: Any) -> str | None:
    """The province of an admdvs the caller names; None for none, a malformed one (six ASCII
    digits only) or ``00…`` (the national "area unknown")."""
    if isinstance(value, str) and ADMDVS.match(value.encode()) and not value.startswith("00"):
        return value[:2]
    return None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # not JSON (a form, a file), or nested deeper than Python parses (a body whose Content-Type
        # does not say JSON, so BodyLimits did not measure it; an NHSA input string): the routes answer it
        return None


def _nhsa_input(value: Any) -> dict:
    """The national input's record: ``input`` may be a JSON string; the fields sit in ``data``
    (or a named record such as ``mdtrtinfo``), one level down."""
    if isinstance(value, str):
        value = _json(value.encode())
    if not isinstance(value, dict):
        return {}
    merged: dict = {}
    for part in value.values():
        if isinstance(part, dict):
            merged.update(part)
    merged.update({k: v for k, v in value.items() if not isinstance(v, dict | list)})
    return merged


def _cookie(headers: list, name: str) -> str | None:
    """The cookie as the authentication will read it (Starlette's ``request.cookies``: every Cookie
    header in turn, the last of two cookies of the same name)."""
    cookies: dict[str, str] = {}
    for key, value in headers:
        if key == b"cookie":
            cookies.update(cookie_parser(value.decode("latin-1")))
    return cookies.get(name)
