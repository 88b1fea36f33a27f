"""Administrative divisions (GB/T 2260) by their Chinese names: ``652801`` reads 库尔勒市, in
巴音郭楞蒙古自治州, in 新疆维吾尔自治区.

admdvs.csv is the whole national table the project could carry offline: every code of
python-stdnum's ``cn/loc.dat`` (itself compiled from the GB/T 2260 code lists), one row a code,
its current name, or for a code since abolished its last name (``current`` is 0). The level
follows from the code: ``XX0000`` a province, ``XXYY00`` a prefecture, any other a county.
A code not in the table reads as itself and 未知地区, never an error.

The codes and names are the state's public standard; python-stdnum (LGPL-2.1+) was only the
offline copy they were read from. Before a release, compare the table with the Ministry of Civil
Affairs' current list (民政部 县级以上行政区划代码) and add what has changed since."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

UNKNOWN = "未知地区"
_PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政单位", "省直辖行政单位", "自治区直辖县级行政单位"}


@cache
def table() -> dict[str, str]:
    with Path(__file__).with_name("admdvs.csv").open(encoding="utf-8", newline="") as f:
        return {row["code"]: row["name"] for row in csv.DictReader(f)}


def level(code: str) -> str:
    """``province``, ``prefecture`` or ``county``."""
    return "province" if code.endswith("0000") else "prefecture" if code.endswith("00") else "county"


def known(code: str) -> bool:
    return len(code) == 6 and code in table()


def region_name(code: str | None) -> str:
    """The name of a 2-, 4- or 6-digit code (a prefix reads as its province or prefecture):
    ``region_name("652801") == "库尔勒市"``; unknown: ``"999999 未知地区"``."""
    full = _full(code)
    name = table().get(full or "")
    return name if name else f"{code or ''} {UNKNOWN}".strip()


def region_path(code: str | None) -> str:
    """Province, prefecture and county, as far as the code goes, with no 市辖区-like placeholder:
    ``"新疆维吾尔自治区 巴音郭楞蒙古自治州 库尔勒市"``."""
    full = _full(code)
    if full is None or full not in table():
        return region_name(code)
    parts = []
    for part in dict.fromkeys((full[:2] + "0000", full[:4] + "00", full)):
        name = table().get(part)
        if name and name not in _PLACEHOLDERS and name not in parts:
            parts.append(name)
    return " ".join(parts)


def _full(code: str | None) -> str | None:
    code = (code or "").strip()
    if not code.isdigit() or len(code) not in (2, 4, 6):
        return None
    return code.ljust(6, "0")
