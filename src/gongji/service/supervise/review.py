"""The review side of fund supervision: the flags the rules found, read by the agency's staff of
their area, decided (confirmed or excluded, with a reason), and a confirmed one turned into a
sanction through the sanction use case, in one transaction. Every decision is audited by the
facade that runs it."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, BinaryIO

from sqlalchemy import ColumnElement, case, func, or_, select, true
from sqlalchemy.orm import selectinload

from gongji.domain.errors import DomainError
from gongji.domain.money import format_yuan
from gongji.policy.loader import PolicyError
from gongji.policy.supervision import SEVERITIES, SEVERITY_ZH, load_rules
from gongji.service import audit, people, scope
from gongji.service.bindings import view as binding_view
from gongji.service.commands import FlagDecision, FlagSanction, SanctionCmd
from gongji.service.common import Ctx
from gongji.service.queries import page, settlement_view
from gongji.service.uow import UnitOfWork
from gongji.store import models as m

OPEN, CONFIRMED, EXCLUDED, SANCTIONED = "open", "confirmed", "excluded", "sanctioned"
STATES = (OPEN, CONFIRMED, EXCLUDED, SANCTIONED)
STATE_ZH = {OPEN: "待处理", CONFIRMED: "已确认", EXCLUDED: "已排除", SANCTIONED: "已处罚"}
DECISIONS = {"confirm": CONFIRMED, "exclude": EXCLUDED}
SUBJECT_ZH = {"person": "参保人", "family": "家庭", "institution": "定点医药机构", "cashier": "收费员"}
REASON_MAX = 200
SANCTION_DAYS = 365  # a prefilled sanction runs a year from today; the supervisor may change it
EXPORT_MAX = 10_000


@lru_cache(maxsize=1)
def rule_names() -> dict[str, str]:
    """Each rule's Chinese name by its id (policies/supervision.yaml)."""
    try:
        return {r.id: r.name for r in load_rules()}
    except PolicyError:  # a broken file fails its own check; the desk still lists the flags
        return {}


# --- who may see which flag ----------------------------------------------------------------

def flag_filter(area: str) -> ColumnElement[bool]:
    """Flags of the area: ``admdvs`` holds the codes of its persons (or its institution), comma-separated
    as the engine writes them (``supervise.flags.merge``)."""
    if area == scope.NATIONAL:
        return true()
    col = m.SupervisionFlag.admdvs
    return or_(col.like(f"{area}%"), col.like(f"%,{area}%"))


def codes(admdvs: str | None) -> list[str]:
    return [c for c in (admdvs or "").split(",") if c]


def _in_area(area: str, row: m.SupervisionFlag) -> bool:
    return area == scope.NATIONAL or any(scope.in_area(area, code.strip()) for code in codes(row.admdvs))


def _unknown(flag_id: int) -> DomainError:
    return DomainError("UNKNOWN_FLAG", f"查无此监管线索 {flag_id}", "flag_id")


def _get(uow: UnitOfWork, flag_id: int, lock: bool = False) -> m.SupervisionFlag:
    row = uow.session.get(m.SupervisionFlag, flag_id, with_for_update=lock or None) \
        if 0 < flag_id <= 2**31 - 1 else None
    if row is None:
        raise _unknown(flag_id)
    return row


def see_flag(uow: UnitOfWork, area: str, flag_id: int) -> None:
    """A flag outside the area reads as unknown (``scope.guard`` runs it)."""
    if not _in_area(area, _get(uow, flag_id)):
        raise _unknown(flag_id)


def act_on_flag(uow: UnitOfWork, area: str, flag_id: int) -> None:
    if not _in_area(area, _get(uow, flag_id)):
        raise scope.OutOfArea("该监管线索")


def sanction_flag_in(uow: UnitOfWork, area: str, flag_id: int) -> None:
    """Sanctioning from a flag: the flag, and the person it would stop, in the area (as the
    office's sanction form asks of the person)."""
    act_on_flag(uow, area, flag_id)
    scope.act_on(uow, area, _sanctioned(_get(uow, flag_id)))


# --- reads ---------------------------------------------------------------------------------

def view(row: m.SupervisionFlag, today: date | None = None) -> dict:
    kind, _, ident = row.subject.partition(":")
    out = {
        "id": row.id, "rule": row.rule, "rule_name": rule_names().get(row.rule, row.rule),
        "severity": row.severity, "severity_zh": SEVERITY_ZH.get(row.severity, row.severity),
        "subject": row.subject, "subject_kind": kind, "subject_id": ident,
        "subject_zh": SUBJECT_ZH.get(kind, kind), "psn_nos": list(row.psn_nos or []),
        "fixmedins": row.fixmedins, "region": row.region, "admdvs": row.admdvs,
        "period_start": row.period_start.isoformat(), "period_end": row.period_end.isoformat(),
        "amount": format_yuan(row.amount or 0), "measure": dict(row.measure or {}), "reason": row.reason,
        "state": row.state, "state_zh": STATE_ZH.get(row.state, row.state),
        "found_on": row.found_on.isoformat(), "updated_on": row.updated_on.isoformat(),
        "decided_by": row.decided_by, "decided_on": row.decided_on.isoformat() if row.decided_on else None,
        "decision_reason": row.decision_reason, "sanction_id": row.sanction_id,
    }
    if today is not None:
        out["age_days"] = (today - row.found_on).days
    return out


def _listed(area: str, state: str | None, rule: str | None, severity: str | None):
    q = select(m.SupervisionFlag).where(flag_filter(area))
    if state:
        q = q.where(m.SupervisionFlag.state == state)
    if rule:
        q = q.where(m.SupervisionFlag.rule == rule)
    if severity:
        q = q.where(m.SupervisionFlag.severity == severity)
    order = case({s: i for i, s in enumerate(SEVERITIES)}, value=m.SupervisionFlag.severity, else_=len(SEVERITIES))
    return q.order_by(order, m.SupervisionFlag.found_on, m.SupervisionFlag.id)


def flags(uow: UnitOfWork, today: date, *, area: str = scope.NATIONAL, state: str | None = OPEN,
          rule: str | None = None, severity: str | None = None, limit: int = 50, offset: int = 0) -> dict:
    """Flags by the filters, within the area: the most severe first, the oldest first within."""
    limit, offset = page(limit, offset)
    q = _listed(area, state, rule, severity)
    total = uow.session.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0
    rows = uow.session.scalars(q.limit(limit).offset(offset))
    return {"total": total, "items": [view(r, today) for r in rows]}


def flag(uow: UnitOfWork, today: date, flag_id: int, area: str = scope.NATIONAL) -> dict:
    """One flag with what a clerk needs to judge it: the evidence settlements with their lines and
    who paid in them, the bindings of the family, and this year's mutual-aid used by each member."""
    row = _get(uow, flag_id)
    if not _in_area(area, row):
        raise _unknown(flag_id)
    s = uow.session
    out = view(row, today)
    evidence = s.scalars(select(m.Settlement).join(m.FlagEvidence, m.FlagEvidence.settlement_id == m.Settlement.id)
                         .where(m.FlagEvidence.flag_id == row.id)
                         .options(selectinload(m.Settlement.items), selectinload(m.Settlement.mulaid))
                         .order_by(m.Settlement.setl_date, m.Settlement.id))
    out["evidence"] = [settlement_view(x) for x in evidence]
    named = set(out["psn_nos"]) | ({out["subject_id"]} if out["subject_kind"] in ("person", "family") else set())
    bindings = list(s.scalars(select(m.Binding).where(
        or_(m.Binding.holder.in_(named), m.Binding.beneficiary.in_(named))).order_by(m.Binding.id))) if named else []
    out["bindings"] = [binding_view(x, today) for x in bindings]
    family = sorted(named | {x.holder for x in bindings} | {x.beneficiary for x in bindings})
    used = {u.psn_no: u for u in s.scalars(select(m.YearUsage).where(
        m.YearUsage.psn_no.in_(family), m.YearUsage.year == today.year))} if family else {}
    out["usage_year"] = today.year
    out["usage"] = [{"psn_no": p,
                     "received": format_yuan(used[p].mulaid_received + used[p].zeroed_received if p in used else 0),
                     "paid": format_yuan(used[p].mulaid_paid + used[p].zeroed_paid if p in used else 0)}
                    for p in family]
    out["people"] = family
    out["sanction_to"] = _sanctioned(row)
    return out


def _sanctioned(row: m.SupervisionFlag) -> list[str]:
    """Whom a sanction from this flag would stop: the person, or the family's holder."""
    kind, _, ident = row.subject.partition(":")
    if kind in ("person", "family") and ident:
        return [ident]
    return []


def weekly(uow: UnitOfWork, today: date, weeks: int = 12, area: str = scope.NATIONAL) -> dict:
    """Flags found per rule per week (weeks start on Monday), the last ``weeks`` weeks to today."""
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    rows = uow.session.execute(select(m.SupervisionFlag.rule, m.SupervisionFlag.found_on)
                               .where(flag_filter(area), m.SupervisionFlag.found_on >= first,
                                      m.SupervisionFlag.found_on <= today))
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * weeks)
    for rule, found_on in rows:
        counts[rule][(found_on - first).days // 7] += 1
    names = rule_names()
    order = [r for r in names if r in counts] + sorted(r for r in counts if r not in names)
    return {"weeks": [(first + timedelta(days=7 * i)).isoformat() for i in range(weeks)],
            "rules": [{"rule": r, "name": names.get(r, r), "counts": counts[r]} for r in order]}


def all_flags(uow: UnitOfWork, today: date, *, area: str = scope.NATIONAL, state: str | None = OPEN,
              rule: str | None = None, severity: str | None = None) -> list[dict]:
    """Every flag the filters select, for the export (bounded: a sheet is read by people)."""
    rows = uow.session.scalars(_listed(area, state, rule, severity).limit(EXPORT_MAX))
    return [view(r, today) for r in rows]


# --- decisions -----------------------------------------------------------------------------

def _reason(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise DomainError("INVALID_INPUT", "请填写处理理由", "reason")
    if len(text) > REASON_MAX:
        raise DomainError("INVALID_INPUT", f"处理理由不能超过 {REASON_MAX} 个字", "reason")
    return text


def decide_flag(uow: UnitOfWork, ctx: Ctx, c: FlagDecision) -> dict:
    """Confirm or exclude an open flag, with the reason; a decided flag stays as decided."""
    reason = _reason(c.reason)
    row = _get(uow, c.flag_id, lock=True)
    if row.state != OPEN:
        raise DomainError("NOT_PENDING", f"监管线索 {row.id} 已处理({STATE_ZH.get(row.state, row.state)}),"
                          "不能再次确认或排除", "flag_id")
    row.state = DECISIONS[c.decision]
    row.decided_by, row.decided_on, row.decision_reason, row.updated_on = ctx.actor, ctx.day, reason, ctx.day
    return {"flag_id": row.id, "state": row.state, "reason": reason}


def sanction_terms(registry, row_view: dict, today: date) -> dict:
    """The sanction a supervisor is offered for a confirmed flag: whom, from today for a year, and
    the reasons to choose from (the region's list, then the flag's own)."""
    try:
        reasons = list(registry.find(row_view["region"]).value("sanction_reasons", today))
    except PolicyError:
        reasons = []
    own = row_view["reason"][:REASON_MAX]
    return {"psn_nos": row_view.get("sanction_to") or [], "from": today.isoformat(),
            "to": (today + timedelta(days=SANCTION_DAYS - 1)).isoformat(),
            "reasons": reasons + ([own] if own not in reasons else []), "reason": reasons[0] if reasons else own}


def sanction_flag(uow: UnitOfWork, ctx: Ctx, c: FlagSanction) -> dict:
    """A confirmed flag becomes a sanction of its person (a family's: the holder) through
    ``people.sanction``, and the flag ``sanctioned``, in this one transaction."""
    row = _get(uow, c.flag_id, lock=True)
    if row.state != CONFIRMED:
        raise DomainError("NOT_PENDING", f"监管线索 {row.id} {STATE_ZH.get(row.state, row.state)},"
                          "须先确认才能转为处罚", "flag_id")
    whom = _sanctioned(row)
    if not whom:
        raise DomainError("INVALID_INPUT", "定点医药机构或收费员的线索不能转为对参保人的暂停共济,"
                          "请按机构监管的程序处理", "flag_id")
    terms = sanction_terms(ctx.registry, view(row), ctx.day)
    start = c.from_ or ctx.day
    end = c.to or date.fromisoformat(terms["to"])
    if end < start:
        raise DomainError("INVALID_INPUT", "终止日期不能早于起始日期", "to")
    reason = (c.reason or "").strip() or terms["reason"]
    if len(reason) > REASON_MAX:
        raise DomainError("INVALID_INPUT", f"处罚原因不能超过 {REASON_MAX} 个字", "reason")
    cmd = SanctionCmd(psn_no=whom[0], reason=reason, **{"from": start, "to": end})
    done = people.sanction(uow, ctx, cmd)
    uow.session.flush()
    sanction_id = uow.session.scalar(select(m.Sanction.id).where(m.Sanction.psn_no == whom[0])
                                     .order_by(m.Sanction.id.desc()).limit(1))
    # the person's own trail shows the sanction as the office's form records it
    audit.append(uow, ctx.actor, "sanction", cmd.psn_no,
                 {"args": [cmd.model_dump(mode="json", by_alias=True)], "result": done, "flag_id": row.id})
    row.state, row.sanction_id, row.updated_on = SANCTIONED, sanction_id, ctx.day
    return {"flag_id": row.id, "state": row.state, "sanction_id": sanction_id} | done


# --- the export ----------------------------------------------------------------------------

HEADERS = ("编号", "规则", "风险等级", "对象", "参保人", "定点医药机构", "统筹区", "起始日期", "终止日期",
           "金额(元)", "理由", "状态", "发现日期", "处理人", "处理日期", "处理意见")
FORMULA_START = ("=", "+", "-", "@")


def flags_xlsx(out: BinaryIO, rows: list[dict]) -> None:
    """The flags as a sheet: every cell text (amounts ``1234.56``), never a formula."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    sheet = wb.create_sheet("监管线索")
    bold = Font(bold=True)

    def cells(values: list[Any], font: Font | None = None) -> list:
        made = []
        for value in values:
            text = "" if value is None else str(value)
            cell = WriteOnlyCell(sheet, value=text)
            cell.data_type = "s"  # never a formula, whatever the text begins with
            cell.quotePrefix = text.startswith(FORMULA_START)
            if font is not None:
                cell.font = font
            made.append(cell)
        return made

    sheet.append(cells(list(HEADERS), bold))
    for f in rows:
        sheet.append(cells([
            f["id"], f["rule_name"], f["severity_zh"], f"{f['subject_zh']} {f['subject_id']}",
            "、".join(f["psn_nos"]), f["fixmedins"], f["region"], f["period_start"], f["period_end"],
            f["amount"], f["reason"], f["state_zh"], f["found_on"], f["decided_by"], f["decided_on"],
            f["decision_reason"]]))
    wb.save(out)


def last_run(uow: UnitOfWork) -> dict | None:
    """The last finished run of the rules: when, by whom, what it found."""
    row = uow.session.scalars(select(m.SupervisionRun).where(m.SupervisionRun.finished_at.is_not(None))
                              .order_by(m.SupervisionRun.id.desc()).limit(1)).first()
    if row is None or row.finished_at is None:
        return None
    return {"finished_at": row.finished_at.strftime("%Y-%m-%d %H:%M"), "by": row.by, "new": row.flags_new,
            "extended": row.flags_extended}
