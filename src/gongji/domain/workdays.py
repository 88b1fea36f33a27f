"""Chinese working days: statutory holidays off, make-up weekend workdays on (chinese-calendar)."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar


def add_working_days(start: date, n: int) -> tuple[date, bool]:
    """The ``n``-th working day after ``start``, and whether it is an estimate.

    chinese-calendar knows the State Council's schedule only for the years it has been published;
    past that, Monday to Friday are counted and the date is marked as an estimate, never guessed
    silently."""
    try:
        return chinese_calendar.find_workday(n, start), False
    except NotImplementedError:
        day, left = start, n
        while left:
            day += timedelta(days=1)
            try:
                working = chinese_calendar.is_workday(day)
                estimated = False
            except NotImplementedError:
                working, estimated = day.weekday() < 5, True
            left -= working
        return day, estimated
