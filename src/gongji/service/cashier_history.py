"""An institution's settlement history for its cashiers: found by date range, by patient (个人编号
or full name) or by 结算流水号, newest first, a page at a time. Only the institution's own
settlements are ever read."""

from __future__ import annotations

from datetime import UTC, date, timedelta, timezone

from sqlalchemy import or_, select

from gongji.domain.errors import DomainError
from gongji.domain.money import format_yuan as y
from gongji.service.queries import counted
from gongji.service.uow import UnitOfWork
from gongji.store import models as m

PAGE_SIZE = 20
CHINA = timezone(timedelta(hours=8))


def _time(r: m.Settlement) -> str:
    """The time of day in China, when it is known for the settlement's own day: the national
    interface's settling time, else the row's creation (stored in UTC); a row made on another day
    than its settlement day (a replay, the demo's clock) shows no time rather than a wrong one."""
    if r.setl_time is not None:
        at = r.setl_time
    elif r.created_at is not None:
        at = r.created_at.replace(tzinfo=UTC).astimezone(CHINA).replace(tzinfo=None)
    else:
        return ""
    return at.strftime("%H:%M") if at.date() == r.setl_date else ""


def history(uow: UnitOfWork, fixmedins: str, *, start: date | None = None, end: date | None = None,
            patient: str = "", setl_id: str = "", page: int = 1, size: int = PAGE_SIZE) -> dict:
    """One page (from 1) of ``fixmedins``'s settlements matching every filter given, with the
    total count and the number of pages."""
    if page < 1 or not 1 <= size <= 200:
        raise DomainError("INVALID_INPUT", "页码应为从 1 开始的整数", "page")
    if start and end and end < start:
        raise DomainError("INVALID_INPUT", "终止日期不能早于起始日期", "to")
    S = m.Settlement
    q = select(S).where(S.fixmedins == fixmedins)
    if start:
        q = q.where(S.setl_date >= start)
    if end:
        q = q.where(S.setl_date <= end)
    if patient:
        q = q.where(or_(S.psn_no == patient,
                        S.psn_no.in_(select(m.Person.psn_no).where(m.Person.name == patient))))
    if setl_id:
        pk = m.settlement_pk(setl_id.upper())
        q = q.where(S.id == (pk if pk is not None else -1))  # no such number: nothing found
    total, rows = counted(uow, q, S.id.desc(), size, (page - 1) * size)
    names = dict(uow.session.execute(select(m.Person.psn_no, m.Person.name)
                                     .where(m.Person.psn_no.in_({r.psn_no for r in rows}))).all())
    items = [{"setl_id": r.setl_id, "setl_date": r.setl_date.isoformat(), "time": _time(r),
              "psn_no": r.psn_no, "name": names.get(r.psn_no),  # in full: the cashier calls the patient by it
              "medfee_sumamt": y(r.medfee_sumamt), "hifp_pay": y(r.hifp_pay), "acct_pay": y(r.acct_pay),
              "acct_mulaid_pay": y(r.acct_mulaid_pay), "psn_cash_pay": y(r.psn_cash_pay), "state": r.state}
             for r in rows]
    return {"total": total, "page": page, "pages": max(1, -(-total // size)), "size": size, "items": items}
