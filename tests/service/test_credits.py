"""Monthly credits import: whole-file check first, batches, applied exactly once."""

from __future__ import annotations

import pytest

from gongji.service import commands as c
from gongji.service.credits import CreditsFileError
from gongji.service.uow import run
from gongji.store import models as m
from tests.service.helpers import service

GOOD = "psn_no,amount,period\nA,100.00,2025-03\nB,25.5,2025-03\n\nA,100,2025-04\n"


def people(svc) -> None:
    for no, kind in (("A", "310"), ("B", "310"), ("R", "390")):
        svc.register_person(c.RegisterPerson(psn_no=no, insutype=kind, insu_admdvs="652801"))


def balances(engine) -> dict:
    return run(engine, lambda uow: {a.psn_no: a.balance for a in uow.session.query(m.Account)
                                    if a.psn_no}, write=False)


def test_every_bad_row_is_listed_and_nothing_applied(engine) -> None:
    svc = service(engine)
    people(svc)
    bad = ("psn_no,amount,period\nA,100.00,2025-03\nZ,1.00,2025-03\nA,12.345,2025-03\n"
           "R,5.00,2025-03\nB,5.00,2025-13\nA,1.00,2025-03\nB,-1,2025-03\nB,1.00\n")
    with pytest.raises(CreditsFileError) as e:
        svc.import_credits(bad.encode(), "bad.csv")
    lines = [p.split(":")[0] for p in e.value.problems]
    assert sorted(lines) == sorted(["第 3 行", "第 4 行", "第 5 行", "第 6 行", "第 7 行", "第 8 行", "第 9 行"])
    assert balances(engine) == {"A": 0, "B": 0}


def test_same_file_twice_is_applied_once(engine) -> None:
    svc = service(engine)
    people(svc)
    seen = []
    first = svc.import_credits(GOOD.encode(), "march.csv", batch_size=2,
                               progress=lambda n, total: seen.append((n, total)))
    assert first["applied"] == 3 and not first["already_imported"]
    assert seen == [(2, 3), (1, 3)]
    again = svc.import_credits(GOOD.encode(), "march-copy.csv")
    assert again["applied"] == 0 and again["already_imported"]
    assert balances(engine) == {"A": 20000, "B": 2550}
    assert svc.verify() == []


def test_a_crash_half_way_resumes_without_double_credit(engine) -> None:
    svc = service(engine)
    people(svc)

    def crash(n, total):
        raise KeyboardInterrupt  # the process dies after the first batch committed

    with pytest.raises(KeyboardInterrupt):
        svc.import_credits(GOOD.encode(), "march.csv", batch_size=2, progress=crash)
    assert balances(engine) == {"A": 10000, "B": 2550}
    resumed = svc.import_credits(GOOD.encode(), "march.csv", batch_size=2)
    assert resumed["applied"] == 1
    assert balances(engine) == {"A": 20000, "B": 2550}
    assert svc.verify() == []


def test_header_and_encoding_are_checked(engine) -> None:
    svc = service(engine)
    with pytest.raises(CreditsFileError, match="表头"):
        svc.import_credits(b"id,amount\nA,1\n", "x.csv")
    with pytest.raises(CreditsFileError, match="UTF-8"):
        svc.import_credits("psn_no,amount,period\n张,1,2025-01\n".encode("gbk"), "x.csv")
