"""The situation format of shared/spec/calc-format.md: parse a document, calculate, format.

``calc(doc)`` is the library call behind ``gongji calc`` and ``POST /api/v1/calc``. Bad input
raises ``InputError`` naming the field; a refusal by policy raises ``DomainError`` with its code.
"""

from __future__ import annotations

import json
from datetime import date
from operator import attrgetter
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from gongji.domain.errors import DomainError
from gongji.domain.money import Ratio, format_yuan, parse_yuan
from gongji.domain.settlement import Settlement, calculate
from gongji.domain.situation import (
    STATUSES,
    Binding,
    Filing,
    Institution,
    Item,
    Period,
    Person,
    Situation,
    Visit,
)
from gongji.domain.terms import CATEGORIES, MED_TYPES, RELATIONS
from gongji.policy import exact_yaml
from gongji.policy.loader import PolicyError, Registry, default_registry

Yuan = Annotated[int, BeforeValidator(parse_yuan)]
Admdvs = Annotated[str, Field(pattern=r"^[0-9]{6}$")]
Code = Annotated[str, Field(min_length=1, max_length=64)]
# 人员编号 C(30): letters and digits only, so no number can start a formula in an export or
# carry markup; required where a number is made (registration), looked-up numbers stay ``Code``
PsnNo = Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,30}$")]
Strict = ConfigDict(extra="forbid", frozen=True)


class InputError(ValueError):
    """Input that is not a valid situation. ``str()`` is one line naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class SanctionIn(BaseModel):
    model_config = Strict
    from_: date = Field(alias="from")
    to: date


class PersonIn(BaseModel):
    model_config = Strict
    insutype: Literal["310", "390"]
    insu_admdvs: Admdvs
    balance: Yuan = 0
    status: Literal[STATUSES] = "active"  # type: ignore[valid-type]
    mulaid_frozen: bool = False
    sanctions: list[SanctionIn] = []


class BindingIn(BaseModel):
    model_config = Strict
    holder: Code
    beneficiary: Code
    relation: Literal[RELATIONS]  # type: ignore[valid-type]
    approved_on: date
    unbind_requested_on: date | None = None


class UsageIn(BaseModel):
    model_config = Strict
    mulaid_received: dict[str, Yuan] = {}
    mulaid_paid: dict[str, Yuan] = {}


class FilingIn(BaseModel):
    model_config = Strict
    psn_no: Code
    admdvs: Admdvs
    from_: date = Field(alias="from")
    to: date


class InstitutionIn(BaseModel):
    model_config = Strict
    code: Code
    level: Literal[1, 2, 3]
    admdvs: Admdvs
    kind: Literal["hospital", "pharmacy"]


class ItemIn(BaseModel):
    model_config = Strict
    code: Code
    name: Annotated[str, Field(max_length=200)] = ""
    list_class: Literal["A", "B", "C"]
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    amount: Yuan
    selfpay_prop: Annotated[Ratio, BeforeValidator(Ratio.parse)] = Ratio(0, 1)
    # the part above the catalogue's price cap (超限价), self-paid; the catalogue sets it (NHSA 2204)
    overlmt_amt: Yuan = 0
    # set by gongji, whatever a caller sends: "catalog" when the catalogue (医保目录) classified
    # the item by its code, "caller" when the class and category are the caller's
    classified_by: Literal["caller", "catalog"] = "caller"

    @model_validator(mode="after")
    def _overlmt_within(self) -> ItemIn:
        if not 0 <= self.overlmt_amt <= self.amount:
            raise ValueError("overlmt_amt: must be between 0.00 and the item's amount")
        return self


class VisitFields(BaseModel):
    """A visit's fields but the institution: calc names it in full, the service by code."""

    model_config = Strict
    psn_no: Code
    med_type: Literal[MED_TYPES]  # type: ignore[valid-type]
    dise_codg: Annotated[str, Field(max_length=32)] | None = None
    external_rx: bool = False
    acct_used_flag: Literal["0", "1"] = "1"
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=2000)]


class VisitIn(VisitFields):
    fixmedins: InstitutionIn


class SituationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    region: Annotated[str, Field(pattern=r"^[0-9]{6}$")]
    date: date
    persons: dict[Code, PersonIn]
    bindings: list[BindingIn] = []
    usage: UsageIn = UsageIn()
    filings: list[FilingIn] = []
    visit: VisitIn
    expect: dict[str, Any] | None = None  # golden files carry it; ignored here


def _loc(loc: tuple) -> str:
    out = ""
    for p in loc:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            p = "from" if p == "from_" else p
            out += f".{p}" if out else str(p)
    return out


def _message(err: dict) -> str:
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        return "required"
    return msg


M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], doc: Any, what: str = "a situation", prefix: tuple = ()) -> M:
    """``model`` from a decoded document, or ``InputError`` naming the first bad field."""
    if not isinstance(doc, dict):
        raise InputError(_loc(prefix), f"{what} must be a JSON object")
    try:
        return model.model_validate(doc)
    except ValidationError as e:
        err = e.errors()[0]
        # A tagged Ratio/Yuan failure carries the validator name as the last loc part; drop it.
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        raise InputError(_loc(prefix + loc), _message(err)) from None


def parse(doc: Any) -> SituationIn:
    return validate(SituationIn, doc)


def to_domain(s: SituationIn) -> Situation:
    known = s.persons.keys()

    def person_ref(field: str, psn_no: str) -> str:
        if psn_no not in known:
            raise InputError(field, f"unknown person {psn_no!r}")
        return psn_no

    persons = {}
    for no, p in s.persons.items():
        if p.insutype == "390" and p.balance:
            raise InputError(f"persons.{no}.balance", "a resident (390) has no personal account")
        for i, sn in enumerate(p.sanctions):
            if sn.to < sn.from_:
                raise InputError(f"persons.{no}.sanctions[{i}].to", "ends before it starts")
        persons[no] = Person(no, p.insutype, p.insu_admdvs, p.balance, p.status, p.mulaid_frozen,
                             tuple(Period(sn.from_, sn.to) for sn in p.sanctions))
    bindings = []
    for i, b in enumerate(s.bindings):
        person_ref(f"bindings[{i}].holder", b.holder)
        person_ref(f"bindings[{i}].beneficiary", b.beneficiary)
        if b.holder == b.beneficiary:
            raise InputError(f"bindings[{i}].beneficiary", "a holder cannot be bound to themself")
        if b.unbind_requested_on is not None and b.unbind_requested_on < b.approved_on:
            raise InputError(f"bindings[{i}].unbind_requested_on", "before approved_on")
        bindings.append(Binding(b.holder, b.beneficiary, b.relation, b.approved_on, b.unbind_requested_on))
    for kind, usage in (("mulaid_received", s.usage.mulaid_received), ("mulaid_paid", s.usage.mulaid_paid)):
        for no in usage:
            person_ref(f"usage.{kind}.{no}", no)
    filings = []
    for i, f in enumerate(s.filings):
        person_ref(f"filings[{i}].psn_no", f.psn_no)
        if f.to < f.from_:
            raise InputError(f"filings[{i}].to", "ends before it starts")
        filings.append(Filing(f.psn_no, f.admdvs, Period(f.from_, f.to)))
    v = s.visit
    person_ref("visit.psn_no", v.psn_no)
    inst = Institution(v.fixmedins.code, v.fixmedins.level, v.fixmedins.admdvs, v.fixmedins.kind)
    items = tuple(Item(it.code, it.name, it.list_class, it.category, it.amount, it.selfpay_prop, it.overlmt_amt)
                  for it in v.items)
    visit = Visit(v.psn_no, inst, v.med_type, items, v.dise_codg, v.external_rx, v.acct_used_flag)
    return Situation(s.region, s.date, persons, visit, tuple(bindings), tuple(filings),
                     dict(s.usage.mulaid_received), dict(s.usage.mulaid_paid))


def output(r: Any, detail: list[tuple[str, int]] | None = None) -> dict[str, Any]:
    """The calc output of a settlement: a domain ``Settlement``, or a stored row with ``detail``
    (its mutual-aid lines, which are rows there)."""
    out: dict[str, Any] = dict(zip(AMOUNT_FIELDS, map(format_yuan, _amounts(r)), strict=True))
    lines = r.mulaid_detail if detail is None else detail
    out["mulaid_detail"] = [{"holder": h, "amount": format_yuan(a)} for h, a in lines]
    out["codes"] = list(r.codes)
    out["explain"] = list(r.explain)
    return out


AMOUNT_FIELDS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
                 "act_pay_dedc", "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")
# a golden case's ``amounts`` line: the nine of the first calc format (overlmt_selfpay is 0.00
# unless a case sets it apart)
_amounts = attrgetter(*AMOUNT_FIELDS)
GOLDEN_AMOUNTS = tuple(f for f in AMOUNT_FIELDS if f != "overlmt_selfpay")


def settle_situation(situation: Situation, registry: Registry | None = None) -> Settlement:
    registry = registry or default_registry()
    try:
        terms = registry.find(situation.region).at(situation.date)
    except PolicyError as e:
        raise InputError("region" if "unknown region" in str(e) else "date", str(e)) from None
    return calculate(situation, terms)


def calc(doc: Any, registry: Registry | None = None) -> dict[str, Any]:
    """A situation document (already decoded) → the calc output document."""
    return output(settle_situation(to_domain(parse(doc)), registry))


def load_document(text: str) -> Any:
    """JSON, or YAML when it is not JSON. JSON floats stay floats (and are refused as money);
    YAML keeps ``12.50`` as exact text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as json_error:
        if text.lstrip().startswith(("{", "[")):
            raise InputError("", f"not valid JSON: {json_error}") from None
    try:
        return exact_yaml.load(text)
    except Exception as e:  # yaml.YAMLError
        raise InputError("", f"neither JSON nor YAML: {str(e).splitlines()[0]}") from None


__all__ = ["calc", "parse", "to_domain", "output", "load_document", "InputError", "DomainError"]
