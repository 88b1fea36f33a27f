"""The audit trail: every state change appends a row in its own transaction, chained by SHA-256.

Only a digest of the payload is kept: the trail proves what happened without holding ID-card
numbers or names. The head row is locked by each writer, so the chain is one line, never a fork.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from gongji.service.clock import CHINA
from gongji.store import models as m

GENESIS = "0" * 64


def digest(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def link(prev: str, at: str, actor: str, action: str, target: str, payload_digest: str) -> str:
    return hashlib.sha256("\n".join((prev, at, actor, action, target, payload_digest)).encode()).hexdigest()


def append(uow, actor: str, action: str, target: str, payload: Any) -> None:
    append_many(uow, [(actor, action, target, payload)])


def append_many(uow, entries: list[tuple[str, str, str, Any]]) -> None:
    """Entries (actor, action, target, payload) chained onto the trail in one insert; the head
    row is locked (PostgreSQL) or the database already is (SQLite writers)."""
    if not entries:
        return
    uow.session.flush()
    conn = uow.session.connection()
    head_t, audit_t = m.AuditHead.__table__, m.AuditEntry.__table__
    q = select(head_t.c.last_hash).where(head_t.c.id == 1)
    if not uow.sqlite:
        q = q.with_for_update()
    prev = conn.execute(q).scalar()
    if prev is None:  # the first entry ever; a racing first writer loses on the key and retries
        prev = GENESIS
        conn.execute(insert(head_t).values(id=1, last_id=0, last_hash=GENESIS))
    rows = []
    for actor, action, target, payload in entries:
        at = datetime.now(CHINA).isoformat(timespec="microseconds")
        d = digest(payload)
        h = link(prev, at, actor[:80], action, target[:120], d)
        rows.append(dict(at=at, actor=actor[:80], action=action, target=target[:120], payload_digest=d,
                         prev_hash=prev, hash=h))
        prev = h
    ids = conn.execute(insert(audit_t).returning(audit_t.c.id, sort_by_parameter_order=True), rows).scalars().all()
    conn.execute(update(head_t).where(head_t.c.id == 1).values(last_id=ids[-1], last_hash=prev))


def verify_chain(session) -> list[str]:
    problems, prev, last_id = [], GENESIS, 0
    for e in session.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id)):
        if e.prev_hash != prev:
            problems.append(f"审计记录 {e.id} 的前一哈希不符 / audit entry {e.id}: chain broken before it")
        elif link(e.prev_hash, e.at, e.actor, e.action, e.target, e.payload_digest) != e.hash:
            problems.append(f"审计记录 {e.id} 内容被改动 / audit entry {e.id}: contents altered")
        prev, last_id = e.hash, e.id
    head = session.get(m.AuditHead, 1)
    if head is not None and (head.last_hash != prev or head.last_id != last_id):
        problems.append("审计链末端与记录不符 / audit head does not match the last entry (deleted rows?)")
    return problems


def entries(session, limit: int = 50, offset: int = 0) -> dict:
    from sqlalchemy import func
    total = session.scalar(select(func.count()).select_from(m.AuditEntry))
    rows = session.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id.desc()).limit(limit).offset(offset))
    return {"total": total, "items": [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action,
                                       "target": e.target, "hash": e.hash} for e in rows]}
