"""Messages by their sender's ``msgid``: exactly once, the national way.

The same institution, ``msgid`` and ``input`` get the stored reply and change nothing; the same
``msgid`` with another input is refused. A refusal is not stored (it changed nothing, so a retry
is judged afresh). A 2601 that arrives before the message it reverses leaves a mark, so that the
late message is refused rather than booked."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gongji.domain.errors import DomainError
from gongji.service.nhsa import jsontext
from gongji.store import models as m

REVERSED_FIRST = "reversed-before-arrival"  # input_hash of the mark a 2601 leaves


@dataclass
class Outcome:
    """What a transaction answers: its ``output`` node, a ``warn_msg``, and what it booked."""

    output: dict[str, Any] = field(default_factory=dict)
    warn: str | None = None
    settlement_id: int | None = None

    def text(self) -> str:
        return jsontext.dumps({"output": self.output, "warn_msg": self.warn})


def digest(input_: Any) -> str:
    """The input as sent, canonically: keys sorted, numbers by their exact value."""
    return hashlib.sha256(jsontext.dumps(_canonical(input_)).encode()).hexdigest()


def _canonical(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _canonical(v[k]) for k in sorted(v)}
    if isinstance(v, list):
        return [_canonical(x) for x in v]
    return v


def once(uow, fixmedins: str, msgid: str, infno: str, input_hash: str,
         work: Callable[[], Outcome]) -> tuple[Outcome, bool]:
    """(the outcome, made now). ``work`` runs in the caller's transaction and its outcome is
    stored with it, so the booking and the reply commit together or not at all."""
    s = uow.session
    row = s.get(m.NhsaMessage, (fixmedins, msgid))
    if row is not None:
        if row.input_hash == REVERSED_FIRST:
            raise DomainError("ALREADY_REVERSED", f"报文 {msgid} 已被冲正(2601),不予办理;请以新的报文ID重新发起")
        if row.infno != infno or row.input_hash != input_hash:
            raise DomainError("IDEMPOTENCY_CONFLICT",
                              f"报文ID {msgid} 已用于另一笔 {row.infno} 交易,内容不同;请使用新的报文ID", "msgid")
        stored = jsontext.loads(row.reply)
        return Outcome(stored.get("output") or {}, _now_undone(s, row, stored.get("warn_msg")), row.settlement_id), False
    out = work()
    s.add(m.NhsaMessage(fixmedins=fixmedins, msgid=msgid, infno=infno, input_hash=input_hash,
                        reply=out.text(), settlement_id=out.settlement_id))
    s.flush()
    return out, True


def _now_undone(s, row: m.NhsaMessage, warn: str | None) -> str | None:
    """The stored warning, and, when the settlement the reply names has been cancelled or
    reversed since, that: a retry is never told a settlement stands that no longer does."""
    setl = s.get(m.Settlement, row.settlement_id) if row.settlement_id is not None else None
    if setl is None or setl.state != "reversed":
        return warn
    now = f"结算 {setl.setl_id} 已于 {setl.reversed_on} 撤销(冲正),此应答中的结算已无效"
    return f"{warn};{now}" if warn else now


def find(uow, fixmedins: str, msgid: str) -> m.NhsaMessage | None:
    return uow.session.get(m.NhsaMessage, (fixmedins, msgid))


def mark_reversed_first(uow, fixmedins: str, msgid: str, infno: str, by: str) -> None:
    uow.session.add(m.NhsaMessage(fixmedins=fixmedins, msgid=msgid, infno=infno, input_hash=REVERSED_FIRST,
                                  reply=Outcome().text(), reversed_by=by))
