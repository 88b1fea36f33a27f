"""The service that answers a request: its province's (``gate.provinces``), or the only one."""

from __future__ import annotations

from starlette.requests import Request


def service(request: Request):
    """The service of the request's province (the only one, unrouted)."""
    return request.scope.get("state", {}).get("service") or request.app.state.service


def reader(request: Request):
    """The read-only pages' service: the province's standby when the routing file names one, but
    the primary right after the caller's own change (a flash message is waiting), so a family
    never sees its own freeze undone by replication lag (docs/deploy.md)."""
    state = request.scope.get("state", {})
    if "gongji_flash" in request.cookies:
        return service(request)
    return state.get("read_service") or service(request)
