"""Backup and restore round trip on both databases, then verify; restore refuses a used database."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy.engine import make_url

from gongji.calc_format import load_document
from gongji.replay import final_state, replay
from gongji.service.facade import Service
from gongji.store.backup import BackupError, backup, restore
from gongji.store.db import make_engine
from tests.service.test_verify import STORY


def test_round_trip(engine, tmp_path, request) -> None:
    original = replay(load_document(STORY.read_text(encoding="utf-8")), engine)["final"]
    url = engine.url.render_as_string(hide_password=False)
    file = tmp_path / "gongji.backup"
    backup(url, file)
    if engine.dialect.name == "sqlite":
        target = str(tmp_path / "restored.db")
        drop = None
    else:
        name = f"gongji_restore_{secrets.token_hex(4)}"
        admin = make_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.exec_driver_sql(f'CREATE DATABASE "{name}"')
        target = make_url(url).set(database=name).render_as_string(hide_password=False)

        def drop():
            with admin.connect() as c:
                c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
    try:
        restore(target, file)
        restored = make_engine(target)
        svc = Service(restored)
        assert svc.verify() == []
        assert final_state(svc) == original
        with pytest.raises(BackupError, match="not empty|already exists"):
            restore(target, file)
        restored.dispose()
    finally:
        if drop:
            drop()
