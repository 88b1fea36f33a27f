"""Review of the national interface (9cb399d..993f67d): each test states a problem found, and fails
until it is fixed."""

from __future__ import annotations

import hashlib
import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import text

from gongji.service import security
from tests.api.nhsa_his import balance, his, visit
from tests.api.test_nhsa_query import CERT_A, DAY, DRUG, OWN, Site, ok


def test_a_2207_resent_after_its_2601_is_not_answered_as_settled(setup) -> None:
    """messages.once replays the stored "settled" reply for a msgid whose booking a 2601 undid:
    ``reversed_by`` is written but never read. A duplicate of the 2207 delivered after the 2601
    (a client or gateway retry of the original request) gets infcode 0, the setl_id and no
    warning, so the HIS books a fund payment the platform no longer makes. The 2601-first order
    is refused (REVERSED_FIRST) and the REST path says ``reversed``; this order must not claim
    success silently either."""
    api = setup
    h = his(api)
    _, data = visit(h)
    lost = h.msgid()
    assert h.settle(data, msgid=lost)["infcode"] == 0
    assert h.reverse("P2", lost)["infcode"] == 0 and balance(api, "P1") == "3000.00"
    again = h.settle(data, msgid=lost)
    assert again["infcode"] == -1 or (again["warn_msg"] and "撤销" in again["warn_msg"]), again


def test_a_2207_resent_after_2208_says_the_settlement_is_cancelled(setup) -> None:
    """The same for a settlement cancelled by 2208: the same-msgid retry answers "settled" with no
    warning, while a new msgid for the same batch is told it was cancelled."""
    api = setup
    h = his(api)
    mdtrt_id, data = visit(h)
    msgid = h.msgid()
    setl_id = h.settle(data, msgid=msgid)["output"]["setlinfo"]["setl_id"]
    assert h.cancel(setl_id, mdtrt_id, "P2")["infcode"] == 0
    again = h.settle(data, msgid=msgid)
    assert again["infcode"] == -1 or (again["warn_msg"] and "撤销" in again["warn_msg"]), again


def test_a_rest_reversal_of_an_nhsa_settlement_leaves_its_fee_lines_consistent(setup) -> None:
    """POST /api/v1/settlements/{id}/reverse (and the cashier page) reverse a settlement made by
    2207 through ``settlements.reverse`` only: its fee lines stay ``settled`` under a reversed
    settlement. ``gongji verify`` then reports it, the batch can never be settled again under its
    number, and 2202 refuses the visit as "已结算" for ever."""
    api = setup
    h = his(api)
    mdtrt_id, data = visit(h)
    setl_id = h.settle(data)["output"]["setlinfo"]["setl_id"]
    r = api.inst("H1").post(f"/api/v1/settlements/{setl_id}/reverse", headers={"Idempotency-Key": "rev-1"})
    assert r.status_code == 200, r.text
    assert balance(api, "P1") == "3000.00"
    assert api.service.verify() == []
    cancel_reg = h.call("2202", {"data": {"psn_no": "P2", "mdtrt_id": mdtrt_id, "ipt_otp_no": "OP1"}})
    assert cancel_reg["infcode"] == 0, cancel_reg


def test_a_2203_cannot_retype_a_pharmacy_visit_so_a_2102_retry_never_charges_twice(engine) -> None:
    """A pharmacy purchase's visit was an ordinary open visit: 2203 could retype it (med_type 11),
    and a 2102 retried with a new msgid for the same invoice then booked the purchase a second
    time. Now the outpatient transactions refuse a purchase's visit."""
    site = Site(engine)
    shop = site.his["Y1"]
    before = site.balance()
    buy = {"invono": "INV777", "certno": CERT_A, "begntime": f"{DAY} 10:00:00"}
    info = ok(shop.purchase("2102", "A", "310", [DRUG, OWN], Decimal("55.20"), msgid="Y1REV0001", **buy))["setlinfo"]
    charged = before - site.balance()
    assert charged > 0
    retype = shop.describe(info["mdtrt_id"], "A", "11", f"{DAY} 10:00:00")
    assert retype["infcode"] == -1 and "药店购药" in retype["err_msg"]
    retry = shop.purchase("2102", "A", "310", [DRUG, OWN], Decimal("55.20"), msgid="Y1REV0002", **buy)
    assert before - site.balance() == charged, "the same invoice was charged twice"
    assert retry["infcode"] == -1 or ok(retry)["setlinfo"]["setl_id"] == info["setl_id"]


def test_a_2601_racing_a_2208_still_succeeds(engine) -> None:
    """2601 promises success in every case ("so a HIS after a timeout can always clear it"), and a
    2208 of an already cancelled settlement answers its record with a warning. On PostgreSQL both
    read the settlement as valid without a lock, then wait for the persons' locks in
    ``settlements.reverse``; the second one to get them finds it reversed and raises
    ALREADY_REVERSED: an infcode −1 to a HIS whose cancellation did happen."""
    if engine.dialect.name == "sqlite":
        pytest.skip("the race needs concurrent writers (PostgreSQL)")
    import httpx

    from tests.api.nhsa_his import CheckedClient
    from tests.api.server import serving

    site = Site(engine)
    first = site.outpatient("H1", "A", "OP1", "B1", msgid="H1RACE2601")["output"]["setlinfo"]
    secret = site.his["H1"].http.auth.secret
    replies: dict[str, dict] = {}
    with serving(site.world.app) as base, engine.connect() as holder:
        # hold the person row, as a long settlement of A's would
        holder.execute(text("SELECT psn_no FROM persons WHERE psn_no = 'A' FOR UPDATE"))

        def send(name: str, call) -> None:
            with httpx.Client(base_url=base, timeout=60) as http:
                replies[name] = call(CheckedClient(base, "H1", secret, client=http))

        threads = [threading.Thread(target=send, args=("2208", lambda h: h.cancel(first["setl_id"], first["mdtrt_id"], "A"))),
                   threading.Thread(target=send, args=("2601", lambda h: h.reverse("A", "H1RACE2601")))]
        for t in threads:
            t.start()
        time.sleep(1.5)  # both have read the settlement as valid and wait for A's row
        holder.rollback()
        for t in threads:
            t.join(60)
    assert replies["2208"]["infcode"] == 0 and replies["2601"]["infcode"] == 0, replies
    assert site.svc.verify() == []


def test_a_tif_nonce_is_not_forgotten_while_its_timestamp_is_still_accepted(setup, monkeypatch) -> None:
    """x-tif nonces are kept 2 × max(WINDOW, CLOCK_SKEW), but every HMAC request purges the shared
    nonce table after 2 × CLOCK_SKEW. With GONGJI_TIF_WINDOW above 300 s, a request signed with a
    timestamp ahead of the server's clock is forgotten by the next HMAC request and can be replayed
    while its timestamp is still inside the window."""
    from gongji.api.nhsa import auth

    api = setup
    engine = api.service.engine
    monkeypatch.setattr(security, "TIF_WINDOW", 900)
    secret = security.institution_secret(engine, "H1")
    t0 = int(time.time())
    ts = str(t0 + 800)  # the HIS's clock runs 800 s ahead: accepted (≤ 900)
    sig = hashlib.sha256(f"{ts}{secret}n-replay{ts}".encode()).hexdigest()
    assert auth.check_tif(engine, "H1", ts, "n-replay", sig, t0) == (None, "H1")
    later = t0 + 700  # an ordinary HMAC request of any institution arrives, and purges
    hmac_nonce, hmac_ts = "h-1", str(later)
    hmac_sig = security.sign(secret, "POST", "/nhsa", hmac_ts, hmac_nonce, b"{}")
    assert security.check_signature(engine, "H1", hmac_ts, hmac_nonce, hmac_sig, "POST", "/nhsa", b"{}", later) is None
    replay = auth.check_tif(engine, "H1", ts, "n-replay", sig, later)  # |later − ts| = 100 s: in the window
    assert replay[0] == "REPLAYED_NONCE", replay
