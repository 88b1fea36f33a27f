"""Finding an insured person (clerks, supervisors; auditors read) and the person's page: who they
are, their account and caps this year, their bindings both ways, their settlements. Only persons
of the staff member's area are found; any other reads as unknown."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from gongji.domain import labels
from gongji.domain.errors import DomainError
from gongji.domain.labels import INSUTYPE_ZH as INSUTYPE_WORDS
from gongji.domain.labels import MED_TYPE_ZH
from gongji.gate.auth import Principal
from gongji.service import directory, scope
from gongji.service import queries as q
from gongji.web.common import caps_shown, guard, page, render, svc
from gongji.web.staffforms import Filled, SearchForm, filled

router = APIRouter(include_in_schema=False)
READERS = ("clerk", "supervisor", "auditor")
PER_PAGE = 20
STATUS_ZH = {"active": "正常参保", "transferred": "医保关系已转移", "interrupted": "参保中断", "deceased": "已身故"}
CAP_LABELS = (("beneficiary_year", "家人为其支付(年度)"), ("beneficiary_year_chronic", "含慢特病额外额度"),
              ("holder_year", "其为家人支付(年度)"))
PageNo = Annotated[int, Query(ge=1, le=10**6, alias="page")]


@router.get("/people", response_class=HTMLResponse)
def search_page(request: Request, who: Principal = Depends(page(*READERS))):
    return render(request, "people.html", who, values={"q": ""}, errors={}, found=None)


@router.post("/people", response_class=HTMLResponse)
def search(request: Request, who: Principal = Depends(page(*READERS)), f: Filled[SearchForm] = filled(SearchForm)):
    """A form sent by POST: a name or ID-card number typed here never reaches a URL or a log line."""
    found = None
    if f.form is not None:
        found = svc(request).read(directory.search_persons, who.area, f.form.q, 50)
    return render(request, "people.html", who, status=f.status, values={"q": ""} | f.values,
                  errors=f.errors, found=found, status_zh=STATUS_ZH, region=_region_names(request),
                  insutype_words=INSUTYPE_WORDS)


@router.get("/people/{psn_no}", response_class=HTMLResponse)
def person_page(request: Request, psn_no: str, page_no: PageNo = 1,
                paid_page: Annotated[int, Query(ge=1, le=10**6)] = 1, who: Principal = Depends(page(*READERS))):
    if not 0 < len(psn_no) <= 64 or "\x00" in psn_no:
        raise DomainError("UNKNOWN_PERSON", "查无此参保人", "psn_no")
    s = svc(request)
    today = s.clock()
    guard(request, who, scope.see_person, psn_no)  # outside the area: 查无此参保人, as if unknown
    person = s.read(q.person_view, psn_no, unmasked=True)
    person["certno"] = q.mask_certno(person["certno"])  # staff see the name; the number stays masked
    person["phone"] = q.mask_phone(person["phone"])
    account = s.read(q.account_view, s.registry, psn_no, today)
    bindings = s.read(q.bindings_list, today, person_no=psn_no, limit=200)["items"]
    others = {b["holder"] for b in bindings} | {b["beneficiary"] for b in bindings}
    own, paid = _paged(request, psn_no=psn_no, at=page_no), _paged(request, payer=psn_no, at=paid_page)
    names = s.read(q.names_of, others | {psn_no} | {p["psn_no"] for p in paid["items"]})  # one query
    return render(request, "person.html", who, person=person, account=account, caps=_caps(account),
                  region=_region_names(request)[person["insu_admdvs"]], status_zh=STATUS_ZH,
                  as_holder=[b for b in bindings if b["holder"] == psn_no],
                  as_beneficiary=[b for b in bindings if b["beneficiary"] == psn_no],
                  names=names, own=own, paid=paid, page_no=page_no, paid_page=paid_page,
                  setl_state=labels.SETTLEMENT_STATE_ZH, med_type=MED_TYPE_ZH, insutype_words=INSUTYPE_WORDS)


def _paged(request: Request, at: int, **whose: str) -> dict:
    """One page of the person's settlements: as the patient, or paid for from their account."""
    found = svc(request).read(q.settlements_of, **whose, limit=PER_PAGE, offset=(at - 1) * PER_PAGE)
    found["pages"] = max(1, -(-found["total"] // PER_PAGE))
    if at > found["pages"]:
        raise DomainError("NOT_FOUND", "没有这一页", "page")
    return found


def _region_names(request: Request) -> dict[str, str]:
    """Region names by admdvs code, from the GB/T 2260 table (``domain.labels``), looked up as needed."""

    class Names(dict):
        def __missing__(self, admdvs: str) -> str:
            return labels.region_name(admdvs)

    return Names()


def _caps(account: dict) -> list[tuple[str, dict]]:
    out = caps_shown(account, CAP_LABELS)
    settlement = account["caps"].get("settlement")
    if settlement is not None:
        out.append(("单次共济限额", {"cap": None, "note": f"{settlement['cap']} 元" if settlement["cap"] else "不设上限"}))
    return out
