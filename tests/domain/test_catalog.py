"""The catalogue's split of a fee line (2204): the four parts add up, and each rule bites."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from gongji.domain.catalog import Entry, default_category, in_force, line_total, split


def entry(lv: str = "02", prop: str = "0.05", cap: str | None = None, lmt: str = "0", category: str = "drug") -> Entry:
    return Entry("XA01", "药", "09", lv, D(prop), None if cap is None else D(cap), lmt, category)


def test_class_b_first_self_pay_half_up() -> None:
    s = split(entry(), D("1"), D("4.52"), 452)  # the spec's sample line: 4.52 × 0.05 = 0.226 → 0.23
    assert (s.fulamt_ownpay, s.overlmt, s.preselfpay, s.inscp, s.list_class) == (0, 0, 23, 429, "B")


def test_class_c_wholly_self_paid() -> None:
    s = split(entry("03", "1"), D("1"), D("1.50"), 150)
    assert (s.fulamt_ownpay, s.inscp, s.list_class, s.self_paid_why) == (150, 0, "C", "丙类")


def test_price_cap_takes_the_excess_per_unit_times_count() -> None:
    s = split(entry("02", "0.10", cap="10.00"), D("3"), D("12.345"), line_total(D("3"), D("12.345")))
    assert s.amount == 3704  # 37.035 → 37.04
    assert s.overlmt == 704  # (12.345 − 10) × 3 = 7.035 → 7.04
    assert s.preselfpay == 300 and s.inscp == 2700  # (37.04 − 7.04) × 0.10


def test_restricted_item_needs_approval_and_a_refusal_is_self_paid() -> None:
    assert split(entry(lmt="1"), D(1), D(10), 1000, "0").fulamt_ownpay == 1000
    assert split(entry(lmt="1"), D(1), D(10), 1000, "1").fulamt_ownpay == 0
    assert split(entry(), D(1), D(10), 1000, "2").self_paid_why == "医院审批不通过"


def test_out_of_scope_category_is_self_paid() -> None:
    assert split(entry("01", "0", category="cosmetic"), D(1), D(10), 1000, "0", frozenset({"cosmetic"})).list_class == "C"


def test_default_categories() -> None:
    assert [default_category(t) for t in ("03", "04", "09", "11", "10", "01", "13")] == \
        ["exam", "exam", "drug", "drug", "tcm", "treatment", "treatment"]


def test_in_force_prefers_the_narrower_region_then_the_later_start() -> None:
    from datetime import date
    national = base = entry()
    narrow = Entry(base.code, "本地", "09", "01", D(0), None, "0", "drug", "6528", date(2025, 1, 1))
    later = Entry(base.code, "新", "09", "02", D("0.2"), None, "0", "drug", "", date(2026, 1, 1), None)
    found = in_force([national, narrow, later], "652801", date(2026, 3, 1))
    assert found is narrow
    assert in_force([national, later], "110101", date(2026, 3, 1)) is later
    assert in_force([narrow], "110101", date(2026, 3, 1)) is None


@given(st.sampled_from(["01", "02", "03"]), st.integers(0, 10000), st.integers(1, 50), st.integers(1, 999999),
       st.one_of(st.none(), st.integers(1, 999999)), st.sampled_from(["0", "1", "2"]), st.sampled_from(["0", "1"]))
def test_parts_add_up_and_are_not_negative(lv, prop, cnt, pric_fen, cap_fen, appr, lmt) -> None:
    e = entry(lv, str(D(prop) / 10000), None if cap_fen is None else str(D(cap_fen) / 100), lmt)
    pric = D(pric_fen) / 100
    amount = line_total(D(cnt), pric)
    s = split(e, D(cnt), pric, amount, appr)
    assert s.fulamt_ownpay + s.overlmt + s.preselfpay + s.inscp == amount
    assert min(s.fulamt_ownpay, s.overlmt, s.preselfpay, s.inscp) >= 0
