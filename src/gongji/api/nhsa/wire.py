"""The national interface on the wire (docs/nhsa.md): the body read as JSON whatever its content
type (UTF-8, else GBK), and the reply envelope of spec 1.4, always HTTP 200, with all ten keys."""

from __future__ import annotations

import itertools
import os
import threading
from datetime import datetime
from typing import Any

from fastapi.responses import Response

from gongji.gate.limits import MAX_DEPTH, too_deep
from gongji.service.clock import CHINA
from gongji.service.nhsa import jsontext

_seq = itertools.count(1)
_seq_lock = threading.Lock()
NO_AREA = "000000"


class WireError(Exception):
    """A body that is no envelope at all; ``str()`` is the Chinese reason."""


GBK_NAMES = {"gbk", "gb2312", "gb18030", "cp936"}


def decode(body: bytes, charset: str = "") -> Any:
    """The body as JSON: in the charset the Content-Type declares when it is a GBK one, else UTF-8,
    falling back to GBK (some HIS software writes the Windows code page whatever it declares)."""
    if not body.strip():
        raise WireError("请求体为空,应为 JSON 报文")
    if too_deep(body, MAX_DEPTH):
        raise WireError(f"JSON 嵌套超过 {MAX_DEPTH} 层")
    try:
        text = body.decode("gb18030") if charset.lower() in GBK_NAMES else body.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = body.decode("gb18030")
        except UnicodeDecodeError:
            raise WireError("报文既不是 UTF-8 也不是 GBK 编码") from None
    if "\x00" in text:
        raise WireError("报文含有 NUL 字符")
    try:
        return jsontext.loads(text)
    except ValueError as e:
        raise WireError(f"报文不是合法的 JSON:{str(e).split(':')[0]}") from None


def now() -> datetime:
    return datetime.now(CHINA).replace(tzinfo=None)


def stamp17(t: datetime) -> str:
    return t.strftime("%Y%m%d%H%M%S") + f"{t.microsecond // 1000:03d}"


def refmsgid(area: str, t: datetime) -> str:
    """gongji's own message id: area (6) + ``yyyyMMddHHmmss`` + 10 digits (the process and a
    counter, so workers never collide)."""
    with _seq_lock:
        n = next(_seq)
    area = area if len(area) == 6 and area.isdigit() else NO_AREA
    return f"{area}{t.strftime('%Y%m%d%H%M%S')}{os.getpid() % 10000:04d}{n % 10**6:06d}"


def envelope(received: datetime, area: str, *, output: Any = None, err: str | None = None,
             warn: str | None = None) -> dict:
    sent = now()
    return {"infcode": -1 if err else 0, "inf_refmsgid": refmsgid(area, sent), "refmsg_time": stamp17(received),
            "respond_time": stamp17(sent), "err_msg": err, "warn_msg": warn,
            "output": None if err else (output if output is not None else {}),
            "cainfo": None, "signtype": None, "enctype": None}


def respond(doc: dict) -> Response:
    return Response(jsontext.dumps(doc).encode(), media_type="application/json;charset=utf-8")


def refusal(message: str, area: str = NO_AREA) -> Response:
    """A refusal before any envelope could be read (size, encoding, JSON)."""
    return respond(envelope(now(), area, err=message))
