"""A HIS against ``gongji serve`` in its own process, as a hospital meets it: both authentication
schemes, the single URL and the Guangdong path form, a retry with a new msgid, 2601 after a lost
answer, 2208, 3201 over the day, and refusals that are still HTTP 200 envelopes; then
``gongji verify`` on the database."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import httpx

from gongji.client import NhsaClient
from gongji.service import ledger, security
from gongji.service.clock import CHINA
from gongji.service.uow import run
from tests.api.live import live_server
from tests.api.nhsa_his import catalogue, visit
from tests.api.test_rest import family


def balance(engine, psn_no: str = "P1") -> int:
    return run(engine, lambda uow: ledger.balance(uow.session, psn_no), write=False)


def test_a_his_settles_through_a_real_server(api, tmp_path) -> None:
    engine = api.service.engine
    family(api)
    catalogue(engine)
    secret = security.institution_secret(engine, "H1")
    assert secret
    with live_server(engine, tmp_path) as live:
        tif = NhsaClient(live.url, "H1", secret)  # x-tif headers, one URL for every infno
        signed = NhsaClient(live.url, "H1", secret, scheme="hmac", path_form=True)  # HMAC, /nhsa/{infno}

        # a visit settles; the HIS's retry with a new msgid books nothing
        _, first = visit(tif)
        settled = tif.settle(first)
        assert settled["infcode"] == 0 and balance(engine) == 274500
        retry = tif.settle(first)
        assert retry["infcode"] == 0 and retry["warn_msg"] and balance(engine) == 274500
        assert retry["output"]["setlinfo"]["setl_id"] == settled["output"]["setlinfo"]["setl_id"]

        # the answer to a 2207 is lost: 2601 by its msgid gives back every fen, once
        _, second = visit(signed, otp="OP2")
        lost = signed.msgid()
        assert signed.settle(second, msgid=lost)["infcode"] == 0 and balance(engine) == 249000
        assert signed.reverse("P2", lost)["infcode"] == 0 and balance(engine) == 274500
        assert signed.reverse("P2", lost)["infcode"] == 0 and balance(engine) == 274500

        # a third is cancelled by 2208
        mdtrt_id, third = visit(tif, otp="OP3")
        cancel_me = tif.settle(third)["output"]["setlinfo"]["setl_id"]
        assert tif.cancel(cancel_me, mdtrt_id, "P2")["infcode"] == 0 and balance(engine) == 274500

        # the day's totals: the one settlement still valid (a resident: no own account)
        today = datetime.now(CHINA).date().isoformat()
        agreed = tif.reconcile("390", "652801", today, today, "450.00", "145.00", "0.00", 1)
        assert agreed["output"]["stmtinfo"]["stmt_rslt"] == "0", agreed
        counted_all = signed.reconcile("390", "652801", today, today, "1350.00", "435.00", "0.00", 3)
        assert counted_all["output"]["stmtinfo"]["stmt_rslt"] == "1"

        # refusals a HIS can read: HTTP 200, infcode -1, a Chinese err_msg
        sign_in = tif.envelope("9001", {"signIn": {"opter_no": "1", "mac": "m", "ip": "i"}})
        unsigned = httpx.post(f"{live.url}/nhsa", json=sign_in)
        truncated = tif.http.post("/nhsa", content=b'{"infno": "9001", "msgid": "H1x", "input": {', headers={
            "Content-Type": "application/json"})
        unknown = tif.call("9999", {})
        for r in (unsigned, truncated):
            assert r.status_code == 200 and r.json()["infcode"] == -1 and r.json()["err_msg"]
        assert unknown["infcode"] == -1 and "9999" in unknown["err_msg"]
        assert "Traceback" not in live.log()
    db = engine.url.render_as_string(hide_password=False)
    checked = subprocess.run([sys.executable, "-m", "gongji.cli", "verify", "--db", db], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
