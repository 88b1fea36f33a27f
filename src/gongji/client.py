"""Signing requests as an institution, for integrators, tests and benchmarks.

    import httpx
    from gongji.client import InstitutionAuth
    client = httpx.Client(base_url="http://127.0.0.1:8000", auth=InstitutionAuth("H1", secret))
    client.post("/api/v1/settlements", json={"visit": ...}, headers={"Idempotency-Key": "k1"})

Each request gets ``X-Inst-Code``, ``X-Timestamp`` (Unix seconds), ``X-Nonce`` (random) and
``X-Signature`` = hex HMAC-SHA256, keyed by the institution's secret, of
``METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nSHA256HEX(BODY)``.
"""

from __future__ import annotations

import secrets
import time

import httpx

from gongji.service.security import sign


def signed_headers(code: str, secret: str, method: str, path: str, body: bytes,
                   timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    return {"X-Inst-Code": code, "X-Timestamp": ts, "X-Nonce": nonce,
            "X-Signature": sign(secret, method, path, ts, nonce, body)}


class InstitutionAuth(httpx.Auth):
    """httpx authentication that signs every request (works with FastAPI's TestClient too)."""

    requires_request_body = True

    def __init__(self, code: str, secret: str) -> None:
        self.code, self.secret = code, secret

    def auth_flow(self, request: httpx.Request):
        request.headers.update(signed_headers(self.code, self.secret, request.method,
                                              request.url.path, request.content))
        yield request


class TifAuth(httpx.Auth):
    """The provincial gateway's ``x-tif-*`` headers (spec 1.2): ``x-tif-signature`` =
    lowercase hex SHA-256 of timestamp + secret + nonce + timestamp; the body is not signed."""

    def __init__(self, paasid: str, secret: str) -> None:
        self.paasid, self.secret = paasid, secret

    def auth_flow(self, request: httpx.Request):
        import hashlib

        ts, nonce = str(int(time.time())), secrets.token_hex(16)
        request.headers.update({
            "x-tif-paasid": self.paasid, "x-tif-timestamp": ts, "x-tif-nonce": nonce,
            "x-tif-signature": hashlib.sha256(f"{ts}{self.secret}{nonce}{ts}".encode()).hexdigest()})
        yield request


class NhsaClient:
    """A hospital's HIS talking to gongji through the national interface, message by message,
    shaped as public HIS code shapes them (docs/nhsa.md). Each call returns the decoded reply
    envelope (numbers as ``Decimal``); ``infcode`` −1 is returned, not raised.

        his = NhsaClient("http://127.0.0.1:8000", "H65280100001", secret)
        his.sign_in()
        person = his.person(certno="652801199001011234")
    """

    def __init__(self, url: str, inst: str, secret: str, *, scheme: str = "tif", paasid: str | None = None,
                 area: str = "652801", path_form: bool = False, name: str = "", client: httpx.Client | None = None,
                 opter: str = "0001") -> None:
        auth: httpx.Auth = TifAuth(paasid or inst, secret) if scheme == "tif" else InstitutionAuth(inst, secret)
        self.http = client or httpx.Client(base_url=url, timeout=60)
        self.http.auth = auth
        self.inst, self.area, self.path_form, self.name, self.opter = inst, area, path_form, name or inst, opter
        self.insuplc = ""
        self.sign_no = ""
        self._seq = secrets.randbelow(10000)  # as real clients: the last 4 digits are random, so runs do not collide

    def msgid(self) -> str:
        """Institution code + ``yyyyMMddHHmmss`` + 4 digits, as real clients make it."""
        from datetime import datetime

        self._seq = (self._seq + 1) % 10000
        return f"{self.inst}{datetime.now().strftime('%Y%m%d%H%M%S')}{self._seq:04d}"

    def envelope(self, infno: str, input_: dict, msgid: str | None = None) -> dict:
        from datetime import datetime

        return {"infno": infno, "msgid": msgid or self.msgid(), "mdtrtarea_admvs": self.area,
                "insuplc_admdvs": "" if infno in ("1101", "9001") else self.insuplc, "recer_sys_code": "YBXT",
                "dev_no": "", "dev_safe_info": "", "cainfo": "", "signtype": "", "infver": "V1.0",
                "opter_type": "1", "opter": self.opter, "opter_name": "收费员",
                "inf_time": datetime.now().strftime("%Y-%m-%d %H:%M:%S"), "fixmedins_code": self.inst,
                "fixmedins_name": self.name, "sign_no": self.sign_no, "input": input_}

    def send(self, envelope: dict) -> dict:
        from gongji.service.nhsa import jsontext

        path = f"/nhsa/{envelope['infno']}" if self.path_form else "/nhsa"
        r = self.http.post(path, content=jsontext.dumps(envelope).encode(),
                           headers={"Content-Type": "application/json"})
        if r.status_code != 200:  # what real HIS software does with anything but 200
            return {"infcode": -1, "err_msg": f"HTTP {r.status_code}", "output": None}
        return jsontext.loads(r.text)

    def call(self, infno: str, input_: dict, msgid: str | None = None) -> dict:
        return self.send(self.envelope(infno, input_, msgid))

    # the visit flow, in the order a HIS runs it
    def sign_in(self) -> dict:
        out = self.call("9001", {"signIn": {"opter_no": self.opter, "mac": "00-16-3E-00-00-01", "ip": "10.0.0.8"}})
        if out.get("infcode") == 0:
            self.sign_no = out["output"]["signinoutb"]["sign_no"]
        return out

    def person(self, certno: str = "", psn_no: str = "") -> dict:
        data = {"psn_no": psn_no} if psn_no else {
            "mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "card_sn": "", "begntime": "",
            "psn_cert_type": "01", "certno": certno, "psn_name": ""}
        out = self.call("1101", {"data": data})
        if out.get("infcode") == 0:
            self.insuplc = out["output"]["insuinfo"][0]["insuplc_admdvs"]
        return out

    def register(self, psn_no: str, insutype: str, certno: str, ipt_otp_no: str, begntime: str) -> dict:
        return self.call("2201", {"data": {
            "psn_no": psn_no, "insutype": insutype, "begntime": begntime, "mdtrt_cert_type": "02",
            "mdtrt_cert_no": certno, "ipt_otp_no": ipt_otp_no, "atddr_no": "D001", "dr_name": "李医生",
            "dept_code": "A01", "dept_name": "内科", "caty": "A03", "expContent": ""}})

    def describe(self, mdtrt_id: str, psn_no: str, med_type: str, begntime: str, diag_code: str = "J06.900",
                 diag_name: str = "急性上呼吸道感染") -> dict:
        return self.call("2203", {
            "mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": psn_no, "med_type": med_type, "begntime": begntime,
                          "main_cond_dscr": "", "dise_codg": "", "dise_name": "", "birctrl_type": "",
                          "birctrl_matn_date": "", "expContent": ""},
            "diseinfo": [{"diag_type": "1", "diag_srt_no": "1", "diag_code": diag_code, "diag_name": diag_name,
                          "diag_dept": "内科", "dise_dor_no": "D001", "dise_dor_name": "李医生",
                          "diag_time": begntime, "vali_flag": "1"}]})

    def upload(self, mdtrt_id: str, psn_no: str, chrg_bchno: str, lines: list[dict], when: str) -> dict:
        """``lines``: dicts with ``feedetl_sn``, ``med_list_codg``, ``cnt``, ``pric`` and
        ``det_item_fee_sumamt`` (Decimal or text), optionally ``rx_circ_flag``, ``hosp_appr_flag``."""
        feedetail = [{"feedetl_sn": ln["feedetl_sn"], "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": chrg_bchno,
                      "dise_codg": "", "rxno": "", "rx_circ_flag": ln.get("rx_circ_flag", "0"), "fee_ocur_time": when,
                      "med_list_codg": ln["med_list_codg"], "medins_list_codg": ln.get("medins_list_codg", "HIS-" + ln["feedetl_sn"]),
                      "det_item_fee_sumamt": ln["det_item_fee_sumamt"], "cnt": ln["cnt"], "pric": ln["pric"],
                      "sin_dos_dscr": "", "used_frqu_dscr": "", "prd_days": "", "medc_way_dscr": "",
                      "bilg_dept_codg": "A01", "bilg_dept_name": "内科", "bilg_dr_codg": "D001", "bilg_dr_name": "李医生",
                      "acord_dept_codg": "", "acord_dept_name": "", "orders_dr_code": "", "orders_dr_name": "",
                      "hosp_appr_flag": ln.get("hosp_appr_flag", "0"), "tcmdrug_used_way": "", "etip_flag": "",
                      "etip_hosp_code": "", "dscg_tkdrug_flag": "", "matn_fee_flag": "", "expContent": ""}
                     for ln in lines]
        return self.call("2204", {"feedetail": feedetail})

    def withdraw(self, mdtrt_id: str, psn_no: str, chrg_bchno: str = "0000") -> dict:
        return self.call("2205", {"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": chrg_bchno, "psn_no": psn_no}})

    def settle_data(self, mdtrt_id: str, psn_no: str, certno: str, med_type: str, medfee_sumamt, chrg_bchno: str,
                    insutype: str, acct_used_flag: str = "1") -> dict:
        return {"psn_no": psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "med_type": med_type,
                "medfee_sumamt": medfee_sumamt, "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": chrg_bchno,
                "acct_used_flag": acct_used_flag, "insutype": insutype, "expContent": ""}

    def preview(self, data: dict) -> dict:
        return self.call("2206", {"data": data})

    def settle(self, data: dict, pre: dict | None = None, msgid: str | None = None) -> dict:
        """2207, copying the four amounts from the 2206 answer as real clients do."""
        info = (pre or {}).get("output", {}).get("setlinfo", {}) if pre else {}
        body = data | {k: info.get(k, "") for k in ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
                                                     "inscp_scp_amt")} | {"invono": ""}
        return self.call("2207", {"data": body}, msgid)

    def cancel(self, setl_id: str, mdtrt_id: str, psn_no: str) -> dict:
        return self.call("2208", {"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn_no, "expContent": ""}})

    def reverse(self, psn_no: str, omsgid: str, oinfno: str = "2207") -> dict:
        return self.call("2601", {"data": {"psn_no": psn_no, "omsgid": omsgid, "oinfno": oinfno}})

    def purchase(self, infno: str, psn_no: str, insutype: str, lines: list[dict], medfee_sumamt, *,
                 invono: str = "", certno: str = "", med_type: str = "41", acct_used_flag: str = "1",
                 begntime: str = "", msgid: str | None = None, rx_circ_flag: str = "") -> dict:
        """A pharmacy purchase: 2101 (preview) or 2102 (settle), the lines inline (``drugdetail``,
        each a dict as for ``upload``). ``rx_circ_flag`` "1" marks the whole purchase as on an
        external prescription (gongji's extension of ``druginfo``)."""
        druginfo = {"psn_no": psn_no, "mdtrt_cert_type": "02" if certno else "99", "mdtrt_cert_no": certno,
                    "begntime": begntime, "medfee_sumamt": medfee_sumamt, "invono": invono, "insutype": insutype,
                    "dise_codg": "", "dise_name": "", "acct_used_flag": acct_used_flag, "med_type": med_type,
                    "expContent": ""} | ({"rx_circ_flag": rx_circ_flag} if rx_circ_flag else {})
        drugdetail = [{"feedetl_sn": ln["feedetl_sn"], "rxno": ln.get("rxno", ""), "rx_circ_flag": ln.get("rx_circ_flag", "0"),
                       "fee_ocur_time": begntime, "med_list_codg": ln["med_list_codg"],
                       "medins_list_codg": ln.get("medins_list_codg", "HIS-" + ln["feedetl_sn"]),
                       "det_item_fee_sumamt": ln["det_item_fee_sumamt"], "cnt": ln["cnt"], "pric": ln["pric"],
                       "sin_dos_dscr": "", "used_frqu_dscr": "", "prd_days": "", "medc_way_dscr": "",
                       "bilg_dr_codg": "", "bilg_dr_name": "", "tcmdrug_used_way": ""} for ln in lines]
        return self.call(infno, {"druginfo": druginfo, "drugdetail": drugdetail}, msgid)

    def cancel_purchase(self, setl_id: str, mdtrt_id: str, psn_no: str) -> dict:
        return self.call("2103", {"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn_no, "expContent": ""}})

    def query(self, psn_no: str, setl_id: str = "", mdtrt_id: str = "") -> dict:
        return self.call("5203", {"data": {"psn_no": psn_no, "setl_id": setl_id, "mdtrt_id": mdtrt_id}})

    def reconcile(self, insutype: str, setl_optins: str, begin: str, end: str, medfee_sumamt, fund_pay_sumamt,
                  acct_pay, count: int, clr_type: str = "11") -> dict:
        return self.call("3201", {"data": {
            "insutype": insutype, "clr_type": clr_type, "setl_optins": setl_optins, "stmt_begndate": begin,
            "stmt_enddate": end, "medfee_sumamt": medfee_sumamt, "fund_pay_sumamt": fund_pay_sumamt,
            "acct_pay": acct_pay, "fixmedins_setl_cnt": count, "refd_setl_flag": "0"}})
