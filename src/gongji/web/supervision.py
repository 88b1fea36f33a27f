"""Fund supervision at the desk: the flags the rules found in the staff member's area, most severe
and oldest first, with a chart of flags per rule per week and an Excel export; one flag with its
evidence, where clerks and supervisors confirm or exclude it and a supervisor turns a confirmed
one into a sanction. Auditors read; persons, institutions and cashiers never see a flag."""

from __future__ import annotations

import io
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from gongji.domain.errors import DomainError
from gongji.domain.labels import LIST_CLASS_ZH
from gongji.gate.auth import Principal
from gongji.gate.params import FlagId
from gongji.policy.supervision import SEVERITIES, SEVERITY_ZH
from gongji.service import commands as c
from gongji.service import queries as q
from gongji.service.supervise import review
from gongji.web.audit import actor_words
from gongji.web.chart import colour, weekly_bars
from gongji.web.common import back, guard, page, render, svc
from gongji.web.forms import FlagDecisionForm, FlagSanctionForm, form

router = APIRouter(include_in_schema=False)
READERS = ("clerk", "supervisor", "auditor")
DECIDERS = ("clerk", "supervisor")
PER_PAGE = 50
State = Literal["open", "confirmed", "excluded", "sanctioned", "all"]
Rule = Annotated[str | None, Query(max_length=40, pattern=r"^[a-z0-9_]*$")]
Severity = Literal["high", "medium", "low", ""] | None
PageNo = Annotated[int, Query(ge=1, le=10**6, alias="page")]
DONE = {"confirm": "已确认该线索:主管可将其转为处罚。", "exclude": "已排除该线索。"}


def _filters(state: str, rule: str | None, severity: str | None) -> dict:
    return {"state": None if state == "all" else state, "rule": rule or None, "severity": severity or None}


@router.get("/desk/supervision", response_class=HTMLResponse)
def flags_page(request: Request, state: State = "open", rule: Rule = None, severity: Severity = None,
               page_no: PageNo = 1, who: Principal = Depends(page(*READERS))):
    s = svc(request)
    found = s.flags(who.area, **_filters(state, rule, severity), limit=PER_PAGE, offset=(page_no - 1) * PER_PAGE)
    pages = max(1, -(-found["total"] // PER_PAGE))
    if page_no > pages:
        raise DomainError("NOT_FOUND", "没有这一页", "page")
    weeks = s.flag_weeks(who.area)
    chart = weekly_bars(weeks["weeks"], weeks["rules"], "近 12 周每周发现的监管线索(按规则)")
    legend = [(colour(i), r["name"], sum(r["counts"])) for i, r in enumerate(weeks["rules"])]
    last = s.last_supervision()
    if last:
        last["by"] = actor_words(last["by"])  # 工作人员 demo-supervisor, not staff:demo-supervisor
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "page"])
    return render(request, "supervision.html", who, found=found, chart=chart, legend=legend, last=last,
                  can_run=who.role == "supervisor",
                  names=s.read(q.names_of, {f["subject_id"] for f in found["items"]
                                            if f["subject_kind"] in ("person", "family")}),
                  chosen={"state": state, "rule": rule or "", "severity": severity or ""},
                  rules=list(review.rule_names().items()), severities=[(v, SEVERITY_ZH[v]) for v in SEVERITIES],
                  states=list(review.STATE_ZH.items()) + [("all", "全部")], page_no=page_no, pages=pages,
                  query=query, export=f"/desk/supervision.xlsx?{query}" if query else "/desk/supervision.xlsx")


@router.get("/desk/supervision.xlsx")
def flags_export(request: Request, state: State = "open", rule: Rule = None, severity: Severity = None,
                 who: Principal = Depends(page(*READERS))):
    out = io.BytesIO()
    svc(request).flags_xlsx(out, who.area, **_filters(state, rule, severity))
    return Response(out.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="supervision-flags.xlsx"',
                             "Cache-Control": "no-store"})


@router.get("/desk/supervision/{flag_id}", response_class=HTMLResponse)
def flag_page(request: Request, flag_id: FlagId, who: Principal = Depends(page(*READERS))):
    s = svc(request)
    f = s.flag(flag_id, who.area)  # outside the area: 查无此监管线索, as if unknown
    people = set(f["people"]) | {e["psn_no"] for e in f["evidence"]} | \
        {d["holder"] for e in f["evidence"] for d in e["mulaid_detail"]}
    terms = review.sanction_terms(s.registry, f, s.clock()) if f["state"] == review.CONFIRMED else None
    return render(request, "flag.html", who, f=f, names=s.read(q.names_of, people), terms=terms, list_class=LIST_CLASS_ZH,
                  decided_by=actor_words(f["decided_by"]) if f["decided_by"] else "",
                  can_decide=who.role in DECIDERS and f["state"] == review.OPEN,
                  can_sanction=who.role == "supervisor" and terms is not None and bool(terms["psn_nos"]))


@router.post("/desk/supervision/{flag_id}/decision")
def flag_decide(request: Request, flag_id: FlagId, who: Principal = Depends(page(*DECIDERS)),
                f: FlagDecisionForm = form(FlagDecisionForm)):
    guard(request, who, review.act_on_flag, flag_id)  # outside the try: a 403 page, not a flash
    here = f"/desk/supervision/{flag_id}"
    try:
        svc(request).decide_flag(c.FlagDecision(flag_id=flag_id, decision=f.decision, reason=f.reason),
                                 actor=who.actor)
    except DomainError as e:
        return back(request, here, error=e)
    return back(request, here, text=DONE[f.decision])


@router.post("/desk/supervision/{flag_id}/sanction")
def flag_sanction(request: Request, flag_id: FlagId, who: Principal = Depends(page("supervisor")),
                  f: FlagSanctionForm = form(FlagSanctionForm)):
    guard(request, who, review.sanction_flag_in, flag_id)
    here = f"/desk/supervision/{flag_id}"
    try:
        out = svc(request).sanction_flag(c.FlagSanction.model_validate(
            {"flag_id": flag_id, "from": f.from_, "to": f.to, "reason": f.reason}), actor=who.actor)
    except DomainError as e:
        return back(request, here, error=e)
    return back(request, here, text=f"已转为处罚:暂停 {out['psn_no']} 的家庭共济 {out['from']} 至 {out['to']},"
                                    f"原因:{out['reason']}")


@router.post("/desk/supervision/run")
def run_rules(request: Request, who: Principal = Depends(page("supervisor"))):
    """A supervisor runs the rules now, on what is new since the last run (the server also runs
    them each night)."""
    from gongji.service.supervise.engine import Busy
    try:
        out = svc(request).supervise(actor=who.actor)
    except Busy:
        return back(request, "/desk/supervision", text="另一个监管任务正在运行,请稍后再看结果。")
    return back(request, "/desk/supervision",
                text=f"监管规则已运行:新增线索 {out['new']} 条,扩展 {out['extended']} 条,用时 {out['seconds']:.1f} 秒。")
