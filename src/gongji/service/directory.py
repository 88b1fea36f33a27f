"""Staff's lists: persons found by name, ID-card number or 个人编号, institutions, staff, and the
audit trail filtered. Each list keeps to the caller's area (``service.scope``): what lies outside
is simply not there."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy import String, cast, func, literal, or_, select

from gongji.service import scope
from gongji.service.queries import counted, mask_certno, page
from gongji.service.security import fingerprint
from gongji.service.uow import UnitOfWork
from gongji.store import models as m

CERTNO = re.compile(r"^[0-9]{17}[0-9Xx]$")


def _like(text: str) -> str:
    """``text`` as a LIKE pattern matching itself only (its % and _ escaped with \\)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_persons(uow: UnitOfWork, area: str, text: str, limit: int = 50, offset: int = 0) -> dict:
    """Persons whose 个人编号 is ``text``, whose ID-card number is ``text`` (all 18 characters,
    as stored: upper case), or whose name contains it; within the area, by 个人编号."""
    limit, offset = page(limit, offset)
    P = m.Person
    keys = [P.psn_no == text, P.name.like(f"%{_like(text)}%", escape="\\")]
    if CERTNO.match(text):
        keys.append(P.certno == text.upper())
    q = select(P).where(or_(*keys), scope.admdvs_in(area, P.insu_admdvs))
    total, rows = counted(uow, q, P.psn_no, limit, offset)
    return {"total": total, "items": [
        {"psn_no": p.psn_no, "name": p.name, "certno": mask_certno(p.certno), "insutype": p.insutype,
         "insu_admdvs": p.insu_admdvs, "status": p.status} for p in rows]}


def institutions(uow: UnitOfWork, area: str, limit: int = 50, offset: int = 0) -> dict:
    limit, offset = page(limit, offset)
    I = m.Institution
    q = select(I).where(scope.admdvs_in(area, I.admdvs))
    total, rows = counted(uow, q, I.code, limit, offset)
    return {"total": total, "items": [
        {"code": i.code, "name": i.name, "level": i.level, "admdvs": i.admdvs, "kind": i.kind,
         "suspended": bool(i.suspended), "has_secret": bool(i.secret), "registered_on": i.registered_on.isoformat(),
         "fingerprint": fingerprint(i.secret)}
        for i in rows]}


def staff(uow: UnitOfWork, area: str, limit: int = 50, offset: int = 0, now: datetime | None = None) -> dict:
    """Staff serving within the area (one serving the whole country only for national callers);
    ``locked``: their login is locked at ``now`` (too many wrong passwords)."""
    limit, offset = page(limit, offset)
    S = m.Staff
    q = select(S).where(scope.admdvs_in(area, S.area))
    total, rows = counted(uow, q, S.username, limit, offset)
    return {"total": total, "items": [
        {"username": s.username, "role": s.role, "area": s.area, "active": s.active,
         "locked": s.locked_until is not None and now is not None and s.locked_until > now, "fingerprint": fingerprint(s.password_hash)} for s in rows]}


def staff_in_area(uow: UnitOfWork, area: str, username: str) -> bool:
    row = uow.session.get(m.Staff, username)
    return row is not None and (area == scope.NATIONAL or row.area.startswith(area) and row.area != "")


def audit(uow: UnitOfWork, area: str, *, frm: date | None = None, to: date | None = None,
          actor: str = "", action: str = "", person: str = "", limit: int = 50, offset: int = 0) -> dict:
    """``service.audit.entries`` with filters: days (inclusive, China time as written), the actor
    (part of it), the action (a ``nhsa_`` prefix takes every national-interface transaction) and
    a person (entries naming their 个人编号, one of their bindings or one of their settlements)."""
    limit, offset = page(limit, offset)
    A = m.AuditEntry
    q = select(A).where(scope.audit_filter(area))
    if frm:
        q = q.where(A.at >= frm.isoformat())
    if to:
        q = q.where(A.at < (to + timedelta(days=1)).isoformat())
    if actor:
        q = q.where(A.actor.like(f"%{_like(actor)}%", escape="\\"))
    if action == "nhsa_":
        q = q.where(A.action.like("nhsa\\_%", escape="\\"))
    elif action:
        q = q.where(A.action == action)
    if person:
        q = q.where(_naming(uow, person))
    total = uow.session.scalar(select(func.count()).select_from(q.subquery()))
    rows = uow.session.scalars(q.order_by(A.id.desc()).limit(limit).offset(offset))
    return {"total": total, "items": [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action,
                                       "target": e.target, "hash": e.hash} for e in rows]}


def _naming(uow: UnitOfWork, psn_no: str):
    """Targets naming the person as ``service.scope.target_ids`` reads them (``P1``, ``P1->P2``,
    ``H1:P2``, ``claim:C1:P2``), a binding of theirs, or a settlement of theirs (``S…``, ``S…:key``)."""
    A, p = m.AuditEntry, _like(psn_no)
    sides = [A.target == psn_no]
    for pattern in (f"{p}:%", f"{p}->%", f"%:{p}", f"%>{p}", f"%:{p}:%", f"%>{p}:%"):
        sides.append(A.target.like(pattern, escape="\\"))
    binding_ids = select(literal("binding:") + cast(m.Binding.id, String)).where(
        or_(m.Binding.holder == psn_no, m.Binding.beneficiary == psn_no))
    sides.append(A.target.in_(binding_ids))
    setl = [m.setl_id_of(pk) for pk in uow.session.scalars(
        select(m.Settlement.id).where(m.Settlement.psn_no == psn_no))]
    for width in sorted({len(s) for s in setl}):
        ids = [s for s in setl if len(s) == width]
        sides += [A.target.in_(ids), func.substr(A.target, 1, width + 1).in_([f"{s}:" for s in ids])]
    return or_(*sides)
