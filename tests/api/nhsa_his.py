"""A HIS for the national-interface tests: the REST fixture family (tests/api/test_rest.py), a
catalogue whose codes classify the worked bill's lines as the REST items are classed, and an
``NhsaClient`` on the test app (or on a live server)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from gongji.client import NhsaClient
from gongji.service import security
from gongji.service.uow import run
from gongji.store import models as m

# code, name, 收费项目类别, 等级, 自付比例, 限价 (yuan) — the worked bill: 300 甲 exam, 100 乙 10%, 50 丙
CATALOG = [
    ("X1", "血常规", "04", "01", "0", None),
    ("X2", "阿莫西林", "09", "02", "0.10", None),
    ("X3", "自费营养品", "09", "03", "1", None),
    ("XC", "限价检查", "03", "01", "0", "80.00"),
]
# the worked bill as 2204 lines: quantity × price
WORKED_LINES = [
    {"feedetl_sn": "L1", "med_list_codg": "X1", "cnt": 1, "pric": Decimal("300.00"), "det_item_fee_sumamt": Decimal("300.00")},
    {"feedetl_sn": "L2", "med_list_codg": "X2", "cnt": 4, "pric": "25", "det_item_fee_sumamt": "100.00"},
    {"feedetl_sn": "L3", "med_list_codg": "X3", "cnt": "2.0000", "pric": "25.000000", "det_item_fee_sumamt": 50},
]
BEGIN = "2025-01-07 09:00:00"


def catalogue(engine, rows=CATALOG) -> None:
    def add(uow) -> None:
        for code, name, kind, level, prop, cap in rows:
            uow.session.add(m.CatalogEntry(
                med_list_codg=code, admdvs="", begndate=date(2020, 1, 1), enddate=None, name=name,
                med_chrgitm_type=kind, chrgitm_lv=level, selfpay_prop=prop,
                pric_uplmt_amt=None if cap is None else int(Decimal(cap) * 10**6), lmt_used_flag="0",
                category={"04": "exam", "03": "exam"}.get(kind, "drug")))
    run(engine, add)


class CheckedClient(NhsaClient):
    """Every reply is the envelope, and every successful output is its transaction's typed model
    (the models OpenAPI lists): what the tests see is what the documentation promises."""

    def send(self, envelope: dict) -> dict:
        from gongji.api.nhsa.openapi import outputs
        from gongji.nhsa_format import Reply

        out = super().send(envelope)
        Reply.model_validate(out)
        if out["infcode"] == 0:
            outputs()[envelope["infno"]].model_validate(out["output"])
        return out


def his(api, scheme: str = "tif", path_form: bool = False, inst: str = "H1", client=None) -> NhsaClient:
    secret = security.institution_secret(api.service.engine, inst)
    assert secret
    return CheckedClient("http://testserver", inst, secret, scheme=scheme, path_form=path_form,
                      client=client or api.client())


def visit(h: NhsaClient, psn_no: str = "P2", insutype: str = "390", med_type: str = "11", batch: str = "B1",
          lines=WORKED_LINES, otp: str = "OP1") -> tuple[str, dict]:
    """Person, registration, visit information and fee lines: (mdtrt_id, the 2206/2207 data)."""
    assert h.sign_in()["infcode"] == 0
    assert h.person(psn_no=psn_no)["infcode"] == 0
    reg = h.register(psn_no, insutype, "", otp, BEGIN)
    assert reg["infcode"] == 0, reg
    mdtrt_id = reg["output"]["data"]["mdtrt_id"]
    assert h.describe(mdtrt_id, psn_no, med_type, BEGIN)["infcode"] == 0
    up = h.upload(mdtrt_id, psn_no, batch, lines, BEGIN)
    assert up["infcode"] == 0, up
    total = sum(Decimal(str(ln["det_item_fee_sumamt"])) for ln in lines)
    return mdtrt_id, h.settle_data(mdtrt_id, psn_no, "", med_type, total, batch, insutype)


def balance(api, psn_no: str) -> str:
    """A person's balance as staff read it over REST."""
    r = api.supervisor.get(f"/api/v1/accounts/{psn_no}")
    assert r.status_code == 200, r.text
    return r.json()["balance"]
