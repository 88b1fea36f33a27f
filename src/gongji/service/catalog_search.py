"""Finding a catalogue line at the cashier's desk by its code, its name or the pinyin initials of
its name (``xcg`` → 血常规, ``amxl`` → 阿莫西林胶囊), among the lines in force for a region on a day.

Speed: cached per region and day, not stored at import (no new column). The lines in force for a
region and day are read once (one query) and kept in memory with their initials (``Index``, one
per service), so a keystroke is a scan of a list in memory. The initials of a name are computed
once per process (``initials`` is memoised by name), so the next day's list costs one query, not
pypinyin again. A kept list is dropped when the catalogue's size or last line changes (an import
by another process adds lines), when the service imports a catalogue (``Index.forget``), or after
``TTL`` seconds (a line rewritten in place by another process).
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from pypinyin import Style, lazy_pinyin
from sqlalchemy import func, select

from gongji.domain import catalog as dc
from gongji.service.catalog import entry
from gongji.service.uow import UnitOfWork
from gongji.store import models as m

LIMIT = 10  # suggestions shown under the field
TTL = 600.0
_NOT_WORD = re.compile(r"[^0-9a-z]")
_HAN = re.compile(r"[\u3400-\u9fff]+")


@dataclass(frozen=True, slots=True)
class Hit:
    code: str
    name: str
    list_class: str  # A / B / C
    category: str
    selfpay_prop: str  # "0.10"; "" for none
    cap: str | None  # the price cap in yuan ("180.00"), None when there is no real cap
    restricted: bool
    initials: str


@lru_cache(maxsize=200_000)
def initials(name: str) -> str:
    """The pinyin initials of the Chinese characters of ``name``, lower case, plus its letters and
    digits as they are: 阿莫西林胶囊 → amxljn."""
    out = []
    for part in re.split(r"([\u3400-\u9fff]+)", name):
        if _HAN.fullmatch(part):
            out.append("".join(lazy_pinyin(part, style=Style.FIRST_LETTER)))
        else:
            out.append(_NOT_WORD.sub("", unicodedata.normalize("NFKC", part).lower()))
    return "".join(out)


def _cap(e: dc.Entry) -> str | None:
    if e.pric_uplmt_amt is None or e.pric_uplmt_amt >= 999999:  # real files write 999999 for none
        return None
    return f"{e.pric_uplmt_amt:.2f}"


def _hit(e: dc.Entry) -> Hit:
    prop = format(e.selfpay_prop, "f") if e.chrgitm_lv == "02" and e.selfpay_prop else ""
    return Hit(e.code, e.name, dc.LIST_CLASS[e.chrgitm_lv], e.category, prop, _cap(e), e.lmt_used_flag == "1",
               initials(e.name))


class Index:
    """The lines in force per region and day, with their initials; one per ``Service`` (so per
    database), dropped by ``forget`` when that service imports a catalogue."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, date], tuple[tuple[int, ...], float, list[Hit]]] = {}

    def forget(self) -> None:
        self._kept.clear()

    def lines(self, uow: UnitOfWork, region: str, day: date) -> list[Hit]:
        """Every line in force for ``region`` on ``day``, one per code, sorted by code."""
        C = m.CatalogEntry
        version = tuple(uow.session.execute(select(func.count(C.id), func.coalesce(func.max(C.id), 0))).one())
        kept = self._kept.get((region, day))
        if kept is not None and kept[0] == version and time.monotonic() - kept[1] < TTL:
            return kept[2]
        lines: dict[str, list[dc.Entry]] = {}
        prefixes = {region[:n] for n in (0, 2, 4, 6)}
        for row in uow.session.scalars(select(C).where(C.begndate <= day, C.admdvs.in_(prefixes))):
            lines.setdefault(row.med_list_codg, []).append(entry(row))
        hits = []
        for code in sorted(lines):
            hit = dc.in_force(lines[code], region, day)
            if hit is not None:
                hits.append(_hit(hit))
        if len(self._kept) > 64:  # a few regions and days at most; never grows without bound
            self._kept.clear()
        self._kept[(region, day)] = (version, time.monotonic(), hits)
        return hits


def search(uow: UnitOfWork, index: Index, region: str, day: date, text: str, limit: int = LIMIT) -> list[Hit]:
    """Up to ``limit`` lines matching ``text``: the code first (exact, then beginning with it), then
    initials or name beginning with it, then containing it anywhere. Empty text finds nothing."""
    q = unicodedata.normalize("NFKC", text).strip().lower()
    if not q:
        return []
    ranked: list[tuple[int, str, Hit]] = []
    for h in index.lines(uow, region, day):
        code = h.code.lower()
        if code == q:
            rank = 0
        elif code.startswith(q):
            rank = 1
        elif h.initials.startswith(q) or h.name.startswith(text.strip()):
            rank = 2
        elif q in h.initials or q in h.name.lower() or q in code:
            rank = 3
        else:
            continue
        ranked.append((rank, h.code, h))
    ranked.sort(key=lambda r: (r[0], r[1]))
    return [h for _, _, h in ranked[:limit]]
