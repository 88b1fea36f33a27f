"""The message a page shows once after a redirect ("已提交", "未能办理:…"), never text from the URL:
a short-lived cookie holding it, signed with the session's own secret (its CSRF token), so no link
and no other site can put words on an official banner. Without a session there is no banner."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from fastapi import Request
from fastapi.responses import Response

COOKIE = "gongji_flash"
SECONDS = 120  # long enough to follow a redirect, short enough not to greet a later visit
LONGEST = 300  # characters kept: a cookie has room for about 4 KB


def _mac(request: Request, body: str) -> str | None:
    key = getattr(request.state, "csrf", "")
    return hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest() if key else None


def put(request: Request, response: Response, kind: str, text: str) -> None:
    """Show ``text`` (kind ``ok`` or ``err``) on the next page this session renders."""
    words = base64.urlsafe_b64encode(text[:LONGEST].encode()).decode()
    body = f"{kind}.{int(time.time()) + SECONDS}.{words}"
    mac = _mac(request, body)
    if mac is not None:
        response.set_cookie(COOKIE, f"{body}.{mac}", max_age=SECONDS, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")


def take(request: Request) -> tuple[str | None, str | None]:
    """(ok, err): the message put for this session, if any and still fresh; ``forget`` it after."""
    raw = request.cookies.get(COOKIE, "")
    body, _, mac = raw.rpartition(".")
    expected = _mac(request, body)
    if not body or expected is None or not hmac.compare_digest(mac, expected):
        return None, None
    kind, until, words = body.split(".", 2)
    if not until.isdigit() or int(until) < time.time():
        return None, None
    text = base64.urlsafe_b64decode(words.encode()).decode()
    return (text, None) if kind == "ok" else (None, text)


def forget(request: Request, response: Response) -> None:
    if COOKIE in request.cookies:
        response.delete_cookie(COOKIE, path="/")
