"""The insurance catalogue: a file checked whole (every problem by line, nothing applied), upserted
by (code, region, start), and looked up by the longest region prefix, then the latest start."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from gongji.demo import catalog_csv, load
from gongji.service import catalog
from gongji.service.clock import FixedClock
from gongji.service.facade import Service
from gongji.service.uow import run
from gongji.store import models as m

HEADER = ("med_list_codg,name,med_chrgitm_type,chrgitm_lv,selfpay_prop,pric_uplmt_amt,lmt_used_flag,category,"
          "admdvs,begndate,enddate\n")


def csv(*lines: str, header: str = HEADER) -> bytes:
    return (header + "\n".join(lines) + "\n").encode()


def test_every_problem_is_listed_by_line_and_nothing_parsed() -> None:
    data = csv("XA01,阿莫西林,09,02,0.05,,0,,,2025-01-01,",          # line 2: fine
               "XA02,=HYPERLINK(1),15,4,1.5,-1,2,spa,1234567,2025-02-30,",  # line 3: everything wrong
               "XA01,阿莫西林,09,2,0.10,,,,,2025-01-01 00:00:00,",   # line 4: duplicate of line 2
               "XA03,药,09,02,0.12345,1.1234567,0,,65,2025-03-01,2025-02-01",  # line 5
               "XA04,药,09,02,0.1")                                  # line 6: too few fields
    rows, problems = catalog.parse(data)
    assert rows == []
    assert "第 3 行 chrgitm_lv:应为 01/02/03" in problems
    for field in ("name", "med_chrgitm_type", "selfpay_prop", "pric_uplmt_amt", "lmt_used_flag", "category",
                  "admdvs", "begndate"):
        assert any(p.startswith(f"第 3 行 {field}:") for p in problems), field
    assert any(p.startswith("第 4 行:XA01") and "与第 2 行重复" in p for p in problems)
    assert {p.split(":")[0] for p in problems if p.startswith("第 5 行")} == {
        "第 5 行 selfpay_prop", "第 5 行 pric_uplmt_amt", "第 5 行 enddate"}
    assert any(p.startswith("第 6 行:应有 11 列") for p in problems)
    assert not any(p.startswith("第 2 行") for p in problems)


def test_header_encoding_defaults_and_padding() -> None:
    rows, problems = catalog.parse(csv("A,x,1,1,0,,,,,2025-01-01,"))
    assert problems == [] and (rows[0].med_chrgitm_type, rows[0].chrgitm_lv, rows[0].category) == ("01", "01", "treatment")
    no_category = HEADER.replace("category,", "")
    text = no_category + "XA01,黄芪饮片,10,2,0.05,999999,,65,2025-01-01 08:30:00,\nXB01,彩超,3,1,0,12.345678,1,,2025-01-01,\n"
    for data in (text.encode("utf-8-sig"), text.encode("gbk")):
        rows, problems = catalog.parse(data)
        assert problems == []
        a, b = rows
        assert (a.chrgitm_lv, a.category, a.lmt_used_flag, a.pric_uplmt_amt, a.begndate) == \
            ("02", "tcm", "0", 999999 * 10**6, date(2025, 1, 1))
        assert (b.med_chrgitm_type, b.category, b.pric_uplmt_amt, b.admdvs) == ("03", "exam", 12345678, "")
    assert catalog.parse(b"code,name\nX,y\n")[1][0].startswith("第 1 行:表头应为")
    assert catalog.parse(HEADER.encode())[1] == ["第 2 行:文件没有目录行 / no catalogue lines"]


def test_a_bad_file_applies_nothing(engine) -> None:
    svc = Service(engine)
    with pytest.raises(catalog.CatalogFileError) as e:
        svc.import_catalog(csv("XA01,药,09,02,0.05,,0,,,2025-01-01,", "XA02,药,09,07,0.05,,0,,,2025-01-01,"))
    assert e.value.problems == ["第 3 行 chrgitm_lv:应为 01/02/03"]
    assert run(engine, lambda uow: uow.session.scalar(select(func.count()).select_from(m.CatalogEntry)), False) == 0


def test_apply_supersede_by_date_and_region_prefix(engine) -> None:
    svc = Service(engine)
    seen: list[tuple[int, int]] = []
    first = svc.import_catalog(csv(
        "XA01,阿莫西林,09,02,0.10,,0,,,2025-01-01,",
        "XA01,阿莫西林,09,02,0.05,,0,,,2025-07-01,",      # later start, every region: supersedes
        "XA01,阿莫西林,09,01,0,,0,,65,2025-01-01,",        # Xinjiang: class A
        "XA01,阿莫西林,09,03,1,,0,,6528,2025-01-01,2025-06-30",  # Bayingolin, first half: class C
        "XB02,彩超,03,02,0.1,180,0,,,2025-01-01,"), batch_size=2,
        progress=lambda n, total: seen.append((n, total)))
    assert first == {"rows": 5, "added": 5, "replaced": 0, "unchanged": 0}
    assert seen == [(2, 5), (2, 5), (1, 5)]

    def look(region: str, day: date):
        return run(engine, lambda uow: catalog.lookup(uow.session, ["XA01", "XB02", "NOPE"], region, day), False)

    got = look("532601", date(2025, 3, 1))
    assert set(got) == {"XA01", "XB02"} and got["XA01"].selfpay_prop == Decimal("0.10")
    assert look("532601", date(2025, 7, 1))["XA01"].selfpay_prop == Decimal("0.05")
    assert look("652801", date(2025, 3, 1))["XA01"].chrgitm_lv == "03"  # longest prefix: 6528
    assert look("652801", date(2025, 7, 1))["XA01"].chrgitm_lv == "01"  # 6528 ended: 65
    assert look("650102", date(2025, 3, 1))["XA01"].chrgitm_lv == "01"
    assert look("532601", date(2024, 12, 31)).get("XA01") is None
    assert look("532601", date(2025, 3, 1))["XB02"].pric_uplmt_amt == Decimal(180)
    again = svc.import_catalog(csv("XA01,阿莫西林,09,02,0.10,,0,,,2025-01-01,",
                                   "XB02,彩超,03,02,0.1,150.5,0,,,2025-01-01,",
                                   "XC03,针灸,05,02,0.05,,0,tcm,,2025-01-01,"))
    assert again == {"rows": 3, "added": 1, "replaced": 1, "unchanged": 1}
    assert look("532601", date(2025, 3, 1))["XB02"].pric_uplmt_amt == Decimal("150.5")
    count = run(engine, lambda uow: uow.session.scalar(select(func.count()).select_from(m.CatalogEntry)), False)
    assert count == 6
    trail = run(engine, lambda uow: list(uow.session.scalars(
        select(m.AuditEntry.action).where(m.AuditEntry.action == "apply_catalog"))), False)
    assert len(trail) == 4  # every batch is audited


def test_demo_loads_its_catalogue_and_classifies_by_it(engine) -> None:
    today = date(2025, 12, 15)
    clock = FixedClock(today)
    svc = Service(engine, clock=clock)
    counts = load(svc, clock, today, days=45)
    rows, _ = catalog.parse(catalog_csv())
    assert counts["catalog"] == len(rows) >= 12 and all(r.med_list_codg.startswith("DEMO-") for r in rows)
    assert all("演示用" in r.name for r in rows)

    def by(uow):
        return dict(uow.session.execute(select(m.SettlementItem.classified_by, func.count())
                                        .group_by(m.SettlementItem.classified_by)).all())

    made = run(engine, by, False)
    assert made.get("catalog", 0) > 0 and made.get("caller", 0) > 0
    assert svc.verify() == []
