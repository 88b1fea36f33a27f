"""Who sends a national-interface message: the provincial gateway's ``x-tif-*`` headers (spec
1.2: SHA-256 of timestamp + secret + nonce + timestamp, 300 s window, each nonce once), or
gongji's own HMAC headers (X-Inst-Code..., which also sign the body). A refusal is a Chinese
sentence for the reply envelope, never an HTTP error."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

from fastapi import Request
from sqlalchemy import delete
from starlette.concurrency import run_in_threadpool

from gongji.gate.route import service
from gongji.service import security
from gongji.service.uow import run
from gongji.store import models as m

log = logging.getLogger("gongji.nhsa")
WHY_ZH = {
    "BAD_SIGNATURE": "签名校验未通过", "STALE_REQUEST": "请求时间戳超出允许范围,请校准时钟",
    "REPLAYED_NONCE": "请求随机数已使用过,疑似重放", "INSTITUTION_SUSPENDED": "该定点医药机构已暂停服务",
}


async def nhsa_caller(request: Request) -> None:
    """The route's declared rule (read by the authorisation matrix): an institution. The check
    itself is ``authenticate``, inside the handler, so a refusal is an envelope."""


nhsa_caller.rules = ("institution",)  # type: ignore[attr-defined]


def tif_signature(timestamp: str, secret: str, nonce: str) -> str:
    return hashlib.sha256(f"{timestamp}{secret}{nonce}{timestamp}".encode()).hexdigest()


async def authenticate(request: Request, body: bytes) -> tuple[str | None, str | None]:
    """(institution code, None) or (None, the Chinese reason)."""
    return await run_in_threadpool(authenticate_now, request, body)


def authenticate_now(request: Request, body: bytes) -> tuple[str | None, str | None]:
    """``authenticate`` in the calling thread (it blocks on the nonce book): the transaction's
    own trip to the thread pool runs it first."""
    h = request.headers
    engine = service(request).engine
    if h.get("x-tif-paasid") is not None:
        why, code = check_tif(engine, h.get("x-tif-paasid", ""), h.get("x-tif-timestamp", ""), h.get("x-tif-nonce", ""),
                              h.get("x-tif-signature", ""), int(time.time()))
    elif h.get("x-inst-code") is not None:
        code = h["x-inst-code"]
        why = security.check_signature(engine, code, h.get("x-timestamp", ""), h.get("x-nonce", ""),
                                       h.get("x-signature", ""), request.method, request.url.path, body,
                                       int(time.time()))
    else:
        return None, "未签名的请求:缺少 x-tif-paasid/x-tif-timestamp/x-tif-nonce/x-tif-signature 请求头"
    if why is not None:
        log.warning("nhsa request refused: %s on %s", why, request.url.path)
        return None, f"身份认证失败:{WHY_ZH.get(why, why)}"
    return code, None


def check_tif(engine, paasid: str, timestamp: str, nonce: str, signature: str, now: int) -> tuple[str | None, str | None]:
    """(refusal code or None, institution code). The nonce is kept per (paasid, timestamp, nonce)."""
    if not (timestamp.isascii() and timestamp.isdigit()) or abs(now - int(timestamp)) > security.TIF_WINDOW:
        return "STALE_REQUEST", None
    if not nonce or len(nonce) > 128 or not paasid or len(paasid) > 64:
        return "BAD_SIGNATURE", None

    found = security.institution_by_paasid(engine, paasid)
    if found is None or not found[1]:
        return "BAD_SIGNATURE", None
    code, secret, suspended = found
    if not hmac.compare_digest(tif_signature(timestamp, secret, nonce).encode(), signature.lower().encode()):
        return "BAD_SIGNATURE", None
    if suspended:
        return "INSTITUTION_SUSPENDED", None
    key = hashlib.sha256(f"tif\n{paasid}\n{timestamp}\n{nonce}".encode()).hexdigest()

    def first_use(uow) -> bool:
        s = uow.session
        if s.get(m.Nonce, (code, key)) is not None:
            return False
        s.add(m.Nonce(inst_code=code, nonce=key, seen_at=now))
        s.flush()  # a racing same nonce fails the key: the retry finds it
        s.execute(delete(m.Nonce).where(m.Nonce.seen_at < security.nonce_expiry(now)))
        return True

    return (None, code) if run(engine, first_use) else ("REPLAYED_NONCE", None)
