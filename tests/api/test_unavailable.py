"""A database that cannot be reached (a failover under way: no primary for some seconds) is a 503
with Retry-After and one warning line, never a 500 with a traceback: the HIS retries with its key."""

from __future__ import annotations

import logging

from fastapi.testclient import TestClient

from gongji.app import create_app
from gongji.client import InstitutionAuth
from gongji.store.db import make_engine
from tests.api.test_rest import VISIT

NOWHERE = "postgresql://postgres@127.0.0.1:1/gongji?connect_timeout=1"  # nothing listens on port 1


def test_no_database_is_a_503_to_retry(caplog) -> None:
    engine = make_engine(NOWHERE)
    client = TestClient(create_app(engine), raise_server_exceptions=False)
    client.auth = InstitutionAuth("H1", "0" * 64)
    with caplog.at_level(logging.WARNING):
        r = client.post("/api/v1/settlements", json={"visit": VISIT}, headers={"Idempotency-Key": "k1"})
        health = client.get("/healthz")
        client.cookies.set("gongji_session", "x")
        page = client.get("/portal")
    assert r.status_code == 503 and r.headers["Retry-After"] == "1", r.text
    assert r.json()["code"] == "DB_UNAVAILABLE" and "Idempotency-Key" in r.json()["detail"]
    assert health.status_code == 503
    assert page.status_code == 503 and "数据库切换中" in page.text  # a page says it in Chinese
    assert not [rec for rec in caplog.records if rec.exc_info], "no traceback for an unreachable database"
    assert any("database unavailable" in rec.getMessage() for rec in caplog.records)
    engine.dispose()
