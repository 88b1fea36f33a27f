"""An institution's x-tif paasid: set through an audited call, and how a request's paasid finds
the institution (``security.institution_by_paasid``)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gongji.domain.errors import DomainError
from gongji.service import commands as c
from gongji.service import security
from gongji.service.facade import Service
from gongji.store import models as m


def _service(engine) -> Service:
    s = Service(engine)
    for code in ("H1", "H2", "H3"):
        s.register_institution(c.RegisterInstitution(code=code, level=2, admdvs="652801", kind="hospital"))
    return s


def test_by_paasid_then_by_code_else_none(engine) -> None:
    s = _service(engine)
    secret = s.secure(security.new_institution_secret, "H1")
    assert security.institution_by_paasid(engine, "H1") == ("H1", secret, False)  # no paasid: the code serves
    s.secure(security.set_paasid, "H1", "gw.h1")
    assert security.institution_by_paasid(engine, "gw.h1") == ("H1", secret, False)
    assert security.institution_by_paasid(engine, "H1") is None  # another paasid is registered
    s.secure(security.set_paasid, "H2", "H2")  # its own code, registered as such
    assert security.institution_by_paasid(engine, "H2") == ("H2", None, False)
    s.secure(security.set_suspended, "H3", True)
    assert security.institution_by_paasid(engine, "H3") == ("H3", None, True)
    assert security.institution_by_paasid(engine, "NOPE") is None
    s.secure(security.set_paasid, "H1", None)
    assert security.institution_by_paasid(engine, "H1") == ("H1", secret, False)
    assert security.institution_by_paasid(engine, "gw.h1") is None


def test_a_paasid_is_checked_unique_and_audited(engine) -> None:
    s = _service(engine)
    s.secure(security.set_paasid, "H1", "gw.h1", actor="staff:admin")
    for code, paasid, field in (("H2", "gw.h1", "paasid"), ("H2", "H3", "paasid"), ("H2", "", "paasid"),
                                ("H2", "a/b", "paasid"), ("H2", "x" * 65, "paasid"), ("NOPE", "p", "code")):
        with pytest.raises(DomainError) as e:
            s.secure(security.set_paasid, code, paasid)
        assert e.value.field == field
    s.secure(security.set_paasid, "H1", "gw.h1")  # setting its own again is no conflict
    with engine.connect() as conn:
        assert conn.scalar(select(m.Institution.paasid).where(m.Institution.code == "H1")) == "gw.h1"
        rows = conn.execute(select(m.AuditEntry.actor, m.AuditEntry.target)
                            .where(m.AuditEntry.action == "set_paasid")).all()
    assert [tuple(r) for r in rows] == [("staff:admin", "H1:gw.h1"), ("system", "H1:gw.h1")]
