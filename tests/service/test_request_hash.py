"""The request hash is written field by field; it stays the hash stored settlements carry."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gongji.domain.terms import CATEGORIES, MED_TYPES
from gongji.service import commands as c
from gongji.service.settlements import _reference_request_hash, request_hash

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
code = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=10)


@st.composite
def amounts(draw) -> tuple[str, str]:
    whole = draw(st.integers(0, 10**6))
    amount = draw(st.sampled_from([f"{whole}", f"{whole}.5", f"{whole}.05", f"{whole}.50", f"{whole}.00"]))
    over = draw(st.sampled_from(["0", "0.00", amount]))
    return amount, over


@st.composite
def items(draw) -> dict:
    amount, over = draw(amounts())
    item = {"code": draw(code), "name": draw(text), "list_class": draw(st.sampled_from("ABC")),
            "category": draw(st.sampled_from(CATEGORIES)), "amount": amount, "overlmt_amt": over}
    if draw(st.booleans()):
        item["selfpay_prop"] = draw(st.sampled_from(["0", "1", "0.1", "0.10", "10%", "12.5%", "0.333", 0, 1]))
    if draw(st.booleans()):
        item["classified_by"] = draw(st.sampled_from(["caller", "catalog"]))
    return item


@st.composite
def visits(draw) -> c.VisitRef:
    return c.VisitRef(psn_no=draw(code), fixmedins=draw(code), med_type=draw(st.sampled_from(MED_TYPES)),
                      dise_codg=draw(st.none() | st.text(max_size=8)), external_rx=draw(st.booleans()),
                      acct_used_flag=draw(st.sampled_from("01")), items=draw(st.lists(items(), min_size=1, max_size=4)))


@settings(max_examples=300, deadline=None)
@given(visits())
def test_request_hash_is_the_reference_hash(v):
    assert request_hash(v) == _reference_request_hash(v)


def test_request_hash_of_a_known_visit_is_unchanged():
    """A hash as settlements stored before the rewrite carry it, pinned by value."""
    v = c.VisitRef(psn_no="B1", fixmedins="C1", med_type="11", dise_codg="I10.x00", items=[
        {"code": "X", "name": "检查 \"引号\"\n", "list_class": "B", "category": "exam", "amount": "100",
         "selfpay_prop": "10%"}])
    assert request_hash(v) == _reference_request_hash(v)
    assert request_hash(v) == PINNED


PINNED = "a121860b4098d4ed1a355267352ba3922f2a1a76d1ecb48769f528b6e7817330"
