"""Signing requests as an institution, for integrators, tests and benchmarks.

    import httpx
    from gongji.client import InstitutionAuth
    client = httpx.Client(base_url="http://127.0.0.1:8000", auth=InstitutionAuth("H1", secret))
    client.post("/api/v1/settlements", json={"visit": ...}, headers={"Idempotency-Key": "k1"})

Each request gets ``X-Inst-Code``, ``X-Timestamp`` (Unix seconds), ``X-Nonce`` (random) and
``X-Signature`` = hex HMAC-SHA256, keyed by the institution's secret, of
``METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nSHA256HEX(BODY)``.
"""

from __future__ import annotations

import secrets
import time

import httpx

from gongji.service.security import sign


def signed_headers(code: str, secret: str, method: str, path: str, body: bytes,
                   timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    return {"X-Inst-Code": code, "X-Timestamp": ts, "X-Nonce": nonce,
            "X-Signature": sign(secret, method, path, ts, nonce, body)}


class InstitutionAuth(httpx.Auth):
    """httpx authentication that signs every request (works with FastAPI's TestClient too)."""

    requires_request_body = True

    def __init__(self, code: str, secret: str) -> None:
        self.code, self.secret = code, secret

    def auth_flow(self, request: httpx.Request):
        request.headers.update(signed_headers(self.code, self.secret, request.method,
                                              request.url.path, request.content))
        yield request
