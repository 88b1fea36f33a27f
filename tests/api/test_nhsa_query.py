"""The national interface's queries and the pharmacy, over HTTP as a HIS sends them (NhsaClient):
5203 by settlement and by visit, 3201 totals after a day with cancellations and reversals, 3202
not offered, and a pharmacy's 2101/2102/2103 with 2601. Every invariant holds after each test."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bench.world import World
from gongji.service import commands as c
from gongji.service import security
from gongji.service.nhsa.records import QUERY_FIELDS
from gongji.service.uow import run
from gongji.store import models as m
from tests.api.nhsa_his import CheckedClient

CERT_A = "652801199001011232"
DAY = "2025-01-02"
DRUG = {"feedetl_sn": "1", "med_list_codg": "XA01", "cnt": 2, "pric": Decimal("22.60"), "det_item_fee_sumamt": Decimal("45.20")}
OWN = {"feedetl_sn": "2", "med_list_codg": "C03", "cnt": 1, "pric": "10.00", "det_item_fee_sumamt": "10.00"}


class Site:
    """Bayingolin: hospitals H1 and H2 (level 2), pharmacy Y1; employee A (own account, ID card)
    bound as holder to resident B; a catalogue of a 乙类 drug and a 丙类 item."""

    def __init__(self, engine) -> None:
        self.world = World(engine)
        svc = self.svc = self.world.service
        for code, kind, name in (("H1", "hospital", "巴州人民医院"), ("H2", "hospital", "库尔勒二院"),
                                 ("Y1", "pharmacy", "康宁大药房")):
            svc.register_institution(c.RegisterInstitution(code=code, level=2 if kind == "hospital" else 1,
                                                           admdvs="652801", kind=kind, name=name))
        svc.register_person(c.RegisterPerson(psn_no="A", insutype="310", insu_admdvs="652801", balance="1000",
                                             name="张三", certno=CERT_A))
        svc.register_person(c.RegisterPerson(psn_no="B", insutype="390", insu_admdvs="652801", name="张小"))
        applied = svc.apply(c.Apply(holder="A", beneficiary="B", relation="child", channel="online"))
        svc.review(c.Review(binding_id=applied["id"], decision="approve"))

        def catalogue(uow) -> None:
            for code, name, kind, lv, prop, cat in (("XA01", "阿莫西林胶囊", "09", "02", "0.05", "drug"),
                                                     ("C03", "保健品", "09", "03", "1", "drug")):
                uow.session.add(m.CatalogEntry(med_list_codg=code, admdvs="", begndate=date(2020, 1, 1), name=name,
                                               med_chrgitm_type=kind, chrgitm_lv=lv, selfpay_prop=prop,
                                               pric_uplmt_amt=None, lmt_used_flag="0", category=cat))
        run(engine, catalogue)
        self.his = {code: self.client(code) for code in ("H1", "H2", "Y1")}

    def client(self, code: str) -> CheckedClient:
        secret = self.svc.secure(security.new_institution_secret, code)
        his = CheckedClient("http://t", code, secret, client=self.world.client())
        assert ok(his.sign_in())
        return his

    def outpatient(self, code: str, psn_no: str, otp: str, batch: str, lines=(DRUG,), msgid: str | None = None,
                   mdtrt_id: str | None = None) -> dict:
        """2201 (unless ``mdtrt_id``) → 2203 → 2204 → 2206 → 2207; the 2207 reply with ``mdtrt_id``."""
        his = self.his[code]
        insutype, certno = ("310", CERT_A) if psn_no == "A" else ("390", "")
        if mdtrt_id is None:
            mdtrt_id = ok(his.register(psn_no, insutype, certno, otp, f"{DAY} 09:00:00"))["data"]["mdtrt_id"]
            ok(his.describe(mdtrt_id, psn_no, "11", f"{DAY} 09:00:00"))
        ok(his.upload(mdtrt_id, psn_no, batch, list(lines), f"{DAY} 09:10:00"))
        total = sum(Decimal(str(ln["det_item_fee_sumamt"])) for ln in lines)
        data = his.settle_data(mdtrt_id, psn_no, certno, "11", total, batch, insutype)
        reply = his.settle(data, his.preview(data), msgid)
        ok(reply)
        return reply

    def balance(self, psn_no: str = "A") -> Decimal:
        return ok(self.his["H1"].person(psn_no=psn_no))["insuinfo"][0]["balc"]

    def count(self, model) -> int:
        return run(self.svc.engine, lambda uow: uow.session.scalar(select(func.count()).select_from(model)), False)


def ok(reply: dict) -> dict:
    assert reply["infcode"] == 0, reply.get("err_msg")
    return reply["output"]


def refused(reply: dict, *words: str) -> str:
    assert reply["infcode"] == -1 and reply["output"] is None, reply
    for w in words:
        assert w in reply["err_msg"], (w, reply["err_msg"])
    return reply["err_msg"]


@pytest.fixture
def site(engine) -> Site:
    s = Site(engine)
    yield s
    assert s.svc.verify() == []


def test_5203_by_settlement_and_by_visit(site: Site) -> None:
    first = site.outpatient("H1", "A", "OP1", "B1")["output"]
    setl_id, mdtrt_id = first["setlinfo"]["setl_id"], first["setlinfo"]["mdtrt_id"]
    got = ok(site.his["H1"].query("A", setl_id, mdtrt_id))
    info = got["setlinfo"]
    assert tuple(info) == QUERY_FIELDS and len(QUERY_FIELDS) == 61
    settled = first["setlinfo"]
    assert info["psn_pay"] == settled["psn_part_amt"] and info["cash_payamt"] == settled["psn_cash_pay"]
    assert "hosp_part_amt" not in info and "psn_part_amt" not in info
    for k in ("setl_id", "medfee_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay", "balc", "medins_setl_id",
              "setl_time", "clr_optins", "certno", "psn_name"):
        assert info[k] == settled[k], k
    assert (info["refd_setl_flag"], info["pay_loc"], info["year"], info["begndate"], info["enddate"]) == (
        "0", "2", "2025", DAY, DAY)
    assert (info["fixmedins_code"], info["fixmedins_name"], info["insu_optins"], info["clr_type"]) == (
        "H1", "巴州人民医院", "652801", "11")
    assert info["flxempe_flag"] is None and info["emp_name"] is None
    assert got["setldetail"] == first["setldetail"] and got["exp_content"] == first["exp_content"]

    assert ok(site.his["H1"].query("A", "", mdtrt_id))["setlinfo"]["setl_id"] == setl_id  # gongji's extension
    refused(site.his["H1"].query("B", setl_id), "本机构无此参保人的结算")
    refused(site.his["H2"].query("A", setl_id, mdtrt_id), "本机构无此参保人的结算")
    refused(site.his["H2"].query("A", "", mdtrt_id), "本机构无此参保人的结算")
    refused(site.his["H1"].query("A"), "结算ID", "就诊ID")

    ok(site.his["H1"].cancel(setl_id, mdtrt_id, "A"))
    after = ok(site.his["H1"].query("A", setl_id))["setlinfo"]
    assert after["refd_setl_flag"] == "1" and after["medfee_sumamt"] == settled["medfee_sumamt"]
    assert ok(site.his["H1"].query("A", "", mdtrt_id))["setlinfo"]["setl_id"] == setl_id  # only that one: the latest
    second = site.outpatient("H1", "A", "OP1", "B2", lines=(dict(DRUG, feedetl_sn="3"),), mdtrt_id=mdtrt_id)["output"]["setlinfo"]["setl_id"]
    by_visit = ok(site.his["H1"].query("A", "", mdtrt_id))["setlinfo"]
    assert by_visit["setl_id"] == second and by_visit["refd_setl_flag"] == "0"  # the valid one first


def test_3201_balances_after_a_day_of_settlements_cancellations_and_reversals(site: Site) -> None:
    his = site.his["H1"]
    kept = site.outpatient("H1", "A", "OP1", "B1", lines=(DRUG, OWN))["output"]["setlinfo"]
    cancelled = site.outpatient("H1", "A", "OP2", "B1")["output"]["setlinfo"]
    ok(his.cancel(cancelled["setl_id"], cancelled["mdtrt_id"], "A"))
    reversed_ = site.outpatient("H1", "A", "OP3", "B1", msgid="H1REVERSEME0001")["output"]["setlinfo"]
    ok(his.reverse("A", "H1REVERSEME0001"))
    assert reversed_["setl_id"] != kept["setl_id"]
    site.outpatient("H2", "A", "OP9", "B1")  # another institution's: not in H1's totals
    child = site.outpatient("H1", "B", "OP4", "B1")["output"]["setlinfo"]
    assert child["acct_mulaid_pay"] > 0 and child["acct_pay"] == 0

    def totals(insutype: str, medfee, fund, acct, n: int, **kw) -> dict:
        return ok(his.reconcile(insutype, kw.pop("setl_optins", "652801"), DAY, DAY, medfee, fund, acct, n, **kw))["stmtinfo"]

    a = totals("310", kept["medfee_sumamt"], kept["fund_pay_sumamt"], kept["acct_pay"], 1)
    assert a["stmt_rslt"] == "0" and a["setl_optins"] == "652801", a
    assert f"医疗费总额 {kept['medfee_sumamt']:.2f} 元" in a["stmt_rslt_dscr"] and "平帐" in a["stmt_rslt_dscr"]
    assert totals("310", kept["medfee_sumamt"], kept["fund_pay_sumamt"], kept["acct_pay"], 1, setl_optins="")[
        "stmt_rslt"] == "0"

    b = totals("390", child["medfee_sumamt"], child["fund_pay_sumamt"], child["acct_pay"], 1)
    assert b["stmt_rslt"] == "0", b
    with_aid = totals("390", child["medfee_sumamt"], child["fund_pay_sumamt"],
                      child["acct_pay"] + child["acct_mulaid_pay"], 1)
    assert with_aid["stmt_rslt"] == "1" and "不符:个人账户支付(贵方" in with_aid["stmt_rslt_dscr"], with_aid
    assert "医疗费总额" not in with_aid["stmt_rslt_dscr"].split("不符")[1]
    counted_all = totals("310", kept["medfee_sumamt"], kept["fund_pay_sumamt"], kept["acct_pay"], 3)
    assert counted_all["stmt_rslt"] == "1" and "结算笔数(贵方 3)" in counted_all["stmt_rslt_dscr"]
    assert totals("310", 0, 0, 0, 0, setl_optins="659001")["stmt_rslt"] == "0"  # another clearing agency: none
    assert totals("310", 0, 0, 0, 0, clr_type="41")["stmt_rslt"] == "0"  # no pharmacy purchase at H1
    assert totals("310", 0, 0, 0, 0, clr_type="41")["stmt_rslt"] == "0"
    refused(his.reconcile("310", "652801", DAY, DAY, 0, 0, 0, 0, clr_type="21"), "清算类别 21")
    refused(his.reconcile("310", "652801", "2025-01-03", DAY, 0, 0, 0, 0), "开始日期")


def test_3202_is_not_offered(site: Site) -> None:
    reply = site.his["H1"].call("3202", {"data": {
        "setl_optins": "652801", "file_qury_no": "F1", "stmt_begndate": DAY, "stmt_enddate": DAY,
        "medfee_sumamt": 0, "fund_pay_sumamt": 0, "cash_payamt": 0, "fixmedins_setl_cnt": 0, "clr_type": "11"}})
    refused(reply, "3202", "对明细账", "暂不提供")


def test_pharmacy_preview_settle_once_cancel_and_reverse(site: Site) -> None:
    shop = site.his["Y1"]
    before, visits, messages = site.balance(), site.count(m.NhsaVisit), site.count(m.NhsaMessage)
    buy = {"invono": "INV001", "certno": CERT_A, "begntime": f"{DAY} 10:00:00"}

    pre = ok(shop.purchase("2101", "A", "310", [DRUG, OWN], Decimal("55.20"), **buy))
    assert pre["setlinfo"]["setl_id"] is None and pre["setlinfo"]["clr_type"] == "41"
    assert (site.balance(), site.count(m.NhsaVisit), site.count(m.NhsaMessage)) == (before, visits, messages)

    first = shop.purchase("2102", "A", "310", [DRUG, OWN], Decimal("55.20"), msgid="Y1MSG0001", **buy)
    info = ok(first)["setlinfo"]
    assert (info["med_type"], info["clr_type"], info["medins_setl_id"], info["medfee_sumamt"]) == (
        "41", "41", "Y1MSG0001", Decimal("55.20"))
    assert first["warn_msg"] is None and info["acct_pay"] > 0
    for k in ("medfee_sumamt", "fulamt_ownpay_amt", "preselfpay_amt", "inscp_scp_amt", "hifp_pay", "acct_pay"):
        assert info[k] == pre["setlinfo"][k], k
    after = site.balance()
    assert after == before - info["acct_pay"] == info["balc"]

    settled_pre = shop.purchase("2101", "A", "310", [DRUG, OWN], Decimal("55.20"), **buy)
    assert ok(settled_pre)["setlinfo"]["setl_id"] == info["setl_id"] and "本次未重复结算" in settled_pre["warn_msg"]
    again = shop.purchase("2102", "A", "310", [DRUG, OWN], Decimal("55.20"), msgid="Y1MSG0001", **buy)
    assert again["output"] == first["output"]
    retry = shop.purchase("2102", "A", "310", [DRUG, OWN], Decimal("55.20"), msgid="Y1MSG0002", **buy)
    assert ok(retry)["setlinfo"]["setl_id"] == info["setl_id"] and "本次未重复结算" in retry["warn_msg"]
    assert site.balance() == after and site.count(m.NhsaVisit) == visits + 1

    q = ok(shop.query("A", info["setl_id"]))["setlinfo"]
    assert (q["med_type"], q["clr_type"], q["fixmedins_code"], q["begndate"]) == ("41", "41", "Y1", DAY)
    assert ok(shop.reconcile("310", "652801", DAY, DAY, info["medfee_sumamt"], info["fund_pay_sumamt"],
                             info["acct_pay"], 1, clr_type="41"))["stmtinfo"]["stmt_rslt"] == "0"
    assert ok(site.his["H1"].reconcile("310", "652801", DAY, DAY, 0, 0, 0, 0))["stmtinfo"]["stmt_rslt"] == "0"

    refused(shop.cancel(info["setl_id"], info["mdtrt_id"], "A"), "2103")  # 2208 is for the outpatient one
    undone = ok(shop.cancel_purchase(info["setl_id"], info["mdtrt_id"], "A"))["setlinfo"]
    assert undone["medfee_sumamt"] == -info["medfee_sumamt"] and site.balance() == before
    assert ok(shop.query("A", info["setl_id"]))["setlinfo"]["refd_setl_flag"] == "1"
    gone = shop.purchase("2102", "A", "310", [DRUG, OWN], Decimal("55.20"), msgid="Y1MSG0003", **buy)
    assert "已于" in gone["warn_msg"] and "撤销" in gone["warn_msg"] and site.balance() == before

    # 2601 on a 2102, with the msgid as the purchase's name (no invoice number)
    second = ok(shop.purchase("2102", "A", "310", [DRUG], Decimal("45.20"), msgid="Y1MSG0004"))["setlinfo"]
    assert site.balance() == before - second["acct_pay"] and second["medins_setl_id"] == "Y1MSG0004"
    assert ok(shop.reverse("A", "Y1MSG0004", "2102")) == {}
    assert site.balance() == before
    assert ok(shop.query("A", second["setl_id"]))["setlinfo"]["refd_setl_flag"] == "1"

    refused(shop.purchase("2102", "A", "310", [DRUG], Decimal("45.20"), med_type="11", msgid="Y1MSG0005"),
            "医疗类别 41", "不结算 11")
    refused(shop.purchase("2101", "A", "310", [DRUG], Decimal("45.20"), med_type="14"), "不结算 14")
    refused(shop.purchase("2102", "A", "310", [DRUG], Decimal("45.00"), msgid="Y1MSG0006"), "医疗费总额")
    refused(shop.purchase("2102", "A", "310", [DRUG], Decimal("45.20"), msgid="Y1" + "9" * 30), "未传发票号")
    refused(shop.purchase("2102", "B", "390", [DRUG], Decimal("45.20"), invono="INV001", msgid="Y1MSG0008"),
            "另一参保人")
    refused(shop.purchase("2102", "A", "310", [dict(DRUG, med_list_codg="NOPE")], Decimal("45.20"),
                          msgid="Y1MSG0007"), "NOPE")
    assert site.balance() == before


def test_pharmacy_mutual_aid_needs_an_external_prescription(site: Site) -> None:
    shop = site.his["Y1"]
    holder = site.balance("A")
    plain = ok(shop.purchase("2101", "B", "390", [DRUG], Decimal("45.20")))["setlinfo"]
    assert plain["acct_mulaid_pay"] == 0
    rx = dict(DRUG, rx_circ_flag="1")
    pre = ok(shop.purchase("2101", "B", "390", [rx], Decimal("45.20")))["setlinfo"]
    assert pre["acct_mulaid_pay"] > 0 and site.balance("A") == holder
    header = ok(shop.purchase("2101", "B", "390", [DRUG], Decimal("45.20"), rx_circ_flag="1"))["setlinfo"]
    assert header["acct_mulaid_pay"] == pre["acct_mulaid_pay"]
    done = ok(shop.purchase("2102", "B", "390", [rx], Decimal("45.20"), invono="INV9", msgid="Y1AID0001"))
    assert done["setlinfo"]["acct_mulaid_pay"] == pre["acct_mulaid_pay"]
    assert site.balance("A") == holder - pre["acct_mulaid_pay"]
    assert done["exp_content"]["mulaid_detail"][0]["holder"] == "A"
    ok(shop.cancel_purchase(done["setlinfo"]["setl_id"], done["setlinfo"]["mdtrt_id"], "B"))
    assert site.balance("A") == holder


def test_one_purchase_sent_at_once_under_several_msgids_is_settled_once(site: Site) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from tests.api.server import serving

    n = 6
    secret = site.svc.secure(security.new_institution_secret, "Y1")
    barrier = threading.Barrier(n)
    before = site.balance()

    def send(i: int) -> dict:
        with httpx.Client(base_url=base, timeout=60) as http:
            shop = CheckedClient(base, "Y1", secret, client=http)
            barrier.wait()
            return shop.purchase("2102", "A", "310", [DRUG], Decimal("45.20"), invono="INV-RACE",
                                 msgid=f"Y1RACE{i:04d}")

    with serving(site.world.app) as base:
        with ThreadPoolExecutor(n) as pool:
            replies = list(pool.map(send, range(n)))
    ids = {ok(r)["setlinfo"]["setl_id"] for r in replies}
    assert len(ids) == 1 and sum(r["warn_msg"] is None for r in replies) == 1
    acct = replies[0]["output"]["setlinfo"]["acct_pay"]
    assert site.balance() == before - acct and site.count(m.NhsaVisit) == 1
