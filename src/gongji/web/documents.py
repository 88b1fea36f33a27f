"""Downloads: the 结算单 (settlement statement) as PDF, the records as Excel with openpyxl
(amounts numbers, dates dates, every other cell text and never a formula).

The statement is HTML and CSS (templates/statement.html) laid out by WeasyPrint. ReportLab was
used before, but the only CJK fonts here are Noto CJK, whose outlines are CFF (PostScript), and
ReportLab embeds TrueType outlines only: its built-in STSong-Light is not embedded, so the
printer's or viewer's substitute draws it, and some glyphs (the minus sign) came out as boxes.
WeasyPrint finds Noto Sans CJK through fontconfig and embeds the subset of every font it uses,
and CSS does what a printed form needs: Chinese wraps between characters, numbers, codes and
dates never wrap, tables size themselves. Its system libraries (pango) and the fonts
(fonts-noto-cjk) are installed by ``make run`` and ``make test``.

Two papers: A4, and 241 mm continuous paper for dot-matrix printers, whose page is as tall as
the content (laid out once on a long page to measure, then again at that height)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO, Literal

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from gongji.domain.labels import (
    AMOUNT_ZH,
    CATEGORY_ZH,
    CODE_ZH,
    INSUTYPE_ZH,
    LIST_CLASS_ZH,
    MED_TYPE_ZH,
    POSTING_ZH,
    RELATION_ZH,
    UNREGISTERED,
    institution_level,
    plain_explain,
    region_path,
    state,
    word,
)
from gongji.domain.money import Ratio, parse_yuan, yuan_decimal
from gongji.service.clock import CHINA

FORMULA_START = ("=", "+", "-", "@")  # what a spreadsheet would read as the start of a formula
Paper = Literal["a4", "241"]
PAPERS = {  # width, margin, font size; 241 mm paper's height is the content's
    "a4": ("210mm", "12mm 14mm", "10pt"),
    "241": ("241mm", "8mm 10mm", "10.5pt"),
}
_TOKEN = re.compile(r"([0-9A-Za-z][0-9A-Za-z.,:%/_\-]*)")  # a number, code or date: never cut
_templates = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=True)
_templates.filters["unbroken"] = lambda text: Markup("").join(
    Markup(f'<span class="n">{escape(part)}</span>') if i % 2 else escape(part)
    for i, part in enumerate(_TOKEN.split(text)))


def settlement_pdf(s: dict, institution: dict, people: Mapping[str, dict] | None = None, *,
                   paper: Paper = "a4", first: bool = False, printed_at: datetime | None = None) -> bytes:
    """The 结算单 of settlement ``s`` (as ``queries.settlement`` gives it) at ``institution``.
    ``people`` gives the patient's and the paying holders' ``name``, ``insutype`` and
    ``insu_admdvs`` by 个人编号;
    the amounts each holder paid are shown, never a balance. Marked 补打 unless ``first``."""
    from weasyprint import HTML

    people = people or {}
    patient = people.get(s["psn_no"], {})
    names = {p: v.get("name") or "" for p, v in people.items()}
    pharmacy = institution.get("kind") == "pharmacy"
    insutype = INSUTYPE_ZH.get(patient.get("insutype", ""))
    items = [{"code": it["code"], "name": it["name"] or it["code"],
              "category": word(CATEGORY_ZH, it["category"]), "list_class": word(LIST_CLASS_ZH, it["list_class"]),
              "share": _share(it), "amount": it["amount"],
              "over": it["overlmt_amt"] if it.get("overlmt_amt", "0.00") != "0.00" else ""}
             for it in s["items"]]
    context = {
        "s": s, "institution": institution, "items": items,
        "title": f"{insutype or '医保'}门诊结算单(家庭共济)", "insutype": insutype or "—",
        "level": institution_level(institution["level"], institution.get("kind")),
        "med_type": MED_TYPE_ZH.get(s.get("med_type", ""), s.get("med_type") or "—"),
        "patient_name": patient.get("name") or UNREGISTERED,
        "patient_region": region_path(patient.get("insu_admdvs")) if patient.get("insu_admdvs") else "—",
        "institution_region": region_path(institution.get("admdvs")) if institution.get("admdvs") else "—",
        "state": state(s["state"], "settlement"),
        "reversed": s["state"] == "reversed", "reprint": not first,
        "over": any(it["over"] for it in items),
        "amounts": [(text, s[key]) for key, text in AMOUNT_ZH],
        "mulaid": [{"name": names.get(d["holder"]) or UNREGISTERED, "psn_no": d["holder"], "amount": d["amount"]}
                   for d in s["mulaid_detail"]],
        "notes": "、".join(word(CODE_ZH, c) for c in s["codes"]),
        "steps": [plain_explain(step, names, pharmacy) for step in s["explain"]],
        "printed_at": (printed_at or datetime.now(CHINA)).astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
    }
    template = _templates.get_template("statement.html")
    width, margin, font = PAPERS[paper]

    def render(height: str):
        html = template.render(context, page={"width": width, "height": height, "margin": margin, "font": font})
        return HTML(string=html, url_fetcher=_nothing).render()

    if paper == "a4":
        return render("297mm").write_pdf()
    tall = render("3000mm")
    if len(tall.pages) > 1:
        return tall.write_pdf()
    end_px = tall.pages[0].anchors["end"][3]  # (x1, y1, x2, y2) in CSS px
    bottom = float(margin.split()[0].removesuffix("mm"))
    return render(f"{end_px * 25.4 / 96 + bottom + 2:.1f}mm").write_pdf()


def _share(item: dict) -> str:
    """What part of the line the patient pays before the fund: 甲类 0%, 乙类 its share, 丙类 100%."""
    if item["list_class"] == "C":
        return "100%"
    if item["list_class"] != "B":
        return "0%"
    text = str(item.get("selfpay_prop") or "0")
    if "/" in text:
        num, den = text.split("/")
        return Ratio(int(num), int(den)).percent()
    return Ratio.parse(text).percent()


def _nothing(url: str, *args, **kw):
    raise ValueError(f"the statement loads nothing from outside: {url}")


def records_xlsx(out: BinaryIO, person: str, transactions: Iterable[dict], bindings: Iterable[dict],
                 frm: date | None, to: date | None, *, patient: str | None = None,
                 names: Mapping[str, str | None] | None = None) -> None:
    """Every record into ``out``, row by row (a write-only workbook keeps no sheet in memory).

    Amounts are numbers (``0.00``, exact from fen, so a sum adds up), dates are dates
    (``yyyy-mm-dd``), words are Chinese; whose bill a payment was is named with its 个人编号 (from
    ``names``, the family's full names by 个人编号); the title row says the filter. Text cells never
    become a formula."""
    names = names or {}
    wb = Workbook(write_only=True)
    ws, auth = wb.create_sheet("收支明细"), wb.create_sheet("共济授权记录")
    for sheet, widths in ((ws, (12, 14, 12, 14, 16, 16)), (auth, (14, 16, 14, 16, 10, 18, 12, 12, 12, 12))):
        for i, width in enumerate(widths):
            sheet.column_dimensions[get_column_letter(i + 1)].width = width
    period = f"{frm.isoformat() if frm else '最早'} 至 {to.isoformat() if to else '今日'}"
    title = f"个人账户收支明细 {period},账户人:{_who(person, names)},就诊人:{_who(patient, names) if patient else '全部'}"
    ws.append(_cells(ws, [title], Font(bold=True, size=13)))
    ws.append(_cells(ws, ["日期", "事项", "金额(元)", "就诊人", "就诊人个人编号", "结算流水号"], Font(bold=True)))
    for t in transactions:
        who = t.get("patient")
        ws.append(_cells(ws, [_day(t["on"]), word(POSTING_ZH, t["kind"]), _yuan(t["amount"]),
                              _name(who, names) if who else "", who or "", t["setl_id"] or ""]))
    auth.append(_cells(auth, ["主账户人", "主账户人个人编号", "被绑定人", "被绑定人个人编号", "关系", "状态",
                              "申请日", "生效日", "解绑申请日", "终止日"], Font(bold=True)))
    for b in bindings:
        auth.append(_cells(auth, [_name(b["holder"], names), b["holder"], _name(b["beneficiary"], names),
                                  b["beneficiary"], word(RELATION_ZH, b["relation"]), state(b["state"]),
                                  *(_day(b[k]) for k in ("applied_on", "approved_on", "unbind_requested_on",
                                                        "ended_on"))]))
    wb.save(out)


def _name(psn_no: str, names: Mapping[str, str | None]) -> str:
    return names.get(psn_no) or UNREGISTERED


def _who(psn_no: str, names: Mapping[str, str | None]) -> str:
    return f"{_name(psn_no, names)}({psn_no})"


def _day(text: str | date | None) -> date | None:
    return date.fromisoformat(text) if isinstance(text, str) else text


def _yuan(text: str) -> Decimal:
    """``"-255.00"`` → ``Decimal("-255.00")``, by way of integer fen: exact, never a float sum."""
    fen = -parse_yuan(text[1:]) if text.startswith("-") else parse_yuan(text)
    return yuan_decimal(fen)


Cell = str | Decimal | date | None


def _cells(sheet, values: list[Cell], font: Font | None = None) -> list[WriteOnlyCell]:
    """Amounts as numbers (``0.00``) and dates as dates (``yyyy-mm-dd``); everything else as text,
    never a formula: ``=1+1`` in a name or code stays those characters (and is marked quoted, so
    editing the cell in Excel does not make it one either)."""
    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, Decimal):
            cell.number_format = "0.00"
        elif isinstance(value, date):
            cell.number_format = "yyyy-mm-dd"
        elif value is not None:
            cell.data_type = "s"
            cell.quotePrefix = value.startswith(FORMULA_START)
        if font is not None:
            cell.font = font
        cells.append(cell)
    return cells
