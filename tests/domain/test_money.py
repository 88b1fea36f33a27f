import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongji.domain.money import MoneyError, Ratio, format_yuan, parse_yuan


@pytest.mark.parametrize("text, fen", [
    ("120.50", 12050), ("120.5", 12050), ("120", 12000), (120, 12000), ("0.01", 1), ("0", 0),
    ("0.00", 0), ("007.10", 710),
])
def test_parse_yuan(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("bad, words", [
    (120.5, "float"), ("1.234", "more than 2 decimals"), ("-1.00", "negative"), (-3, "negative"),
    ("abc", "not an amount"), ("1e3", "not an amount"), (" 1.00", "not an amount"), ("", "not an amount"),
    (True, "expected an amount"), (None, "expected an amount"), ("1.", "not an amount"),
    ("+1", "not an amount"), ("1,000.00", "not an amount"), ("１２", "not an amount"),
])
def test_parse_yuan_refuses(bad, words):
    with pytest.raises(MoneyError, match=words):
        parse_yuan(bad)


@given(st.integers(min_value=0, max_value=10**13))
def test_format_then_parse_round_trips(fen):
    assert parse_yuan(format_yuan(fen)) == fen


def test_format_yuan():
    assert format_yuan(12050) == "120.50"
    assert format_yuan(5) == "0.05"
    assert format_yuan(-705) == "-7.05"
    with pytest.raises(MoneyError):
        format_yuan(1.5)


def test_format_yuan_remembers_amounts_but_not_for_booleans():
    assert format_yuan(1) == format_yuan(1) == "0.01"  # the second from the memo
    assert format_yuan(-1) == "-0.01"
    for flag in (True, False):  # equal to 1 and 0 as dict keys, still refused
        with pytest.raises(MoneyError):
            format_yuan(flag)


@given(st.integers(min_value=-10**13, max_value=10**13))
def test_format_yuan_twice_is_the_same(fen):
    whole, cents = divmod(abs(fen), 100)
    assert format_yuan(fen) == format_yuan(fen) == f"{'-' if fen < 0 else ''}{whole}.{cents:02d}"


def test_ratio_rounds_half_up_exactly():
    # calc-format.md: 98.35 yuan × 50% = 49.18, where a float gives 49.17
    assert Ratio.parse("0.5").of(9835) == 4918
    assert Ratio.parse("50%").of(9835) == 4918
    assert Ratio.parse("0.10").of(10000) == 1000
    assert Ratio.parse("0.333").of(100) == 33  # 33.3 → 33
    assert Ratio.parse("0.335").of(100) == 34  # 33.5 → 34
    assert Ratio.parse("0.7").of(1) == 1       # 0.7 → 1
    assert Ratio.parse("0.3").of(1) == 0       # 0.3 → 0


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10000))
def test_ratio_matches_decimal_half_up(fen, bp):
    from decimal import ROUND_HALF_UP, Decimal
    expected = int((Decimal(fen) * Decimal(bp) / Decimal(10000)).quantize(Decimal(1), ROUND_HALF_UP))
    assert Ratio(bp, 10000).of(fen) == expected


@pytest.mark.parametrize("bad", [0.5, "1.5", "-0.1", "abc", "150%", True, None])
def test_ratio_refuses(bad):
    with pytest.raises(MoneyError):
        Ratio.parse(bad)


def test_ratio_percent():
    assert Ratio.parse("0.6").percent() == "60%"
    assert Ratio.parse("0.125").percent() == "12.5%"
