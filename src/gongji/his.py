"""One outpatient visit as a hospital's HIS plays it through the national interface, for
``gongji his``: 9001 sign-in, 1101 person, 2201 register, 2203 visit details, 2204 fee lines,
2206 pre-settlement, 2207 settlement, and with ``cancel`` 2208. ``play`` yields each step's
reply envelope and stops after the first that is not ``infcode`` 0."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from gongji.client import NhsaClient
from gongji.domain.catalog import line_total
from gongji.domain.money import yuan_decimal
from gongji.service.clock import CHINA

NAMES = {"9001": "签到", "1101": "人员信息获取", "2201": "门诊挂号", "2203": "就诊信息上传",
         "2204": "费用明细上传", "2206": "预结算", "2207": "结算", "2208": "结算撤销"}
# fee lines when no --item is given: codes of the demo catalogue (`gongji demo`)
DEFAULT_ITEMS = ("DEMO-D001:2:12.50", "DEMO-X001:1:25.00")
LABELS = {"sign_no": "签到编号", "psn_no": "人员编号", "psn_name": "姓名", "insutype": "险种",
          "mdtrt_id": "就诊ID", "setl_id": "结算ID", "medfee_sumamt": "医疗费总额", "hifp_pay": "统筹基金支付",
          "acct_pay": "个人账户支付", "acct_mulaid_pay": "共济账户支付", "psn_cash_pay": "个人现金支付",
          "balc": "账户余额"}
AMOUNTS = ("medfee_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "balc")


class ItemError(ValueError):
    """An ``--item`` that is not CODE:QTY:PRICE; the message says why."""


@dataclass(frozen=True)
class Item:
    code: str
    cnt: Decimal
    pric: Decimal

    @property
    def total(self) -> Decimal:
        """``det_item_fee_sumamt``: cnt × pric, half up to the fen."""
        return yuan_decimal(line_total(self.cnt, self.pric))


def parse_item(text: str) -> Item:
    """``CODE:QTY:PRICE``, e.g. ``DEMO-D001:2:12.50`` (the code may itself hold colons)."""
    parts = text.rsplit(":", 2)
    if len(parts) != 3 or not all(p.strip() for p in parts):
        raise ItemError(f"--item {text!r}:应为 编码:数量:单价,例如 DEMO-D001:2:12.50")
    code, qty, price = (p.strip() for p in parts)
    try:
        cnt, pric = Decimal(qty), Decimal(price)
    except InvalidOperation:
        raise ItemError(f"--item {text!r}:数量和单价须为数字") from None
    if not (cnt.is_finite() and pric.is_finite()) or cnt <= 0 or pric < 0:
        raise ItemError(f"--item {text!r}:数量须大于 0,单价不能为负")
    return Item(code, cnt, pric)


def play(his: NhsaClient, items: list[Item], *, certno: str = "", psn_no: str = "", med_type: str = "11",
         cancel: bool = False) -> Iterator[tuple[str, dict]]:
    """(infno, reply) per step, in order; nothing more after a reply whose infcode is not 0."""
    now = datetime.now(CHINA)
    when = now.strftime("%Y-%m-%d %H:%M:%S")
    stamp = now.strftime("%Y%m%d%H%M%S")
    ipt_otp_no, chrg_bchno = f"MZ{stamp}{secrets.randbelow(10**4):04d}", f"SF{stamp}{secrets.randbelow(10**4):04d}"

    for infno, call in (("9001", his.sign_in), ("1101", lambda: his.person(certno=certno, psn_no=psn_no))):
        reply = call()
        yield infno, reply
        if not ok(reply):
            return
    base, insu = reply["output"]["baseinfo"], reply["output"]["insuinfo"][0]
    psn_no, certno, insutype = base["psn_no"], base.get("certno") or certno, insu["insutype"]

    reply = his.register(psn_no, insutype, certno, ipt_otp_no, when)
    yield "2201", reply
    if not ok(reply):
        return
    mdtrt_id = reply["output"]["data"]["mdtrt_id"]
    reply = his.describe(mdtrt_id, psn_no, med_type, when)
    yield "2203", reply
    if not ok(reply):
        return
    lines = [{"feedetl_sn": f"{chrg_bchno}{n:03d}", "med_list_codg": it.code, "cnt": it.cnt, "pric": it.pric,
              "det_item_fee_sumamt": it.total} for n, it in enumerate(items, 1)]
    reply = his.upload(mdtrt_id, psn_no, chrg_bchno, lines, when)
    yield "2204", reply
    if not ok(reply):
        return
    data = his.settle_data(mdtrt_id, psn_no, certno, med_type, sum((it.total for it in items), Decimal("0.00")),
                           chrg_bchno, insutype)
    pre = his.preview(data)
    yield "2206", pre
    if not ok(pre):
        return
    reply = his.settle(data, pre)
    yield "2207", reply
    if not ok(reply) or not cancel:
        return
    yield "2208", his.cancel(reply["output"]["setlinfo"]["setl_id"], mdtrt_id, psn_no)


def ok(reply: dict) -> bool:
    return reply.get("infcode") == 0


def highlights(infno: str, reply: dict) -> list[tuple[str, str, object]]:
    """(Chinese label, field, value): what a cashier looks at in a successful reply."""
    output = reply.get("output") or {}
    if infno == "9001":
        fields = output.get("signinoutb", {})
        keys: tuple[str, ...] = ("sign_no",)
    elif infno == "1101":
        fields = output.get("baseinfo", {}) | ((output.get("insuinfo") or [{}])[0])
        keys = ("psn_no", "psn_name", "insutype", "balc")
    elif infno == "2201":
        fields, keys = output.get("data", {}), ("mdtrt_id",)
    elif infno == "2204":
        result = output.get("result") or []
        total = sum((Decimal(str(r.get("det_item_fee_sumamt", 0))) for r in result), Decimal("0.00"))
        return [("明细条数", "count", len(result)), ("明细合计", "det_item_fee_sumamt", total)]
    elif infno in ("2206", "2207", "2208"):
        fields, keys = output.get("setlinfo", {}), ("mdtrt_id", "setl_id", *AMOUNTS)
    else:
        return []
    return [(LABELS[k], k, fields.get(k)) for k in keys if fields.get(k) is not None]
