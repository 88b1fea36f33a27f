"""Chinese working days: statutory holidays off, make-up weekend workdays on (chinese-calendar)."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar


def add_working_days(start: date, n: int) -> tuple[date, bool]:
    """The ``n``-th working day strictly after ``start``, and whether it is an estimate.

    The start day itself never counts, whether or not it is a working day (an application on a
    Sunday is due on the 3rd working day after it, like one on the Friday before). One loop serves
    every year: chinese-calendar knows the State Council's schedule only for the years it has been
    published; past that, Monday to Friday are counted and the date is marked as an estimate, never
    guessed silently. (``chinese_calendar.find_workday`` is not used: it counts a non-working start
    as if it were the first working day, one day late.)"""
    day, left, estimated = start, n, False
    while left > 0:
        day += timedelta(days=1)
        try:
            working = chinese_calendar.is_workday(day)
        except NotImplementedError:
            working, estimated = day.weekday() < 5, True
        left -= working
    return day, estimated
