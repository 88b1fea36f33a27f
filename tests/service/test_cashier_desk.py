"""The cashier's desk reads: the catalogue found by code, name or pinyin initials for a region and
a day; the institution's settlement history by date, patient and number, a page at a time."""

from __future__ import annotations

from datetime import date

import pytest

from gongji.demo import catalog_csv
from gongji.domain.errors import DomainError
from gongji.service import cashier_history, catalog_search
from gongji.service import commands as c
from tests.service.helpers import family, service, visit

HEADER = ("med_list_codg,name,med_chrgitm_type,chrgitm_lv,selfpay_prop,pric_uplmt_amt,lmt_used_flag,category,"
          "admdvs,begndate,enddate\n")


def find(svc, text: str, region: str = "652801", day: str = "2025-03-03", limit: int = 10) -> list:
    return svc.read(catalog_search.search, svc.catalog_index, region, date.fromisoformat(day), text, limit)


def test_initials_of_a_name() -> None:
    assert catalog_search.initials("血常规") == "xcg"
    assert catalog_search.initials("阿莫西林胶囊(演示用)X-1") == "amxljnysyx1"


def test_search_by_code_name_and_initials_in_force_for_the_region_and_day(engine) -> None:
    svc = service(engine)
    svc.import_catalog(catalog_csv())
    first = find(svc, "xcg")[0]
    assert (first.code, first.list_class, first.category) == ("DEMO-X001", "A", "exam")
    assert first.name.startswith("血常规")
    assert find(svc, "amxl")[0].code == "DEMO-D001"
    assert find(svc, "ＡＭＸＬ")[0].code == "DEMO-D001"  # full width and capitals too
    assert find(svc, "阿莫西林")[0].code == "DEMO-D001"
    assert find(svc, "demo-x002")[0].code == "DEMO-X002" and find(svc, "DEMO-X002")[0].cap == "180.00"
    assert find(svc, "DEMO-D001")[0].cap is None  # 999999 is "no cap"
    assert [h.code for h in find(svc, "DEMO-D", limit=3)] == ["DEMO-D001", "DEMO-D002", "DEMO-D003"]
    assert find(svc, "  ") == [] and find(svc, "没有这种药") == []
    # a region's own line wins (文山: 针灸 甲类), and a later national version from its start
    assert find(svc, "DEMO-T001")[0].list_class == "B"
    assert find(svc, "DEMO-T001", region="532601")[0].list_class == "A"
    assert find(svc, "xbdp", day="2025-06-30")[0].selfpay_prop == "0.10"
    assert find(svc, "xbdp", day="2025-07-01")[0].selfpay_prop == "0.05"
    # an import is seen at once
    svc.import_catalog((HEADER + "NEW-1,血常规五分类,04,02,0.10,,0,,,2025-01-01,\n").encode())
    assert [h.code for h in find(svc, "xcg")] == ["DEMO-X001", "NEW-1"]


def test_a_large_catalogue_is_read_once_per_region_and_day_and_answers_at_most_the_limit(engine) -> None:
    svc = service(engine)
    names = ("阿莫西林胶囊", "血常规", "头孢克肟片", "布洛芬缓释胶囊", "复方丹参滴丸")
    lines = [f"G{i:05d},{names[i % len(names)]}{i},09,0{1 + i % 3},0,,0,,,2024-01-01," for i in range(20000)]
    svc.import_catalog((HEADER + "\n".join(lines) + "\n").encode(), batch_size=5000)
    day = date(2025, 3, 3)
    found = svc.read(catalog_search.search, svc.catalog_index, "652801", day, "amxl")
    assert len(found) == catalog_search.LIMIT and all(h.name.startswith("阿莫西林胶囊") for h in found)
    kept = svc.read(lambda uow: svc.catalog_index.lines(uow, "652801", day))
    assert len(kept) == 20000
    assert svc.read(lambda uow: svc.catalog_index.lines(uow, "652801", day)) is kept  # not read again
    assert svc.read(lambda uow: svc.catalog_index.lines(uow, "652801", date(2025, 3, 4))) is not kept


def test_history_filters_pages_and_keeps_to_the_institution(engine) -> None:
    svc = service(engine, "2025-03-01")
    family(svc, "5000.00", beneficiaries=2)
    svc.register_institution(c.RegisterInstitution(code="C2", level=1, admdvs="652801", kind="hospital"))
    svc.register_person(c.RegisterPerson(psn_no="N1", insutype="310", insu_admdvs="652801", name="王小明",
                                         balance="100.00"))
    ids = []
    for day in range(1, 26):  # 25 at C1 over 25 days; one at C2
        svc.clock.day = date(2025, 3, day)
        ids.append(svc.settle(f"k{day}", visit("B1" if day % 2 else "N1", f"{day}.00"))["setl_id"])
    svc.settle("other", visit("B1", "9.00", fixmedins="C2"))
    svc.reverse(ids[0])

    def history(**kw) -> dict:
        return svc.read(cashier_history.history, "C1", **kw)

    everything = history()
    assert (everything["total"], everything["pages"], len(everything["items"])) == (25, 2, 20)
    assert everything["items"][0]["setl_id"] == ids[-1]  # newest first
    last = history(page=2)
    assert [r["setl_id"] for r in last["items"]] == list(reversed(ids[:5]))
    assert last["items"][-1]["state"] == "reversed" and everything["items"][0]["state"] == "settled"
    assert last["items"][-1]["medfee_sumamt"] == "1.00"
    assert history(start=date(2025, 3, 10), end=date(2025, 3, 12))["total"] == 3
    by_name = history(patient="王小明")
    assert by_name["total"] == 12 and {r["psn_no"] for r in by_name["items"]} == {"N1"}
    assert by_name["items"][0]["name"] == "王小明"  # in full: the cashier calls the patient by it
    assert history(patient="B1")["total"] == 13
    one = history(setl_id=ids[3].lower())["items"]
    assert [r["setl_id"] for r in one] == [ids[3]]
    assert history(setl_id="S99999999")["total"] == 0 and history(setl_id="胡乱")["total"] == 0
    other = svc.read(cashier_history.history, "C2")
    assert other["total"] == 1 and other["items"][0]["setl_id"] not in ids
    empty = history(patient="nobody")
    assert (empty["total"], empty["pages"], empty["items"]) == (0, 1, [])
    for bad in ({"page": 0}, {"start": date(2025, 3, 5), "end": date(2025, 3, 1)}):
        with pytest.raises(DomainError, match="INVALID_INPUT"):
            history(**bad)
