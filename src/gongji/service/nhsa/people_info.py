"""What the platform says of a person (1101, and the person's fields of every settlement
record): held values, and those derived from the ID number where gongji holds none (docs/nhsa.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from gongji.domain.money import yuan_decimal
from gongji.service import ledger
from gongji.store import models as m

PSN_TYPE = {"310": "1101", "390": "1501"}  # 职工在职 / 普通居民(成年): gongji holds no finer category
INSU_STAS = {"active": "1"}  # anything else: 4 (paused), with the day it changed


def cert(p: m.Person) -> tuple[str, str]:
    """(psn_cert_type, certno): the ID card when held, else 99 其他 with the person number."""
    return ("01", p.certno) if p.certno else ("99", p.psn_no)


def birth(p: m.Person) -> date | None:
    if p.certno and len(p.certno) == 18:
        try:
            return date(int(p.certno[6:10]), int(p.certno[10:12]), int(p.certno[12:14]))
        except ValueError:
            return None
    return None


def gender(p: m.Person) -> str:
    """From the ID number's 17th digit: odd 1 男, even 2 女; 9 未说明 without one."""
    if p.certno and len(p.certno) == 18 and p.certno[16].isdigit():
        return "1" if int(p.certno[16]) % 2 else "2"
    return "9"


def age(p: m.Person, on: date) -> Decimal | None:
    """Whole years and tenths of the year since the last birthday (N(4,1))."""
    born = birth(p)
    if born is None:
        return None
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    months = (on.month - born.month - (on.day < born.day)) % 12
    return (Decimal(years) + Decimal(months * 10 // 12) / 10).quantize(Decimal("0.1"))


def person_fields(p: m.Person, on: date) -> dict:
    """The person's part of a settlement record (setlinfo 3–13)."""
    kind, number = cert(p)
    born = birth(p)
    return {"psn_no": p.psn_no, "psn_name": p.name or p.psn_no, "psn_cert_type": kind, "certno": number,
            "gend": gender(p), "naty": None, "brdy": born.isoformat() if born else None, "age": age(p, on),
            "insutype": p.insutype, "psn_type": PSN_TYPE.get(p.insutype, "1101"), "cvlserv_flag": "0"}


def person_output(s: Session, p: m.Person, on: date) -> dict:
    """1101's output: baseinfo, insuinfo (with the person's own balance), idetinfo."""
    fields = person_fields(p, on)
    base = {k: fields[k] for k in ("psn_no", "psn_cert_type", "certno", "psn_name", "gend", "naty", "brdy", "age")}
    balance = ledger.balance(s, p.psn_no) if p.insutype == "310" else 0
    active = p.status in INSU_STAS
    insu = {"balc": yuan_decimal(balance), "insutype": p.insutype, "psn_type": fields["psn_type"],
            "psn_insu_stas": INSU_STAS.get(p.status, "4"), "psn_insu_date": p.registered_on.isoformat(),
            "paus_insu_date": None if active or p.status_on is None else p.status_on.isoformat(),
            "cvlserv_flag": "0", "insuplc_admdvs": p.insu_admdvs, "emp_name": None}
    return {"baseinfo": base | {"exp_content": None}, "insuinfo": [insu], "idetinfo": []}
