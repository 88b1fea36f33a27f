"""The bills ``gongji demo --persons N --settlements M`` copies, each made once by the real service.

Per region, four institutions classes (hospitals of levels 1, 2, 3 and pharmacies), the visit
types each takes (11 general and 14 chronic outpatient at hospitals, 41 purchases at pharmacies,
with and without an external prescription), a few bill shapes of several items, for a bound
relative (paid by mutual-aid where the region allows it) and for the holder (own account). The
amounts are what gongji computed on a scratch database, so the copies are what it would write.

Hospital bills stay below the residents' per-visit deductible (100 yuan in Bayingolin), so a
relative's mutual-aid is the same at every level: the peers the supervision compares differ by
chance, not by construction.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from gongji.service import commands as c
from gongji.service.clock import FixedClock
from gongji.service.facade import Service
from gongji.store.db import make_engine, migrate

COUNTIES = {"652800": "652801", "532600": "532601", "370300": "370302", "532800": "532801"}


def institutions(n: int) -> list[tuple[str, int, str]]:
    """Per region: n hospitals (levels 1, 2, 3 in equal parts) then n pharmacies, as (code
    suffix, level, kind); the first keeps the old name BULK<region>."""
    hospitals = [("" if i == 0 else f"H{i + 1}", 1 + 3 * i // n, "hospital") for i in range(n)]
    return hospitals + [(f"P{i + 1}", 1, "pharmacy") for i in range(n)]


# a visit: med_type, diagnosis, external prescription
HOSPITAL_VISITS = (("11", None, False), ("14", "I10.x00", False), ("14", "E11.900", False))
PHARMACY_VISITS = (("41", None, True), ("41", None, False))


def _item(code: str, name: str, cls: str, cat: str, yuan: str, prop: str | None = None) -> dict:
    return {"code": code, "name": name, "list_class": cls, "category": cat, "amount": yuan,
            **({"selfpay_prop": prop} if prop else {})}


# bill shapes: several items, varied codes and amounts (not NHSA codes), cheapest first
HOSPITAL_SHAPES = (
    (_item("BX001", "血常规", "A", "exam", "22.00"), _item("BD001", "阿莫西林胶囊", "A", "drug", "18.60")),
    (_item("BT001", "诊查费", "A", "treatment", "12.00"), _item("BD002", "硝苯地平缓释片", "B", "drug", "36.40", "0.10"),
     _item("BX002", "尿常规", "A", "exam", "15.00")),
    (_item("BX003", "心电图", "A", "exam", "30.00"), _item("BD003", "二甲双胍片", "A", "drug", "27.80"),
     _item("BT002", "注射费", "A", "treatment", "8.50"), _item("BD004", "维生素C片", "C", "drug", "6.20")),
    (_item("BT001", "诊查费", "A", "treatment", "12.00"), _item("BD005", "头孢克洛胶囊", "B", "drug", "41.30", "0.10"),
     _item("BX004", "C反应蛋白", "A", "exam", "25.00")),
)
PHARMACY_SHAPES = (
    (_item("BD008", "布洛芬缓释胶囊", "A", "drug", "21.40"), _item("BD009", "复方甘草片", "A", "drug", "12.70")),
    (_item("BD002", "硝苯地平缓释片", "B", "drug", "48.60", "0.10"), _item("BD003", "二甲双胍片", "A", "drug", "33.20")),
    (_item("BD006", "阿托伐他汀钙片", "B", "drug", "86.50", "0.10"), _item("BD007", "阿司匹林肠溶片", "A", "drug", "16.80"),
     _item("BD004", "维生素C片", "C", "drug", "9.90")),
    (_item("BD010", "氨氯地平片", "B", "drug", "62.30", "0.10"), _item("BD011", "格列美脲片", "B", "drug", "54.90", "0.10"),
     _item("BD012", "板蓝根颗粒", "A", "drug", "18.00")),
)


@dataclass(frozen=True)
class Template:
    """One settled bill as gongji wrote it: amounts (fen), codes, explanation, mutual-aid, items."""
    amounts: dict
    codes: str
    explain: str
    mulaid: int
    med_type: str
    dise_codg: str | None
    external_rx: bool
    items: tuple  # (code, name, list_class, category, amount, selfpay_prop)


def klass(level: int, kind: str) -> str:
    return "pharmacy" if kind == "pharmacy" else f"hospital{level}"


def visits_of(k: str) -> tuple:
    return PHARMACY_VISITS if k == "pharmacy" else HOSPITAL_VISITS


def shapes_of(k: str) -> tuple:
    return PHARMACY_SHAPES if k == "pharmacy" else HOSPITAL_SHAPES


AMOUNT_COLUMNS = ("medfee_sumamt", "fulamt_ownpay_amt", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
                  "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")


@lru_cache(maxsize=4)
def templates(day: date) -> dict[tuple, Template]:
    """Key (region, is_relative, class, visit index, shape index): class is hospital1..3 or pharmacy."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(str(Path(tmp) / "t.db"))
        migrate(engine)
        svc = Service(engine, clock=FixedClock(day))
        for region, county in COUNTIES.items():
            for level, kind in ((1, "hospital"), (2, "hospital"), (3, "hospital"), (1, "pharmacy")):
                k = klass(level, kind)
                inst, holder, rel = f"T{region}{k[0]}{level}", f"T{region}{k[0]}{level}H", f"T{region}{k[0]}{level}R"
                svc.register_institution(c.RegisterInstitution(code=inst, level=level, admdvs=county, kind=kind))
                svc.register_person(c.RegisterPerson(psn_no=holder, insutype="310", insu_admdvs=county,
                                                     balance="5000.00"))
                svc.register_person(c.RegisterPerson(psn_no=rel, insutype="390", insu_admdvs=county))
                applied = svc.apply(c.Apply(holder=holder, beneficiary=rel, relation="child", channel="offline"))
                svc.review(c.Review(binding_id=applied["id"], decision="approve"))
                for vi, (med_type, dise, rx) in enumerate(visits_of(k)):
                    for si, shape in enumerate(shapes_of(k)):
                        for patient, is_rel in ((rel, True), (holder, False)):
                            visit = c.VisitRef(psn_no=patient, fixmedins=inst, med_type=med_type, dise_codg=dise,
                                               external_rx=rx, items=list(shape))
                            r = svc.settle(f"t{patient}{vi}{si}", visit)
                            out[(region, is_rel, k, vi, si)] = _read(engine, r, med_type, dise, rx)
        engine.dispose()
    return out


def _read(engine, r: dict, med_type: str, dise: str | None, rx: bool) -> Template:
    """The amounts as the service answered them, the items as it stored them."""
    fen = {k: int(v.replace(".", "")) for k, v in r.items() if k.endswith(("amt", "pay", "dedc"))}
    mulaid = sum(int(d["amount"].replace(".", "")) for d in r["mulaid_detail"])
    return Template(fen, json.dumps(r["codes"], ensure_ascii=False), json.dumps(r["explain"], ensure_ascii=False),
                    mulaid, med_type, dise, rx, _items(engine, r["setl_id"]))


def _items(engine, setl_id: str) -> tuple:
    sid = int(setl_id.lstrip("S"))
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT code, name, list_class, category, amount, selfpay_prop FROM settlement_items"
            " WHERE settlement_id = ? ORDER BY seq", (sid,)).all()
    return tuple(tuple(row) for row in rows)
