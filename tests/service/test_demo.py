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
