"""The audit trail: every state change appends a row in its own transaction, chained by SHA-256.

Only a digest of the payload is kept: the trail proves what happened without holding ID-card
numbers or names. The head row is locked by each writer, so the chain is one line, never a fork.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from gongji.service import scope
from gongji.service.clock import CHINA
from gongji.store import models as m
from gongji.store.raw import Raw

GENESIS = "0" * 64


def digest(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def link(prev: str, at: str, actor: str, action: str, target: str, payload_digest: str) -> str:
    return hashlib.sha256("\n".join((prev, at, actor, action, target, payload_digest)).encode()).hexdigest()


def append(uow, actor: str, action: str, target: str, payload: Any) -> None:
    append_many(uow, [(actor, action, target, payload)])


def append_many(uow, entries: list[tuple[str, str, str, Any]], areas: bool = True) -> None:
    """Entries (actor, action, target, payload) chained onto the trail in one insert."""
    if not entries:
        return
    uow.session.flush()
    _chain_on(Raw(uow.session.connection()), entries, areas)


def append_rows(db: Raw, rows: list[tuple[str, str, str, Any, str | None]]) -> None:
    """Entries (actor, action, target, payload, area) whose areas the caller already knows."""
    _append(db, rows, areas=True)


def _chain_on(db: Raw, entries: list[tuple[str, str, str, Any]], areas: bool = True) -> None:
    """Without ``areas`` the ``admdvs`` column is left out (a migration older than the column)."""
    named = scope.audit_areas(db, [target[:120] for _, _, target, _ in entries]) if areas else [None] * len(entries)
    _append(db, [(*e, area) for e, area in zip(entries, named, strict=True)], areas)


def _append(db: Raw, entries: list[tuple[str, str, str, Any, str | None]], areas: bool) -> None:
    """The rows chained onto the head. On PostgreSQL the server chains them (``audit_append``,
    migration 0011: the same ``link``, in SQL), within a settle batch as a part of its one write
    (``Raw.deferred``), so the head is locked only from then to the commit. Elsewhere the head row is read here: SQLite's
    writer already holds the database."""
    if not entries:
        return
    rows = [(actor[:80], action, target[:120], digest(payload), area and area[:64])
            for actor, action, target, payload, area in entries]
    if db.pg and areas:
        arrays = [list(col) for col in zip(*rows, strict=True)]
        if not db.defer("audit", dict(zip(("actor", "action", "target", "digest", "admdvs"), arrays, strict=True))):
            db.run("SELECT audit_append(?::text[], ?::text[], ?::text[], ?::text[], ?::text[])", *arrays)
        return
    row = db.one("SELECT last_hash FROM audit_head WHERE id = 1" + (" FOR UPDATE" if db.pg else ""))
    if row is None:  # the first entry ever; a racing first writer loses on the key and retries
        db.run("INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, 0, ?)", GENESIS)
    prev = row[0] if row else GENESIS
    chained: list[Sequence[Any]] = []
    for actor, action, target, d, area in rows:
        at = datetime.now(CHINA).isoformat(timespec="microseconds")
        h = link(prev, at, actor, action, target, d)
        chained.append((at, actor, action, target, d, prev, h) + ((area,) if areas else ()))
        prev = h
    columns = ("at", "actor", "action", "target", "payload_digest", "prev_hash", "hash") + (("admdvs",) if areas else ())
    with db.pipeline():  # insert and head move in one round trip: the head is found by its hash
        db.insert("audit", columns, chained)
        db.run("UPDATE audit_head SET last_id = (SELECT id FROM audit WHERE hash = ?), last_hash = ? WHERE id = 1",
               prev, prev)


def rewrite(db: Raw, fixed: dict[int, tuple[str, Any]], actor: str, action: str, areas: bool = True) -> None:
    """Replace the target and payload of rows (id → (target, payload)) that must not be kept as
    written (a secret in them), link every later row again, and record that as an entry of its
    own: its target names the old head hash (so a copy of it kept elsewhere can be matched), its
    payload the ids rewritten. The chain stays one line that ``verify_chain`` accepts."""
    if not fixed:
        return
    ids = sorted(fixed)
    old_head = db.one("SELECT last_hash FROM audit_head WHERE id = 1")[0]
    prev = db.one("SELECT prev_hash FROM audit WHERE id = ?", ids[0])[0]
    after = ids[0] - 1
    while True:
        rows = db.rows("SELECT id, at, actor, action, target, payload_digest FROM audit WHERE id > ?"
                       " ORDER BY id LIMIT 5000", after)
        if not rows:
            break
        changed: list[Sequence[Any]] = []
        for id_, at, who, what, target, payload_digest in rows:
            if id_ in fixed:
                target, payload_digest = fixed[id_][0][:120], digest(fixed[id_][1])
            h = link(prev, at, who, what, target, payload_digest)
            changed.append((id_, target, payload_digest, prev, h))
            prev, after = h, id_
        db.update("audit", ("id",), ("target", "payload_digest", "prev_hash", "hash"), changed)
    db.run("UPDATE audit_head SET last_id = ?, last_hash = ? WHERE id = 1", after, prev)
    _chain_on(db, [(actor, action, f"{len(ids)} rows from {ids[0]}; old head {old_head}",
                    {"rewritten": ids, "old_head": old_head})], areas)


def verify_chain(conn, tick=lambda done, total: None) -> list[str]:
    """Walks the chain in id order, streamed: every link recomputed, the head matched."""
    problems, prev, last_id = [], GENESIS, 0
    A = m.AuditEntry
    total = conn.execute(select(func.count()).select_from(A)).scalar_one()
    rows = conn.execution_options(yield_per=10_000).execute(
        select(A.id, A.at, A.actor, A.action, A.target, A.payload_digest, A.prev_hash, A.hash).order_by(A.id))
    for n, (id_, at, actor, action, target, payload_digest, prev_hash, hash_) in enumerate(rows, 1):
        if prev_hash != prev:
            problems.append(f"审计记录 {id_} 的前一哈希不符 / audit entry {id_}: chain broken before it")
        elif link(prev_hash, at, actor, action, target, payload_digest) != hash_:
            problems.append(f"审计记录 {id_} 内容被改动 / audit entry {id_}: contents altered")
        prev, last_id = hash_, id_
        if n % 100_000 == 0:
            tick(n, total)
    head = conn.execute(select(m.AuditHead.last_id, m.AuditHead.last_hash).where(m.AuditHead.id == 1)).first()
    if head is not None and (head.last_hash != prev or head.last_id != last_id):
        problems.append("审计链末端与记录不符 / audit head does not match the last entry (deleted rows?)")
    return problems


def entries(session, limit: int = 50, offset: int = 0, area: str = scope.NATIONAL) -> dict:
    """The newest entries; staff of an area see those naming a person of it (``service.scope``)."""
    where = scope.audit_filter(area)
    total = session.scalar(select(func.count()).select_from(m.AuditEntry).where(where))
    rows = session.scalars(select(m.AuditEntry).where(where).order_by(m.AuditEntry.id.desc())
                           .limit(limit).offset(offset))
    return {"total": total, "items": [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action,
                                       "target": e.target, "hash": e.hash} for e in rows]}
