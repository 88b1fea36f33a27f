"""The audit chain as the server writes it (``audit_append``, PostgreSQL) is the chain Python
writes and ``verify`` recomputes: the same links, byte for byte, in any text."""

from __future__ import annotations

import re
import threading

from sqlalchemy import select

from gongji.service import audit
from gongji.service.uow import run
from gongji.store import models as m

ODD = [("张三(P1)", "settle", "B1:P1", {"金额": "12.30", "note": "a\nb"}),
       ("", "x", "", {}),
       ("clerk\\n", "review", "binding:7", ["é", "\u00a0", "𠀀"])]


def _rows(engine):
    with engine.connect() as c:
        return c.execute(select(m.AuditEntry.__table__).order_by(m.AuditEntry.id)).all()


def test_server_links_are_the_python_links(engine) -> None:
    run(engine, lambda uow: audit.append_many(uow, ODD))
    run(engine, lambda uow: audit.append_many(uow, ODD[:1]))
    rows = _rows(engine)
    assert len(rows) == 4
    prev = audit.GENESIS
    for r in rows:
        assert r.prev_hash == prev
        assert r.hash == audit.link(prev, r.at, r.actor, r.action, r.target, r.payload_digest)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+08:00", r.at), r.at
        prev = r.hash
    assert [r.actor for r in rows] == [e[0] for e in ODD] + [ODD[0][0]]
    assert [r.payload_digest for r in rows[:3]] == [audit.digest(e[3]) for e in ODD]
    with engine.connect() as c:
        assert audit.verify_chain(c) == []
        head = c.execute(select(m.AuditHead.__table__)).one()
    assert (head.last_id, head.last_hash) == (rows[-1].id, rows[-1].hash)


def test_writers_at_once_make_one_line_in_time_order(engine) -> None:
    """Eight threads append at once: one chain, no fork, times never going back along it."""
    def write(k: int) -> None:
        for i in range(5):
            entries = [(f"w{k}", "x", f"t{i}", {"i": i})] * 2
            run(engine, lambda uow, entries=entries: audit.append_many(uow, entries))

    failed: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            write(k)
        except BaseException as e:  # noqa: BLE001 - reported below
            failed.append(e)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failed == []
    rows = _rows(engine)
    assert len(rows) == 80
    assert [r.at for r in rows] == sorted(r.at for r in rows)
    with engine.connect() as c:
        assert audit.verify_chain(c) == []
