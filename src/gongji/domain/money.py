"""Money and ratios: the only place where money arithmetic is written by hand.

Inside gongji an amount is an ``int`` of fen (分). Yuan strings with two decimals exist only at
the edges (files, JSON, pages). A ratio is an exact fraction parsed from a decimal string, and
applying one rounds half up to the fen. A float never holds money: parsing refuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

Fen = int

MAX_YUAN_DIGITS = 12  # a hundred billion yuan: far beyond any account, keeps garbage out
_YUAN = re.compile(rf"([0-9]{{1,{MAX_YUAN_DIGITS}}})(?:\.([0-9]{{1,2}}))?")
_DECIMAL = re.compile(r"([0-9]{1,6})(?:\.([0-9]{1,6}))?")


class MoneyError(ValueError):
    """A value that is not a valid amount or ratio. The message says why, in plain words."""


def parse_yuan(value: object) -> Fen:
    """Parse ``"120.50"``, ``"120"`` or the integer ``120`` into fen.

    Refused: floats (they cannot hold 0.10 exactly), booleans, a third decimal, a sign,
    spaces, exponents and anything else that is not a plain non-negative decimal.
    """
    if isinstance(value, bool):
        raise MoneyError(f"expected an amount in yuan, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise MoneyError(f"amount must not be negative: {value}")
        if value >= 10**MAX_YUAN_DIGITS:
            raise MoneyError(f"amount too large: {value}")
        return value * 100
    if isinstance(value, float):
        raise MoneyError(f"amount must be a string of yuan like \"{value:.2f}\", not the float {value!r}")
    if not isinstance(value, str):
        raise MoneyError(f"expected an amount in yuan, got {type(value).__name__}")
    if value.startswith("-"):
        raise MoneyError(f"amount must not be negative: {value!r}")
    m = _YUAN.fullmatch(value)
    if not m:
        if re.fullmatch(r"[0-9]+\.[0-9]{3,}", value):
            raise MoneyError(f"amount has more than 2 decimals: {value!r}")
        raise MoneyError(f"not an amount in yuan: {value!r}")
    whole, frac = m.group(1), (m.group(2) or "")
    return int(whole) * 100 + int(frac.ljust(2, "0"))


def format_yuan(fen: Fen) -> str:
    """``12050`` → ``"120.50"``. Negative amounts keep their sign (used for ledger entries)."""
    if type(fen) is int:  # not a bool (True == 1 would find "0.01"), nor another subclass
        text = _FORMATTED.get(fen)
        if text is not None:
            return text
    elif isinstance(fen, bool) or not isinstance(fen, int):
        raise MoneyError(f"fen must be an int, got {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    text = f"{sign}{whole}.{cents:02d}"
    if type(fen) is int and len(_FORMATTED) < _FORMATTED_MAX:
        _FORMATTED[fen] = text
    return text


# A settlement writes some thirty amounts, mostly the same few (0.00, the caps, common bills):
# each is formatted once per process. Bounded: past the bound new amounts are formatted each time.
_FORMATTED: dict[int, str] = {}
_FORMATTED_MAX = 1 << 14


def fen_half_up(yuan: Decimal) -> Fen:
    """An exact yuan amount (a product of a quantity and a price, say) to fen, half up: the one
    rounding of a decimal to the fen, as ``Ratio.of`` is the one rounding of a share."""
    return int((yuan * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def yuan_decimal(fen: Fen) -> Decimal:
    """``450`` → ``Decimal("4.50")``: two decimals always, for wire formats that want numbers."""
    return Decimal(fen).scaleb(-2).quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class Ratio:
    """An exact ratio ``num / den`` between 0 and 1, e.g. a pooling ratio or a self-pay share."""

    num: int
    den: int

    def __post_init__(self) -> None:
        if self.den <= 0 or self.num < 0 or self.num > self.den:
            raise MoneyError(f"ratio must be between 0 and 1: {self.num}/{self.den}")

    @classmethod
    def parse(cls, value: object) -> Ratio:
        """Parse ``"0.10"``, ``"50%"``, ``0`` or ``1``. Floats are refused like money."""
        if isinstance(value, Ratio):
            return value
        if isinstance(value, bool):
            raise MoneyError(f"expected a ratio, got {value!r}")
        if isinstance(value, int):
            return cls(value, 1)
        if isinstance(value, float):
            raise MoneyError(f"ratio must be a string like \"{value}\", not the float {value!r}")
        if not isinstance(value, str):
            raise MoneyError(f"expected a ratio, got {type(value).__name__}")
        text, scale = (value[:-1], 100) if value.endswith("%") else (value, 1)
        m = _DECIMAL.fullmatch(text)
        if not m:
            raise MoneyError(f"not a ratio: {value!r}")
        frac = m.group(2) or ""
        den = 10 ** len(frac) * scale
        return cls(int(m.group(1) + frac), den)

    def of(self, fen: Fen) -> Fen:
        """``fen × ratio``, rounded half up to the fen, in exact integer arithmetic."""
        if fen < 0:
            raise MoneyError("a ratio applies to non-negative amounts only")
        return (2 * fen * self.num + self.den) // (2 * self.den)

    def percent(self) -> str:
        """``"50%"``, ``"12.5%"``: for explanations and tables."""
        hundredths = self.num * 10000 // self.den
        whole, rest = divmod(hundredths, 100)
        return f"{whole}%" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0") + "%"

    def __str__(self) -> str:
        return self.percent()


ZERO_RATIO = Ratio(0, 1)
