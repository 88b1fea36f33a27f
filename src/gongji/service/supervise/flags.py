"""The flags' side of a run: merge a rule's findings into ``supervision_flags`` without
duplicates, and remember what each run covered."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import Connection, Table, insert, select, update

from gongji.policy.supervision import Rule
from gongji.service.supervise.rules import Hit
from gongji.store import models as m

FLAGS: Table = m.SupervisionFlag.__table__  # type: ignore[assignment]
EVIDENCE: Table = m.FlagEvidence.__table__  # type: ignore[assignment]
RUNS: Table = m.SupervisionRun.__table__  # type: ignore[assignment]
CHUNK = 500


def last_run(conn: Connection):
    """The last finished run without dates: its mark is where an incremental run reads on from (a run
    with dates read only its period, so its mark says nothing of the settlements outside it)."""
    return conn.execute(select(RUNS).where(RUNS.c.finished_at.is_not(None), RUNS.c.date_from.is_(None),
                                           RUNS.c.date_to.is_(None)).order_by(RUNS.c.id.desc()).limit(1)).first()


def record_run(conn: Connection, started: datetime, finished: datetime, by: str, date_from: date | None,
               date_to: date | None, upto: int, today: date, new: int, extended: int) -> None:
    conn.execute(insert(RUNS).values(started_at=started, finished_at=finished, by=by, date_from=date_from,
                                     date_to=date_to, upto_id=upto, reversals_since=today, flags_new=new,
                                     flags_extended=extended))


class Known(NamedTuple):
    id: int
    subject: str
    period_start: date
    period_end: date
    state: str
    psn_nos: list[str]
    admdvs: str | None


def _combined(hits: list[Hit]) -> list[Hit]:
    """A run's findings of one subject that overlap in time, as one."""
    out: list[Hit] = []
    for h in sorted(hits, key=lambda h: (h.subject, h.start, h.end)):
        last = out[-1] if out else None
        if last and last.subject == h.subject and h.start <= last.end:
            if len(h.ids) > len(last.ids):
                last.amount, last.measure, last.reason = h.amount, h.measure, h.reason
            last.end = max(last.end, h.end)
            last.ids = sorted(set(last.ids) | set(h.ids))
            last.psn_nos = list(dict.fromkeys(last.psn_nos + h.psn_nos))
        else:
            out.append(Hit(h.subject, list(h.psn_nos), h.fixmedins, h.region, h.start, h.end, list(h.ids), h.amount,
                           dict(h.measure), h.reason))
    return out


def _chunks(values: list) -> list[list]:
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


def _areas(conn: Connection, hits: list[Hit]) -> dict[str, str]:
    """Each person's and institution's admdvs, for the staff-area filter on flags."""
    people = sorted({p for h in hits for p in h.psn_nos})
    places = sorted({h.fixmedins for h in hits if h.fixmedins})
    out: dict[str, str] = {}
    for chunk in _chunks(people):
        out.update(conn.execute(select(m.Person.psn_no, m.Person.insu_admdvs).where(m.Person.psn_no.in_(chunk))).all())
    for chunk in _chunks(places):
        out.update(conn.execute(select(m.Institution.code, m.Institution.admdvs)
                                .where(m.Institution.code.in_(chunk))).all())
    return out


def merge(conn: Connection, rule: Rule, hits: list[Hit], today: date) -> dict[str, int]:
    hits = _combined(hits)
    subjects = sorted({h.subject for h in hits})
    existing: dict[str, list] = defaultdict(list)
    for chunk in _chunks(subjects):
        for row in conn.execute(select(FLAGS.c.id, FLAGS.c.subject, FLAGS.c.period_start, FLAGS.c.period_end,
                                       FLAGS.c.state, FLAGS.c.psn_nos, FLAGS.c.admdvs)
                                .where(FLAGS.c.rule == rule.id, FLAGS.c.subject.in_(chunk))):
            existing[row.subject].append(row)
    named = {f.id: (list(f.psn_nos or []), f.admdvs) for rows in existing.values() for f in rows}  # as they grow
    evidence: dict[int, set[int]] = defaultdict(set)
    for chunk in _chunks([f.id for rows in existing.values() for f in rows]):
        for flag_id, sid in conn.execute(select(EVIDENCE.c.flag_id, EVIDENCE.c.settlement_id)
                                         .where(EVIDENCE.c.flag_id.in_(chunk))):
            evidence[flag_id].add(sid)
    areas = _areas(conn, hits)
    new = extended = 0
    for h in hits:
        near = [f for f in existing[h.subject] if f.period_start <= h.end and f.period_end >= h.start]
        open_ = next((f for f in near if f.state == "open"), None)
        if open_ is not None:
            more = sorted(set(h.ids) - evidence[open_.id])
            start, end = min(open_.period_start, h.start), max(open_.period_end, h.end)
            had, where = named[open_.id]
            people = list(dict.fromkeys([*had, *h.psn_nos]))  # a relative who joined the pattern is named
            if not more and (start, end) == (open_.period_start, open_.period_end) and people == had:
                continue
            values = {"period_start": start, "period_end": end, "updated_on": today}
            if people != had:
                zones = {c for c in (where or "").split(",") if c} | {areas[p] for p in people if areas.get(p)}
                named[open_.id] = (people, ",".join(sorted(zones)) or None)
                values |= {"psn_nos": people, "admdvs": named[open_.id][1]}
            if len(h.ids) >= len(evidence[open_.id]):
                values |= {"amount": h.amount, "measure": h.measure, "reason": h.reason}
            conn.execute(update(FLAGS).where(FLAGS.c.id == open_.id).values(**values))
            if more:
                conn.execute(insert(EVIDENCE), [{"flag_id": open_.id, "settlement_id": i} for i in more])
                evidence[open_.id].update(more)
            extended += 1
            continue
        seen = set().union(*(evidence[f.id] for f in near)) if near else set()
        if near and set(h.ids) <= seen:
            continue  # decided already, on this very evidence
        codes = [areas.get(p) for p in h.psn_nos] + ([areas.get(h.fixmedins)] if not h.psn_nos and h.fixmedins else [])
        admdvs = ",".join(sorted({c for c in codes if c})) or None
        flag_id = conn.execute(insert(FLAGS).values(
            rule=rule.id, severity=rule.severity, subject=h.subject, psn_nos=h.psn_nos, fixmedins=h.fixmedins,
            region=h.region, admdvs=admdvs, period_start=h.start,
            period_end=h.end, amount=h.amount, measure=h.measure, reason=h.reason, state="open", found_on=today,
            updated_on=today).returning(FLAGS.c.id)).scalar_one()
        conn.execute(insert(EVIDENCE), [{"flag_id": flag_id, "settlement_id": i} for i in h.ids])
        evidence[flag_id] = set(h.ids)
        existing[h.subject].append(Known(flag_id, h.subject, h.start, h.end, "open", h.psn_nos, admdvs))
        named[flag_id] = (list(h.psn_nos), admdvs)
        new += 1
    return {"new": new, "extended": extended}
