"""The insurance catalogue (医保目录): import from a CSV file, look up the lines in force, and
classify the items of a visit by their codes.

The file's header is ``med_list_codg,name,med_chrgitm_type,chrgitm_lv,selfpay_prop,pric_uplmt_amt,
lmt_used_flag,category,admdvs,begndate,enddate`` (``category`` may be left out). The whole file is
checked first and every problem is listed by line; nothing is applied if there is any. Rows are
then upserted by (code, region, start date) in batches: every row is kept, and a later start for
the same code and region supersedes the earlier one when a line is looked up (``in_force``).

A visit sent over REST or from the cashier page (``classify_visit``) is classified as the
national interface's 2204 classifies a fee line: by the catalogue in force for the patient's
insuring region on the settlement day. See docs/catalog.md.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from gongji.domain import catalog as dc
from gongji.domain.money import fen_half_up
from gongji.domain.terms import CATEGORIES
from gongji.service.commands import VisitRef
from gongji.service.common import Ctx
from gongji.service.settlements import request_hash
from gongji.service.uow import UnitOfWork
from gongji.store import models as m

HEADER = ["med_list_codg", "name", "med_chrgitm_type", "chrgitm_lv", "selfpay_prop", "pric_uplmt_amt",
          "lmt_used_flag", "category", "admdvs", "begndate", "enddate"]
HEADER_NO_CATEGORY = [h for h in HEADER if h != "category"]
MILLIONTHS = Decimal(10) ** 6
FORMULA_START = ("=", "+", "-", "@")
_DECIMAL = re.compile(r"^[0-9]+(?:\.([0-9]+))?$")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?: [0-9]{2}:[0-9]{2}:[0-9]{2})?$")
_ADMDVS = re.compile(r"^(?:[0-9]{2}|[0-9]{4}|[0-9]{6})?$")
MAX_PRICE = Decimal(10) ** 9  # yuan per unit; far above any real cap (999999 means none)


@dataclass(frozen=True)
class Row:
    """A checked line of the file, as it is stored (``pric_uplmt_amt`` in millionths of a yuan)."""

    line: int
    med_list_codg: str
    name: str
    med_chrgitm_type: str
    chrgitm_lv: str
    selfpay_prop: str
    pric_uplmt_amt: int | None
    lmt_used_flag: str
    category: str
    admdvs: str
    begndate: date
    enddate: date | None

    @property
    def key(self) -> tuple[str, str, date]:
        return self.med_list_codg, self.admdvs, self.begndate

    def values(self) -> dict:
        return {f: getattr(self, f) for f in STORED}


STORED = ("med_list_codg", "admdvs", "begndate", "enddate", "name", "med_chrgitm_type", "chrgitm_lv",
          "selfpay_prop", "pric_uplmt_amt", "lmt_used_flag", "category")


class CatalogFileError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gbk")
    except UnicodeDecodeError:
        return None


def _day(text: str) -> date | None:
    if not _DAY.match(text):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").date() if " " in text else date.fromisoformat(text)
    except ValueError:
        return None


def _decimal(text: str, places: int) -> Decimal | None:
    """A plain non-negative decimal with at most ``places`` decimals (no sign, exponent, spaces)."""
    match = _DECIMAL.match(text)
    if not match or len(match.group(1) or "") > places:
        return None
    return Decimal(text)


def _two(text: str) -> str:
    return text.zfill(2) if text.isdigit() and len(text) == 1 else text


def parse(data: bytes) -> tuple[list[Row], list[str]]:
    """The rows, and every problem of the file by line number (Chinese first). Rows come back
    only when there is no problem at all."""
    text = _decode(data)
    if text is None:
        return [], ["第 1 行:文件编码无法识别,应为 UTF-8 或 GBK / not UTF-8 or GBK"]
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    if header not in (HEADER, HEADER_NO_CATEGORY):
        return [], [f"第 1 行:表头应为 {','.join(HEADER)}(category 列可省略)/ header must be {','.join(HEADER)}"]
    rows: list[Row] = []
    problems: list[str] = []
    seen: dict[tuple[str, str, date], int] = {}
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            problems.append(f"第 {line} 行:应有 {len(header)} 列,实有 {len(fields)} 列 / expected {len(header)} fields")
            continue
        raw = dict(zip(header, (f.strip() for f in fields), strict=True))
        row, bad = _row(line, raw)
        problems += [f"第 {line} 行 {field}:{why}" for field, why in bad]
        if row is None:
            continue
        if row.key in seen:
            problems.append(f"第 {line} 行:{row.med_list_codg} {row.admdvs or '(全国)'} {row.begndate} "
                            f"与第 {seen[row.key]} 行重复 / duplicate code, admdvs and begndate")
            continue
        seen[row.key] = line
        rows.append(row)
    if not rows and not problems:
        problems.append("第 2 行:文件没有目录行 / no catalogue lines")
    return (rows if not problems else []), problems


def _row(line: int, raw: dict[str, str]) -> tuple[Row | None, list[tuple[str, str]]]:
    bad: list[tuple[str, str]] = []
    code = raw["med_list_codg"]
    if not 1 <= len(code) <= 50 or any(ch.isspace() for ch in code):
        bad.append(("med_list_codg", "应为 1–50 个字符,不含空白"))
    name = raw["name"]
    if not 1 <= len(name) <= 200:
        bad.append(("name", "应为 1–200 个字符"))
    elif name.startswith(FORMULA_START):
        bad.append(("name", "不能以 = + - @ 开头(电子表格会当作公式)"))
    kind = _two(raw["med_chrgitm_type"])
    if kind not in dc.CHRGITM_TYPES:
        bad.append(("med_chrgitm_type", "应为 01–14"))
    level = _two(raw["chrgitm_lv"])
    if level not in dc.LIST_CLASS:
        bad.append(("chrgitm_lv", "应为 01/02/03"))
    prop = _decimal(raw["selfpay_prop"], 4)
    if prop is None or prop > 1:
        bad.append(("selfpay_prop", "应为 0 到 1 之间的小数,最多 4 位小数"))
    cap: int | None = None
    if raw["pric_uplmt_amt"]:
        price = _decimal(raw["pric_uplmt_amt"], 6)
        if price is None or price >= MAX_PRICE:
            bad.append(("pric_uplmt_amt", "应为空(不限价)或不小于 0 的金额,最多 6 位小数"))
        else:
            cap = int(price * MILLIONTHS)
    flag = raw["lmt_used_flag"] or "0"
    if flag not in ("0", "1"):
        bad.append(("lmt_used_flag", "应为 0 或 1"))
    category = raw.get("category") or dc.default_category(kind)
    if category not in CATEGORIES:
        bad.append(("category", f"应为 {'/'.join(CATEGORIES)} 之一"))
    admdvs = raw["admdvs"]
    if not _ADMDVS.match(admdvs):
        bad.append(("admdvs", "应为空(全国)或 2/4/6 位行政区划代码"))
    begin = _day(raw["begndate"])
    if begin is None:
        bad.append(("begndate", "应为日期 yyyy-MM-dd(或 yyyy-MM-dd HH:mm:ss)"))
    end: date | None = None
    if raw["enddate"]:
        end = _day(raw["enddate"])
        if end is None:
            bad.append(("enddate", "应为空或日期 yyyy-MM-dd(或 yyyy-MM-dd HH:mm:ss)"))
        elif begin is not None and end < begin:
            bad.append(("enddate", f"不能早于 begndate {begin}"))
    if bad or begin is None or prop is None:
        return None, bad
    return Row(line, code, name, kind, level, format(prop, "f"), cap, flag, category, admdvs, begin, end), []


def batches(rows: Sequence[Row], size: int) -> Iterator[list[Row]]:
    for i in range(0, len(rows), size):
        yield list(rows[i:i + size])


def apply_catalog(uow: UnitOfWork, ctx: Ctx, sha: str, rows: list[Row]) -> dict:
    """Upsert the rows by (code, admdvs, begndate): how many were added, replaced (changed), and
    already stored as they are."""
    s = uow.session
    C = m.CatalogEntry
    stored = {(e.med_list_codg, e.admdvs, e.begndate): e for e in s.scalars(
        select(C).where(C.med_list_codg.in_({r.med_list_codg for r in rows})))}
    counts = {"added": 0, "replaced": 0, "unchanged": 0}
    for r in rows:
        e = stored.get(r.key)
        if e is None:
            s.add(C(**r.values()))
            counts["added"] += 1
        elif any(getattr(e, f) != v for f, v in r.values().items()):
            for f, v in r.values().items():
                setattr(e, f, v)
            counts["replaced"] += 1
        else:
            counts["unchanged"] += 1
    s.flush()
    return counts


# --- look-up ------------------------------------------------------------------------------

def entry(e: m.CatalogEntry) -> dc.Entry:
    cap = None if e.pric_uplmt_amt is None else Decimal(e.pric_uplmt_amt) / MILLIONTHS
    return dc.Entry(e.med_list_codg, e.name, e.med_chrgitm_type, e.chrgitm_lv, Decimal(e.selfpay_prop), cap,
                    e.lmt_used_flag, e.category, e.admdvs, e.begndate, e.enddate)


def candidates(session, codes: Iterable[str]) -> dict[str, list[dc.Entry]]:
    """Every stored line of these codes (all regions, all periods), in one query."""
    wanted = sorted(set(codes))
    out: dict[str, list[dc.Entry]] = {}
    if not wanted:
        return out
    for e in session.scalars(select(m.CatalogEntry).where(m.CatalogEntry.med_list_codg.in_(wanted))):
        out.setdefault(e.med_list_codg, []).append(entry(e))
    return out


def lookup(session, codes: Iterable[str], region: str, day: date) -> dict[str, dc.Entry]:
    """The line in force for each code that has one, for ``region`` (a 6-digit admdvs) on ``day``:
    the longest matching region prefix, then the latest start (``domain.catalog.in_force``).
    Codes without a line in force are absent. One query."""
    found = {}
    for code, lines in candidates(session, codes).items():
        hit = dc.in_force(lines, region, day)
        if hit is not None:
            found[code] = hit
    return found


# --- classifying a visit ------------------------------------------------------------------

def classify_items(visit: VisitRef, entries: dict[str, dc.Entry]) -> VisitRef:
    """Items with a catalogue line get its class, category, first self-pay share and the part above
    its price cap, marked ``catalog``; the others keep the caller's values, marked ``caller``
    (whatever the caller sent). The quantity and unit price of a REST item are not known: the line
    is one unit at its amount. A restricted item (限制使用) has no hospital approval here, so it is
    wholly self-paid (class C), as ``domain.catalog.split`` rules."""
    items = []
    for it in visit.items:
        hit = entries.get(it.code)
        if hit is None:
            items.append(it if it.classified_by == "caller" else it.model_copy(update={"classified_by": "caller"}))
            continue
        price = Decimal(it.amount) / 100
        part = dc.split(hit, Decimal(1), price, fen_half_up(price))
        items.append(it.model_copy(update={
            "list_class": part.list_class, "category": hit.category, "selfpay_prop": dc.ratio(hit),
            "overlmt_amt": part.overlmt, "classified_by": "catalog"}))
    return visit.model_copy(update={"items": items})


def classify_visit(uow: UnitOfWork, ctx: Ctx, visit: VisitRef) -> VisitRef:
    """The visit with its items classified by the catalogue of the patient's insuring region on
    ``ctx.day`` (``classify_items``), as 2204 classifies. An unknown patient leaves the items as
    sent (marked ``caller``); settling refuses it anyway. Two small queries per visit, none per item."""
    patient = uow.session.get(m.Person, visit.psn_no)
    found = lookup(uow.session, (it.code for it in visit.items), patient.insu_admdvs, ctx.day) \
        if patient is not None else {}
    return classify_items(visit, found)


Progress = Callable[[int, int], None]


def classified_as_first(uow: UnitOfWork, ctx: Ctx, key: str, visit: VisitRef) -> VisitRef | None:
    """A retry refused as a different request: the visit classified on the day of the settlement
    already made under ``key``, when that is the request it made (same hash), else None. A catalogue
    line rewritten in place since (same code, region and start) cannot be told apart: the retry
    stays refused."""
    row = uow.session.scalar(select(m.Settlement).where(m.Settlement.fixmedins == visit.fixmedins,
                                                        m.Settlement.idem_key == key))
    if row is None or row.setl_date == ctx.day:
        return None
    then = classify_visit(uow, replace(ctx, day=row.setl_date), visit)
    return then if request_hash(then) == row.request_hash else None
