"""The review deadline: the n-th Chinese working day strictly after the application date."""

from bisect import bisect_right
from datetime import date, timedelta

import chinese_calendar
import pytest

from gongji.domain.workdays import add_working_days

# Every working day from 2025 to the end of the library's calendar, listed once by the library.
WORKDAYS = chinese_calendar.get_workdays(date(2025, 1, 1), date(2026, 12, 31))


def _expected(start: date, n: int) -> date:
    """Independent count: the working days listed after ``start``, take the n-th."""
    return WORKDAYS[bisect_right(WORKDAYS, start) + n - 1]


def test_every_day_of_2025_and_2026_against_the_calendar() -> None:
    day = date(2025, 1, 1)
    while day <= date(2026, 12, 20):  # the 3rd working day after stays inside the published years
        assert add_working_days(day, 3) == (_expected(day, 3), False), day
        day += timedelta(days=1)


@pytest.mark.parametrize(("applied", "due"), [
    (date(2026, 1, 11), date(2026, 1, 14)),   # Sunday: Mon 12, Tue 13, Wed 14
    (date(2025, 10, 3), date(2025, 10, 11)),  # National Day: 9, 10, and the make-up Saturday 11
    (date(2025, 6, 2), date(2025, 6, 5)),     # Dragon Boat Festival holiday (Monday)
    (date(2025, 1, 3), date(2025, 1, 8)),     # a Friday: the weekend does not count
])
def test_named_dates(applied: date, due: date) -> None:
    assert add_working_days(applied, 3) == (due, False)


def test_years_past_the_published_calendar_are_estimates_counted_the_same_way() -> None:
    assert add_working_days(date(2026, 12, 31), 3) == (date(2027, 1, 5), True)  # Fri 1, Mon 4, Tue 5
    assert add_working_days(date(2031, 1, 4), 3) == (date(2031, 1, 8), True)  # a Saturday start
    assert add_working_days(date(2031, 1, 3), 3) == (date(2031, 1, 8), True)  # the Friday before
    # a date the library knows but whose deadline falls in an unknown year is still an estimate
    assert add_working_days(date(2026, 12, 29), 3)[1] is True
