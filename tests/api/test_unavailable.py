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


def test_a_province_down_leaves_the_worker_in_rotation(tmp_path) -> None:
    """/healthz, routed: 200 "degraded" naming the province that is down, so a load balancer
    keeps the worker for the others; 503 only when no province answers, or for the one asked."""
    from gongji.service.facade import Service
    from gongji.service.provinces import Provinces
    from gongji.store.db import migrate

    up = make_engine(str(tmp_path / "p53.db"))
    migrate(up)
    down = make_engine(NOWHERE)
    provinces = Provinces({"53": Service(up), "65": Service(down)})
    client = TestClient(create_app(None, provinces=provinces), raise_server_exceptions=False)
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "degraded", "provinces": {"53": "ok", "65": "unavailable"}}
    assert client.get("/healthz", headers={"X-Insuplc-Admdvs": "652801"}).status_code == 503
    assert client.get("/healthz", headers={"X-Insuplc-Admdvs": "532601"}).status_code == 200
    provinces.dispose()
