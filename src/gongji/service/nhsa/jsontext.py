"""JSON text for the national interface: numbers read exactly (``Decimal``, never a float), and
amounts written as numbers with exactly two decimals (a ``Decimal`` is written as its literal)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def dumps(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value}")
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("a float on the national interface: use Decimal")
    return json.dumps(value, ensure_ascii=False)
