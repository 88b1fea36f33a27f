"""The demo loader goes through the service: families in all four regions, settlements,
pending and overdue applications, and a database that passes ``verify``."""

from __future__ import annotations

from datetime import date

from gongji.demo import load
from gongji.service.clock import FixedClock
from gongji.service.facade import Service


def test_demo_data_is_sound(engine) -> None:
    today = date(2025, 12, 15)
    clock = FixedClock(today)
    svc = Service(engine, clock=clock)
    counts = load(svc, clock, today, days=45)
    assert counts["families"] == 20 and counts["institutions"] == 16
    assert counts["settlements"] > 30 and counts["pending"] == 7
    assert svc.verify() == []
    queue = svc.pending()
    assert len(queue) == 7 and any(q["overdue"] for q in queue) and not all(q["overdue"] for q in queue)
    assert {q["region"] for q in queue} == {"652800", "532600", "370300", "532800"}


def test_every_demo_person_has_a_name_and_a_valid_id_card_number(engine) -> None:
    """The national interface's 1101 looks persons up by ID card: every demo person can be found."""
    from sqlalchemy import select
    from stdnum.cn import ric

    from gongji.store import models as m

    today = date(2025, 12, 15)
    clock = FixedClock(today)
    load(Service(engine, clock=clock), clock, today, days=1)
    with engine.connect() as conn:
        persons = conn.execute(select(m.Person.psn_no, m.Person.name, m.Person.certno)).all()
    assert len(persons) > 60
    assert [p.psn_no for p in persons if not p.name or not p.certno] == []
    assert all(ric.is_valid(p.certno) for p in persons)
    assert len({p.certno for p in persons}) == len(persons)
