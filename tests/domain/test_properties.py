"""Properties of the calculation over random situations in every region."""

from dataclasses import replace
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from gongji.domain.errors import DomainError
from gongji.domain.money import Ratio
from gongji.domain.settlement import calculate
from gongji.domain.situation import Binding, Filing, Institution, Item, Period, Person, Situation, Visit
from gongji.policy.loader import default_registry

REGIONS = {"652800": "6528", "532600": "5326", "370300": "3703", "532800": "5328"}
DAY = date(2025, 6, 10)
fen = st.integers(min_value=0, max_value=1_000_000)


@st.composite
def situations(draw):
    region = draw(st.sampled_from(sorted(REGIONS)))
    area = REGIONS[region] + "01"
    n_holders = draw(st.integers(1, 3)) if region != "652800" else 1
    persons = {f"H{i}": Person(f"H{i}", "310", area, balance=draw(fen)) for i in range(n_holders)}
    insutype = draw(st.sampled_from(["310", "390"]))
    persons["B"] = Person("B", insutype, area, balance=draw(fen) if insutype == "310" else 0,
                          sanctions=draw(st.sampled_from([(), (Period(DAY, DAY),)])))
    for k in list(persons):
        if k != "B":
            persons[k] = replace(persons[k], mulaid_frozen=draw(st.booleans()) and draw(st.booleans()),
                                 status=draw(st.sampled_from(["active"] * 5 + ["transferred"])))
    bindings = tuple(Binding(h, "B", "spouse", date(2025, 1, draw(st.integers(1, 28))),
                             draw(st.sampled_from([None, None, date(2025, 6, 9), DAY])))
                     for h in persons if h != "B")
    inst_area = draw(st.sampled_from([area, area, "650102", "110105"]))
    filings = tuple(Filing("B", inst_area[:2] + "0000", Period(date(2025, 1, 1), date(2025, 12, 31)))
                    for _ in range(draw(st.integers(0, 1))))
    items = tuple(Item(f"X{i}", "", draw(st.sampled_from("ABC")),
                       draw(st.sampled_from(["drug", "exam", "tcm", "cosmetic", "prepregnancy"])),
                       draw(st.integers(0, 800_000)), Ratio(draw(st.integers(0, 100)), 100))
                  for i in range(draw(st.integers(1, 5))))
    visit = Visit("B", Institution("I", draw(st.integers(1, 3)), inst_area, "hospital"),
                  draw(st.sampled_from(["11", "14", "41"])), items,
                  draw(st.sampled_from([None, "I10", "E11.9", "J45"])), draw(st.booleans()),
                  draw(st.sampled_from(["1", "1", "0"])))
    received = {"B": draw(fen)}
    paid = {h: draw(fen) for h in persons if h != "B"}
    return Situation(region, DAY, persons, visit, bindings, filings, received, paid)


def run(s):
    return calculate(s, default_registry().find(s.region).at(s.date))


@settings(max_examples=400, deadline=None)
@given(situations())
def test_fields_add_up_and_nothing_is_negative(s):
    r = run(s)
    assert r.medfee_sumamt == sum(i.amount for i in s.visit.items)
    assert r.medfee_sumamt == r.fulamt_ownpay_amt + r.preselfpay_amt + r.inscp_scp_amt
    assert r.medfee_sumamt == r.hifp_pay + r.acct_pay + r.acct_mulaid_pay + r.psn_cash_pay
    assert min(r.hifp_pay, r.acct_pay, r.acct_mulaid_pay, r.psn_cash_pay, r.act_pay_dedc) >= 0
    assert r.acct_mulaid_pay == sum(a for _, a in r.mulaid_detail)
    assert len(r.codes) == len(set(r.codes))


@settings(max_examples=400, deadline=None)
@given(situations())
def test_mutual_aid_within_every_cap_and_balance(s):
    r = run(s)
    terms = default_registry().find(s.region).at(s.date)
    payable = r.inscp_scp_amt - r.hifp_pay + r.preselfpay_amt
    assert r.acct_pay + r.acct_mulaid_pay <= payable
    assert r.acct_pay <= s.persons["B"].balance
    if terms.settlement_cap is not None:
        assert r.acct_mulaid_pay <= terms.settlement_cap
    cap = terms.annual_cap_beneficiary.get(s.persons["B"].insutype)
    if cap is not None:
        extra = terms.chronic_extra_quota or 0
        assert r.acct_mulaid_pay <= max(0, cap + extra - s.mulaid_received["B"])
    for holder, amount in r.mulaid_detail:
        assert amount <= s.persons[holder].balance
        assert s.persons[holder].status == "active" and not s.persons[holder].mulaid_frozen
        if terms.annual_cap_holder is not None:
            assert amount <= max(0, terms.annual_cap_holder - s.mulaid_paid[holder])
    # the payers go highest balance first
    balances = [s.persons[h].balance for h, _ in r.mulaid_detail]
    assert balances == sorted(balances, reverse=True)


@settings(max_examples=300, deadline=None)
@given(situations(), st.sampled_from(["B", "H0"]), st.integers(1, 500_000))
def test_more_balance_never_means_more_cash(s, who, more):
    richer = replace(s, persons={**s.persons, who: replace(s.persons[who], balance=s.persons[who].balance + more)}) \
        if s.persons[who].insutype == "310" else s
    assert run(richer).psn_cash_pay <= run(s).psn_cash_pay


@settings(max_examples=200, deadline=None)
@given(situations())
def test_deceased_patient_is_refused(s):
    dead = replace(s, persons={**s.persons, "B": replace(s.persons["B"], status="deceased")})
    try:
        run(dead)
    except DomainError as e:
        assert e.code == "PERSON_DECEASED"
    else:
        raise AssertionError("a deceased patient was settled")
