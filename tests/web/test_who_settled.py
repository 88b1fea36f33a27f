"""The cashier page records who settled and who reversed: the logged-in cashier
(``institution:CODE/USERNAME``), and a signed HIS request its institution alone. Over HTTP on both
databases, no browser."""

from __future__ import annotations

import re

from bench.world import World
from gongji.service import commands as c
from gongji.service import security
from gongji.service.uow import run
from gongji.store import models as m
from gongji.store.models import settlement_pk

PASSWORD = "cashier-pass-1"
BILL = {"psn_no": "P2", "med_type": "11", "dise_codg": "", "code": ["X001"], "name": ["血常规"],
        "list_class": ["A"], "category": ["exam"], "amount": ["300.00"], "selfpay_prop": [""]}


def by(engine, setl_id: str) -> tuple:
    def read(uow) -> tuple:
        row = uow.session.get(m.Settlement, settlement_pk(setl_id))
        return row.settled_by, row.reversed_by, row.state

    return run(engine, read, write=False)


def test_the_cashier_page_records_the_cashier_who_settled_and_the_one_who_reversed(engine) -> None:
    w = World(engine)
    s = w.service
    s.register_institution(c.RegisterInstitution(code="H1", level=2, admdvs="652801", kind="hospital"))
    s.secure(security.new_institution_secret, "H1")
    s.register_person(c.RegisterPerson(psn_no="P1", insutype="310", insu_admdvs="652801", balance="3000.00"))
    s.register_person(c.RegisterPerson(psn_no="P2", insutype="390", insu_admdvs="652801"))
    bound = s.apply(c.Apply(holder="P1", beneficiary="P2", relation="parent", channel="online"))
    s.review(c.Review(binding_id=bound["id"], decision="approve"))
    for name in ("li", "wang"):
        s.secure(security.add_cashier, name, "H1", password=PASSWORD)
    li, wang = w.login("cashier", "li", PASSWORD), w.login("cashier", "wang", PASSWORD)

    key = re.search(r'name="key" value="([^"]+)"', li.get("/cashier?patient=P2").text).group(1)
    r = li.post("/cashier/settle", data=dict(BILL, key=key), follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    setl_id = r.headers["location"].removeprefix("/cashier?done=")
    assert by(engine, setl_id) == ("institution:H1/li", None, "settled")
    assert wang.post(f"/cashier/settlements/{setl_id}/reverse").status_code == 200
    assert by(engine, setl_id) == ("institution:H1/li", "institution:H1/wang", "reversed")

    visit = {"psn_no": "P2", "fixmedins": "H1", "med_type": "11",
             "items": [{"code": "X1", "list_class": "A", "category": "exam", "amount": "10.00"}]}
    r = w.inst("H1").post("/api/v1/settlements", json={"visit": visit}, headers={"Idempotency-Key": "his-1"})
    assert r.status_code == 200, r.text
    assert by(engine, r.json()["setl_id"]) == ("institution:H1", None, "settled")
    assert s.verify() == []
