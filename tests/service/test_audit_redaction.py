"""Migration 0006 on a database whose trail the old code wrote (a chosen password in the target
and in the payload digest): the secrets go, the chain is linked again and verifies, and the
rewrite is an audit entry of its own."""

from __future__ import annotations

import secrets

import pytest
from alembic import command
from sqlalchemy import select
from sqlalchemy.engine import make_url

from gongji.service import audit
from gongji.service.facade import Service
from gongji.service.uow import run
from gongji.store import models as m
from gongji.store.db import alembic_config, make_engine

PASSWORD = "gongji-demo"
OLD_ROWS = [  # (actor, action, target, payload) as the code before 0006 wrote them
    ("system", "register_institution", "H1", {"args": [{"code": "H1"}], "result": {"code": "H1"}}),
    ("cli", "add_staff", "cli1:clerk", {"args": ["cli1", "clerk"]}),  # a made-up password: nothing kept
    ("system", "add_staff", f"demo-clerk:clerk:{PASSWORD}", {"args": ["demo-clerk", "clerk", PASSWORD]}),
    ("system", "new_institution_secret", "H1", {"args": ["H1"]}),
    ("system", "set_person_password", f"65280001:{PASSWORD}", {"args": ["65280001", PASSWORD]}),
    ("system", "add_cashier", f"demo-cashier:H1:{PASSWORD}", {"args": ["demo-cashier", "H1", PASSWORD]}),
    ("staff:admin1", "set_suspended", "H1:True", {"args": ["H1", True]}),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request, tmp_path):
    """An engine on a database with no schema at all."""
    if request.param == "sqlite":
        engine = make_engine(str(tmp_path / "old.db"))
        yield engine
        engine.dispose()
        return
    server = make_url(request.getfixturevalue("pg_url"))
    name = f"gongji_redaction_{secrets.token_hex(4)}"
    admin = make_engine(server.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = make_engine(server.set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _trail(engine) -> list:
    A = m.AuditEntry
    with engine.connect() as conn:
        return conn.execute(select(A.id, A.actor, A.action, A.target, A.payload_digest, A.hash).order_by(A.id)).all()


def test_old_secrets_are_redacted_and_the_chain_verifies(fresh) -> None:
    cfg = alembic_config(fresh)
    command.upgrade(cfg, "0005")
    run(fresh, lambda uow: audit.append_many(uow, OLD_ROWS, areas=False))  # no audit.admdvs before 0008
    before = _trail(fresh)
    assert sum(PASSWORD in r.target for r in before) == 3

    command.upgrade(cfg, "head")
    after = _trail(fresh)
    assert [(r.id, r.action) for r in after[:-1]] == [(r.id, r.action) for r in before]
    assert after[:2] == before[:2]  # the rows before the first secret are untouched
    assert [r.target for r in after[:-1]] == ["H1", "cli1:clerk", "demo-clerk:clerk", "H1", "65280001",
                                              "demo-cashier:H1", "H1:True"]
    for old, new in zip(before, after[:-1], strict=True):
        if old.target != new.target:
            assert new.payload_digest == audit.digest({"args": new.target.split(":")})
    assert not [r for r in after if PASSWORD in "".join(map(str, r))]
    assert all(a.hash != b.hash for a, b in zip(before[2:], after[2:-1], strict=True))  # linked again

    event = after[-1]
    old_head = before[-1].hash
    assert (event.actor, event.action) == ("migration 0006", "redact_secrets")
    assert event.target == f"3 rows from 3; old head {old_head}"
    assert event.payload_digest == audit.digest({"rewritten": [3, 5, 6], "old_head": old_head})
    assert Service(fresh).verify() == []
