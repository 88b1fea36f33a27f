"""Small builders for service tests: a dated service on a test engine, visits by amount."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from gongji.service import commands as c
from gongji.service.clock import FixedClock
from gongji.service.facade import Service


def service(engine, day: str = "2025-03-03") -> Service:
    return Service(engine, clock=FixedClock(date.fromisoformat(day)))


def visit(psn_no: str, amount: str, fixmedins: str = "C1", med_type: str = "11", **kw) -> c.VisitRef:
    return c.VisitRef(psn_no=psn_no, fixmedins=fixmedins, med_type=med_type, items=[
        {"code": "X", "name": "检查", "list_class": "A", "category": "exam", "amount": amount}], **kw)


def family(svc: Service, holder_balance: str, beneficiaries: int = 4) -> list[str]:
    """Bayingolin: a level-1 clinic C1, holder A with ``holder_balance``, resident children
    B1..Bn bound and approved."""
    svc.register_institution(c.RegisterInstitution(code="C1", level=1, admdvs="652801", kind="hospital"))
    svc.register_person(c.RegisterPerson(psn_no="A", insutype="310", insu_admdvs="652801", balance=holder_balance))
    names = [f"B{i}" for i in range(1, beneficiaries + 1)]
    for b in names:
        svc.register_person(c.RegisterPerson(psn_no=b, insutype="390", insu_admdvs="652801"))
        applied = svc.apply(c.Apply(holder="A", beneficiary=b, relation="child", channel="online"))
        svc.review(c.Review(binding_id=applied["id"], decision="approve"))
    return names


@contextmanager
def statements_sent(monkeypatch) -> Iterator[list[tuple[str, object]]]:
    """Every (query, params) psycopg executes inside the block."""
    import psycopg
    sent: list[tuple[str, object]] = []
    real = psycopg.Cursor.execute

    def recording(cur, query, params=None, **kw):
        sent.append((str(query), params))
        return real(cur, query, params, **kw)

    monkeypatch.setattr(psycopg.Cursor, "execute", recording)
    try:
        yield sent
    finally:
        monkeypatch.undo()
