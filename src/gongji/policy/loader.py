"""Load and validate region files; give the values in force on a date as ``Terms``.

A file is validated whole at load: a malformed one fails with its name, the key path and why.
Values are keyed by effective date (OpenFisca style); the value in force on day D is the one with
the latest key on or before D.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gongji.domain.regions import region_name
from gongji.domain.terms import Terms
from gongji.policy import exact_yaml
from gongji.policy.params import SPEC_BY_NAME, SPECS
from gongji.policy.sources import normalize, seed_text

M = TypeVar("M", bound=BaseModel)
POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"


class PolicyError(ValueError):
    """A region file that is not valid, or a question it cannot answer (no value on a date).

    The message names the file and the parameter, for the operator editing the YAML; ``plain``
    says the same to a person on a page or calling the API, in Chinese with no parameter name."""

    def __init__(self, message: str, plain: str = "该地区的共济政策文件有误,请联系医保经办机构") -> None:
        super().__init__(message)
        self.plain = plain


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    seed: str
    quote: str = Field(min_length=2)


class Parameter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: dict[date, Any] = Field(min_length=1)
    summary: dict[date, str] = {}
    source: list[Source] = []
    assumption: bool = False
    unpublished: bool = False
    reason: str | None = None

    @model_validator(mode="after")
    def _grounded(self) -> Parameter:
        if not (self.source or self.assumption or self.unpublished):
            raise ValueError("needs a source (seed and quote), or assumption: true, or unpublished: true")
        if (self.assumption or self.unpublished) and not self.reason:
            raise ValueError("an assumption or unpublished value needs a reason")
        stray = set(self.summary) - set(self.values)
        if stray:
            raise ValueError(f"summary dates without a value: {sorted(map(str, stray))}")
        return self


class RegionFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: str = Field(pattern=r"^[0-9]{6}$")
    prefix: str = Field(pattern=r"^[0-9]{2,6}$")
    name: str
    short: str
    name_en: str
    province: str
    column: int = Field(ge=1, description="position in the comparison table")
    seeds: list[str]
    parameters: dict[str, Parameter]


@dataclass(frozen=True)
class ParamRecord:
    name: str
    dates: tuple[date, ...]
    values: tuple[Any, ...]  # typed: fen, Ratio, VisitRuleModel...
    raw: Parameter

    def at(self, day: date) -> Any:
        i = bisect.bisect_right(self.dates, day) - 1
        if i < 0:
            raise PolicyError(f"{self.name}: no value in force on {day} (first is {self.dates[0]})",
                              f"该地区 {day} 尚无有效的共济政策(自 {self.dates[0]} 起施行)")
        return self.values[i]

    def summary_at(self, day: date) -> str | None:
        keys = [d for d in sorted(self.raw.summary) if d <= day]
        return self.raw.summary[keys[-1]] if keys else None


def _path(loc: tuple) -> str:
    return ".".join(str(p) for p in loc)


def _first_error(e: ValidationError, prefix: tuple = ()) -> str:
    err = e.errors()[0]
    msg = err["msg"].removeprefix("Value error, ")
    return f"{_path(prefix + tuple(err['loc']))}: {msg}"


class RegionPolicy:
    def __init__(self, file: RegionFile, origin: str) -> None:
        self.file = file
        self.origin = origin
        self.region, self.prefix, self.name = file.region, file.prefix, file.short
        self.params: dict[str, ParamRecord] = {}
        missing = [s.name for s in SPECS if s.name not in file.parameters]
        if missing:
            raise PolicyError(f"{origin}: parameters: missing {', '.join(missing)}")
        for name, p in file.parameters.items():
            spec = SPEC_BY_NAME.get(name)
            if spec is None:
                raise PolicyError(f"{origin}: parameters.{name}: unknown parameter")
            for i, src in enumerate(p.source):
                _check_quote(src, f"{origin}: parameters.{name}.source.{i}")
            adapter = spec.adapter()
            dates = tuple(sorted(p.values))
            typed = []
            for d in dates:
                try:
                    typed.append(adapter.validate_python(p.values[d]))
                except ValidationError as e:
                    raise PolicyError(f"{origin}: {_first_error(e, ('parameters', name, 'values', d))}") from None
            if spec.used_by == "pending" and any(v is not None for v in typed):
                raise PolicyError(f"{origin}: parameters.{name}: has a value, but the engine does not"
                                  " model it yet (see docs/policy.md, 'pending parameters')")
            self.params[name] = ParamRecord(name, dates, tuple(typed), p)
        self._cache: dict[date, Terms] = {}

    @cached_property
    def change_dates(self) -> tuple[date, ...]:
        return tuple(sorted({d for r in self.params.values() for d in r.dates}))

    def value(self, name: str, day: date) -> Any:
        return self.params[name].at(day)

    def at(self, day: date) -> Terms:
        """The terms in force on ``day``; built once per span between value changes. The cache
        holds them by the span's first day and by every day asked for since (a settlement asks
        several times; the day itself is then found without a search)."""
        terms = self._cache.get(day)
        if terms is not None:
            return terms
        i = bisect.bisect_right(self.change_dates, day) - 1
        if i < 0:
            raise PolicyError(f"{self.name}: no policy in force on {day} (first is {self.change_dates[0]})",
                              f"{self.name} {day} 尚无有效的共济政策(自 {self.change_dates[0]} 起施行)")
        since = self.change_dates[i]
        terms = self._cache.get(since)
        if terms is None:
            terms = self._terms(since)
        if len(self._cache) >= 4096:  # a replay over years of days: start again
            self._cache.clear()
        self._cache[since] = self._cache[day] = terms
        return terms

    def _terms(self, day: date) -> Terms:
        v = lambda name: self.value(name, day)  # noqa: E731
        return Terms(
            region=self.region, name=self.name, since=day,
            relations=frozenset(v("relations")),
            holder_area=v("holder_area"), beneficiary_area=v("beneficiary_area"),
            member_limit=v("member_limit"),
            one_holder_per_beneficiary=v("one_holder_per_beneficiary"),
            unbind_stops_next_day=v("unbind_stops_next_day"),
            pooled_visits=tuple(r.to_domain() for r in v("pooled_visits")),
            deductible=dict(v("deductible")),
            pooling_ratio=v("pooling_ratio"),
            prepregnancy_ratio=v("prepregnancy_ratio"),
            mulaid_scope=tuple(r.to_domain() for r in v("mulaid_scope")),
            out_of_scope_categories=frozenset(v("out_of_scope_categories")),
            chronic_diseases=tuple(_icd_range(c) for c in v("chronic_diseases") + v("chronic_diseases_other")),
            settlement_cap=v("settlement_cap"),
            annual_cap_beneficiary=dict(v("annual_cap_beneficiary")),
            chronic_extra_quota=v("chronic_extra_quota"),
            annual_cap_holder=v("annual_cap_holder"),
            remote_filing_required=v("remote_filing_required"),
            cross_province_mulaid=v("cross_province_mulaid"),
            max_item_amount=v("max_item_amount"),
            max_bill_amount=v("max_bill_amount"),
        )


def _icd_range(text: str) -> tuple[str, str]:
    lo, _, hi = text.partition("-")
    return lo, hi or lo


def _check_quote(src: Source, where: str) -> None:
    try:
        text = seed_text(src.seed)
    except FileNotFoundError:
        raise PolicyError(f"{where}.seed: no seed document {src.seed!r}") from None
    if normalize(src.quote) not in text:
        raise PolicyError(f"{where}.quote: not found in {src.seed}: {src.quote!r}")


def parse_model(text: str, origin: str, model: type[M]) -> M:
    """A YAML policy document as ``model``, or a PolicyError naming the file, the key path and why."""
    try:
        data = exact_yaml.load(text)
    except Exception as e:  # yaml.YAMLError and its marks
        raise PolicyError(f"{origin}: not valid YAML: {e}") from None
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise PolicyError(f"{origin}: {_first_error(e)}") from None


def parse_region(text: str, origin: str) -> RegionPolicy:
    return RegionPolicy(parse_model(text, origin, RegionFile), origin)


def load_region(path: Path) -> RegionPolicy:
    return parse_region(path.read_text(encoding="utf-8"), path.name)


class Registry:
    """All regions of a directory, found by region code or by any code inside a region."""

    def __init__(self, regions: list[RegionPolicy]) -> None:
        self.regions = sorted(regions, key=lambda r: (r.file.column, r.region))
        self.by_region = {r.region: r for r in self.regions}

    def find(self, code: str) -> RegionPolicy:
        if code in self.by_region:
            return self.by_region[code]
        for r in self.regions:
            if code.startswith(r.prefix):
                return r
        known = ", ".join(f"{r.region} {r.name}" for r in self.regions)
        raise PolicyError(f"unknown region {code!r} (known: {known})", f"{region_name(code)}({code})没有家庭共济政策")


def load_dir(directory: Path = POLICY_DIR) -> Registry:
    # supervision.yaml beside them holds the fund-supervision rules (policy.supervision), not a region
    return Registry([load_region(p) for p in sorted(directory.glob("*.yaml")) if p.name != "supervision.yaml"])


_default: Registry | None = None


def default_registry() -> Registry:
    global _default
    if _default is None:
        _default = load_dir()
    return _default
