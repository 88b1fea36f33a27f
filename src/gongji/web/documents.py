"""Downloads: the 结算单 (settlement statement) as PDF with ReportLab, the records as Excel with
openpyxl. Chinese in ReportLab's built-in CID font (no font file to ship); amounts in Helvetica,
so they stay plain text for anyone who reads the PDF by machine. Every spreadsheet cell is text."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from gongji.domain.codes import label
from gongji.policy.compare import RELATION_ZH

CJK = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(CJK))
FORMULA_START = ("=", "+", "-", "@")  # what a spreadsheet would read as the start of a formula
KIND_ZH = {"opening": "期初余额", "credit": "个人账户划入", "settle": "医疗费用支付", "reverse": "冲正退回"}
STATE_ZH = {"reversed": "已冲正", "pending_approval": "待复核,尚未支付", "rejected": "复核不通过,不予支付"}
FIELDS_ZH = (
    ("medfee_sumamt", "医疗费总额"), ("fulamt_ownpay_amt", "全自费"), ("overlmt_selfpay", "超限价自费"), ("preselfpay_amt", "乙类先行自付"),
    ("inscp_scp_amt", "符合范围金额"), ("act_pay_dedc", "起付线"), ("hifp_pay", "统筹基金支付"),
    ("acct_pay", "本人个人账户支付"), ("acct_mulaid_pay", "家庭共济支付"), ("psn_cash_pay", "现金支付"),
)


def settlement_pdf(s: dict, institution: dict) -> bytes:
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    pdf.setTitle(f"结算单 {s['setl_id']}")
    width, height = A4
    y = height - 20 * mm

    def line(text: str, amount: str | None = None, size: int = 10, gap: float = 6.5) -> None:
        nonlocal y
        if y < 20 * mm:
            pdf.showPage()
            y = height - 20 * mm
        pdf.setFont(CJK, size)
        pdf.drawString(20 * mm, y, text)
        if amount is not None:
            pdf.setFont("Helvetica", size)
            pdf.drawRightString(width - 20 * mm, y, amount)
        y -= gap * mm

    line("职工医保门诊结算单(家庭共济)", size=15, gap=9)
    pdf.setFont("Helvetica", 10)
    pdf.drawString(20 * mm, y, f"setl_id {s['setl_id']}   date {s['setl_date']}   psn_no {s['psn_no']}")
    y -= 6.5 * mm
    line(f"定点机构:{institution['name'] or institution['code']}({institution['code']},{institution['level']}级)"
         f"   状态:{STATE_ZH.get(s['state'], '已结算')}")
    y -= 2 * mm
    line("费用明细", size=12, gap=7)
    for it in s["items"]:
        line(f"  {it['name'] or it['code']}  {it['list_class']}类  {it['category']}", it["amount"])
    y -= 2 * mm
    line("结算金额", size=12, gap=7)
    for key, text in FIELDS_ZH:
        line(f"  {text}", s[key])
    for d in s["mulaid_detail"]:
        line(f"    其中 {d['holder']} 的个人账户共济支付", d["amount"])
    if s["codes"]:
        line("  说明:" + "、".join(label(c) for c in s["codes"]))
    y -= 2 * mm
    line("计算过程(所用政策参数见括号)", size=12, gap=7)
    for step in s["explain"]:
        for chunk in wrap(step, 52):
            line("  " + chunk)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` characters, broken after a separator where one is near, so no
    amount is cut in two on the printed statement."""
    out = []
    while len(text) > width:
        cut = max(text.rfind(sep, 0, width) for sep in ";、,)→ ") + 1
        cut = cut if cut > width // 2 else width
        out.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return out + [text] if text else out


def records_xlsx(out: BinaryIO, person: str, transactions: Iterable[dict], bindings: Iterable[dict],
                 frm: date | None, to: date | None) -> None:
    """Every record into ``out``, row by row (a write-only workbook keeps no sheet in memory)."""
    wb = Workbook(write_only=True)
    ws, auth = wb.create_sheet("收支明细"), wb.create_sheet("共济授权记录")
    for sheet in (ws, auth):
        for letter in "ABCDEFGH":
            sheet.column_dimensions[letter].width = 16
    period = f"{frm or '最早'} 至 {to or '今日'}"
    ws.append(_cells(ws, [f"个人账户收支明细 · {person} · {period}"], Font(bold=True, size=13)))
    ws.append(_cells(ws, ["日期", "事项", "金额(元)", "结算号"], Font(bold=True)))
    for t in transactions:
        ws.append(_cells(ws, [t["on"], KIND_ZH.get(t["kind"], t["kind"]), t["amount"], t["setl_id"] or ""]))
    auth.append(_cells(auth, ["主账户人", "被绑定人", "关系", "状态", "申请日", "生效日", "解绑申请日", "终止日"],
                       Font(bold=True)))
    for b in bindings:
        auth.append(_cells(auth, [b["holder"], b["beneficiary"], RELATION_ZH.get(b["relation"], b["relation"]), b["state_zh"], b["applied_on"],
                                  b["approved_on"] or "", b["unbind_requested_on"] or "", b["ended_on"] or ""]))
    wb.save(out)


def _cells(sheet, values: list[str], font: Font | None = None) -> list[WriteOnlyCell]:
    """Every value as text, never a formula: ``=1+1`` in a name or number stays those characters
    (and is marked quoted, so editing the cell in Excel does not make it one either)."""
    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        cell.quotePrefix = value.startswith(FORMULA_START)
        if font is not None:
            cell.font = font
        cells.append(cell)
    return cells
