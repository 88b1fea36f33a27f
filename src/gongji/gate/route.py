"""The service that answers a request: its province's (``gate.provinces``), or the only one."""

from __future__ import annotations

from starlette.requests import Request


def service(request: Request):
    """The service of the request's province (the only one, unrouted)."""
    return request.scope.get("state", {}).get("service") or request.app.state.service
