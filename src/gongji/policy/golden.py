"""Golden situations: YAML files of cases beside the region files, each with what it must give.

A case deep-merges its ``patch`` into the file's ``base`` (maps merge, lists replace) and expects
either ``amounts`` (the nine amount fields, in order) with ``codes`` and optionally
``mulaid_detail``, or ``error`` (a refusal code), or ``input_error`` (the field named).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gongji.calc_format import GOLDEN_AMOUNTS, InputError, calc
from gongji.domain.errors import DomainError
from gongji.policy import exact_yaml
from gongji.policy.loader import POLICY_DIR, Registry

GOLDEN_DIR = POLICY_DIR / "golden"


@dataclass(frozen=True)
class Case:
    file: str
    index: int
    name: str
    rule: str
    situation: dict[str, Any]
    expect: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{Path(self.file).stem}#{self.index + 1}"


def merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(patch)


def load_cases(directory: Path = GOLDEN_DIR) -> list[Case]:
    cases = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            doc = exact_yaml.load(path.read_text(encoding="utf-8"))
        except Exception as e:  # yaml.YAMLError: name the file, keep the line and column
            raise ValueError(f"{path.name}: {e}") from None
        for i, c in enumerate(doc["cases"]):
            expect = {k: c[k] for k in ("amounts", "codes", "mulaid_detail", "error", "input_error") if k in c}
            if "amounts" in expect:
                values = expect.pop("amounts").split()
                if len(values) != len(GOLDEN_AMOUNTS):
                    raise ValueError(f"{path.name} case {i + 1}: amounts needs {len(GOLDEN_AMOUNTS)} values")
                expect.update(zip(GOLDEN_AMOUNTS, values, strict=False))
                if "codes" not in expect:
                    raise ValueError(f"{path.name} case {i + 1}: amounts without codes")
            cases.append(Case(path.name, i, c["name"], c.get("rule", ""),
                              merge(doc["base"], c.get("patch", {})), expect))
    return cases


def outcome(case: Case, registry: Registry | None = None) -> dict[str, Any]:
    """What the engine gives for a case, in the shape of its expectation."""
    try:
        got = calc(case.situation, registry)
    except DomainError as e:
        return {"error": e.code}
    except InputError as e:
        return {"input_error": e.field}
    return {k: got[k] for k in case.expect if k in got}


def mismatches(case: Case, registry: Registry | None = None) -> dict[str, tuple[Any, Any]]:
    """Fields where the engine disagrees with the case: {field: (expected, got)}."""
    got = outcome(case, registry)
    keys = set(case.expect) | set(got)
    return {k: (case.expect.get(k), got.get(k)) for k in sorted(keys) if case.expect.get(k) != got.get(k)}
