"""The service's idea of today. Injected, so stories and tests set the date of every step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

Clock = Callable[[], date]
CHINA = ZoneInfo("Asia/Shanghai")


def china_today() -> date:
    """Today in Beijing time: a settlement at 00:30 in Urumqi belongs to the national date."""
    return datetime.now(CHINA).date()


class FixedClock:
    """A clock a replay or a test moves by hand."""

    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> date:
        return self.day
