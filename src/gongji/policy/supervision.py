"""Load and validate ``policies/supervision.yaml``: the fund-supervision rules as data.

A rule is an instance of a kind (its SQL is ``service.supervise.rules``): an id, a Chinese name and
description, a severity, the regions it applies to, and thresholds keyed by effective date like a
region file's values. No region publishes such thresholds, so each must say ``assumption: true``
with its reason. A file with an unknown kind, a missing or unknown threshold, or a value of the
wrong type fails at load with the key path.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from gongji.domain.money import parse_yuan
from gongji.policy.loader import POLICY_DIR, PolicyError, parse_model

SUPERVISION_FILE = POLICY_DIR / "supervision.yaml"

Count = Annotated[int, Field(ge=1, le=1000)]
Days = Annotated[int, Field(ge=1, le=366)]
Percent = Annotated[int, Field(ge=1, le=100)]
Yuan = Annotated[int, BeforeValidator(parse_yuan), Field(gt=0)]

# per kind: each threshold's type; a money threshold is fen once loaded
KINDS: dict[str, dict[str, Any]] = {
    "split_bills": {"min_visits": Annotated[int, Field(ge=2, le=100)], "amount_without_cap": Yuan},
    "pharmacy_hopping": {"min_pharmacies": Annotated[int, Field(ge=2, le=100)], "days": Days},
    "high_frequency": {"min_settlements": Annotated[int, Field(ge=2, le=1000)], "days": Days},
    "quota_sweep": {"share_of_cap": Percent, "days": Days, "amount_without_cap": Yuan},
    "family_sweep": {"min_members": Annotated[int, Field(ge=2, le=20)], "share_of_balance": Percent},
    "identical_baskets": {"days": Days, "min_items": Count, "min_amount": Yuan},
    "institution_outlier": {"k": Annotated[int, Field(ge=1, le=20)], "min_peers": Annotated[int, Field(ge=3, le=1000)],
                            "min_settlements": Count},
    "reversal_rate": {"share": Percent, "min_settlements": Count},
}
SEVERITIES = ("high", "medium", "low")
SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}


class Threshold(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: dict[date, Any] = Field(min_length=1)
    assumption: Literal[True]  # no region publishes these: each is our assumption, with its reason
    reason: str = Field(min_length=4)


class RuleEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str
    name: str = Field(min_length=2)
    description: str = Field(min_length=8)
    severity: Literal["high", "medium", "low"]
    regions: Literal["all"] | list[Annotated[str, Field(pattern=r"^[0-9]{6}$")]]
    thresholds: dict[str, Threshold]

    @model_validator(mode="after")
    def _known(self) -> RuleEntry:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r} (known: {', '.join(KINDS)})")
        want, have = set(KINDS[self.kind]), set(self.thresholds)
        if want - have:
            raise ValueError(f"thresholds missing: {', '.join(sorted(want - have))}")
        if have - want:
            raise ValueError(f"unknown thresholds: {', '.join(sorted(have - want))}")
        return self


class RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,38}$")], RuleEntry] = Field(min_length=1)


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    name: str
    description: str
    severity: str
    regions: tuple[str, ...] | None  # None: every region
    thresholds: dict[str, tuple[tuple[date, ...], tuple[Any, ...]]]

    def applies_to(self, region: str) -> bool:
        return self.regions is None or region in self.regions

    def at(self, day: date) -> dict[str, Any]:
        """The thresholds in force on ``day`` (the latest effective date on or before it)."""
        out = {}
        for name, (dates, values) in self.thresholds.items():
            i = bisect.bisect_right(dates, day) - 1
            if i < 0:
                raise PolicyError(f"supervision.yaml: rules.{self.id}.thresholds.{name}: no value on {day}")
            out[name] = values[i]
        return out

    def change_dates(self) -> list[date]:
        """Every date on which one of its thresholds changes, in order."""
        return sorted({d for dates, _ in self.thresholds.values() for d in dates})


def parse_rules(text: str, origin: str = "supervision.yaml", known_regions: set[str] | None = None) -> list[Rule]:
    parsed = parse_model(text, origin, RulesFile)
    rules = []
    for rid, entry in parsed.rules.items():
        if known_regions is not None and entry.regions != "all":
            unknown = set(entry.regions) - known_regions
            if unknown:
                raise PolicyError(f"{origin}: rules.{rid}.regions: unknown region {', '.join(sorted(unknown))}")
        thresholds = {}
        for name, t in entry.thresholds.items():
            adapter = TypeAdapter(KINDS[entry.kind][name])
            dates = tuple(sorted(t.values))
            typed = []
            for d in dates:
                try:
                    typed.append(adapter.validate_python(t.values[d]))
                except (ValidationError, ValueError) as e:
                    msg = e.errors()[0]["msg"] if isinstance(e, ValidationError) else str(e)
                    raise PolicyError(f"{origin}: rules.{rid}.thresholds.{name}.values.{d}: {msg}") from None
            thresholds[name] = (dates, tuple(typed))
        regions = None if entry.regions == "all" else tuple(entry.regions)
        rules.append(Rule(rid, entry.kind, entry.name, entry.description, entry.severity, regions, thresholds))
    return rules


def load_rules(path: Path = SUPERVISION_FILE, known_regions: set[str] | None = None) -> list[Rule]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise PolicyError(f"{path.name}: cannot read: {e.strerror}") from None
    return parse_rules(text, path.name, known_regions)
