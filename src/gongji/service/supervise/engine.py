"""Run the supervision rules over the settlements: ``gongji supervise``, and the server after each
day closes.

A run reads only what is new since the last one: the settlements with ids above the last run's
mark, their persons' (or paying holders') windows reaching back as far as a rule's window, and
for the per-month rules every month they touch. ``date_from``/``date_to`` instead rescan a period
whole. Each rule's findings are merged into the flags in one transaction of their own:

- a finding overlapping an *open* flag of the same rule and subject extends it (its period and
  evidence grow; nothing is duplicated, so a run twice changes nothing);
- a finding whose settlements are all evidence of a decided flag (confirmed, excluded,
  sanctioned) of that rule and subject is not raised again; with new ones it is a new flag.

The mark is the highest settlement id older than a minute: on PostgreSQL an id is drawn before its
transaction commits, so the newest ids may still be in flight; the next run reads them again,
which the merging makes harmless. With several server processes only one runs at a time: a
PostgreSQL advisory lock (SQLite serves one process; a lock file beside the database there).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from gongji.policy.loader import Registry, default_registry
from gongji.policy.supervision import Rule, load_rules
from gongji.service import audit
from gongji.service.clock import CHINA, china_today
from gongji.service.supervise import flags as store
from gongji.service.supervise.rules import KINDS, Hit, Scope
from gongji.service.supervise.sql import Dialect, day_of
from gongji.service.uow import run as run_uow

IN_FLIGHT_SECONDS = 60  # a settlement id older than this has committed or never will
LOCK_KEY = 0x67_6A_73_76  # "gjsv": the advisory lock of a supervision run
Progress = Callable[[str, int, int], None]


def _now() -> datetime:
    return datetime.now(CHINA).replace(tzinfo=None)


class Busy(Exception):
    """Another supervision run holds the lock."""


def supervise(engine: Engine, *, date_from: date | None = None, date_to: date | None = None, by: str = "system",
              today: date | None = None, progress: Progress | None = None, rules: list[Rule] | None = None,
              registry: Registry | None = None) -> dict[str, Any]:
    """Run every rule; answer the run's figures. Raises ``Busy`` when another run holds the lock."""
    registry = registry or default_registry()
    rules = rules if rules is not None else load_rules(known_regions=set(registry.by_region))
    today = today or china_today()
    started, clock = _now(), time.perf_counter()
    with _exclusive(engine):
        with engine.connect() as conn:
            d = Dialect(conn)
            last = store.last_run(conn)
            plan = _plan(d, last, date_from, date_to, today)
        by_rule: dict[str, dict[str, Any]] = {}
        for n, rule in enumerate(rules):
            if progress:
                progress(rule.name, n, len(rules))
            began = time.perf_counter()
            hits = _scan(engine, rule, plan, registry) if plan["scopes"] else []
            by_rule[rule.id] = {**_merge(engine, rule, hits, today),
                                "seconds": round(time.perf_counter() - began, 3)}
        if progress:
            progress("完成", len(rules), len(rules))
        new = sum(r["new"] for r in by_rule.values())
        extended = sum(r["extended"] for r in by_rule.values())
        seconds = time.perf_counter() - clock

        def record(uow):
            store.record_run(uow.session.connection(), started, _now(), by, date_from,
                             date_to, plan["upto"], today, new, extended)
            audit.append(uow, by, "supervise", f"{plan['lo']}..{plan['hi']}",
                         {"from": str(date_from) if date_from else None, "to": str(date_to) if date_to else None,
                          "new": new, "extended": extended, "by_rule": by_rule})
        run_uow(engine, record)
    return {"new": new, "extended": extended, "seconds": round(seconds, 3), "by_rule": by_rule,
            "from": str(plan["lo"]) if plan["lo"] else None, "to": str(plan["hi"]) if plan["hi"] else None,
            "incremental": plan["new"] is not None}


def _plan(d: Dialect, last, date_from: date | None, date_to: date | None, today: date) -> dict[str, Any]:
    """What this run reads: the anchors' dates, and (incremental) the new settlements' ids."""
    upto = d.rows("SELECT COALESCE(MAX(id), 0) FROM settlements WHERE created_at < "
                  + (f"now() - interval '{IN_FLIGHT_SECONDS} seconds'" if d.pg
                     else f"datetime('now', '{-IN_FLIGHT_SECONDS:+d} seconds')"))[0][0]
    top = d.rows("SELECT COALESCE(MAX(id), 0) FROM settlements")[0][0]
    if date_from or date_to or last is None:
        span = d.rows("SELECT MIN(setl_date), MAX(setl_date) FROM settlements")[0]
        if span[0] is None:
            return {"scopes": False, "lo": None, "hi": None, "new": None, "upto": upto}
        lo = date_from or day_of(span[0])
        hi = date_to or max(day_of(span[1]), today)
        return {"scopes": lo <= hi, "lo": lo, "hi": hi, "new": None, "upto": upto, "from_data": date_from is None}
    prev = int(last.upto_id)
    new_span = d.rows("SELECT MIN(setl_date), MAX(setl_date) FROM settlements WHERE id > :lo AND id <= :hi",
                      lo=prev, hi=top)[0]
    since = last.reversals_since or today
    rev = d.rows("SELECT MIN(setl_date), MAX(setl_date) FROM settlements WHERE reversed_on >= :since",
                 since=d.param(since))[0]
    days = [day_of(x) for x in (*new_span, *rev) if x is not None]
    if not days:
        return {"scopes": False, "lo": None, "hi": None, "new": (prev, top), "upto": max(upto, prev)}
    first = day_of(new_span[0]) if new_span[0] is not None else None
    last_day = day_of(new_span[1]) if new_span[1] is not None else None
    return {"scopes": True, "lo": first, "hi": last_day, "new": (prev, top), "upto": max(upto, prev),
            "months": (min(days), max(days))}


def _scan(engine: Engine, rule: Rule, plan: dict, registry: Registry) -> list[Hit]:
    fn, reach_key, monthly = KINDS[rule.kind]
    regions = [r.region for r in registry.regions if rule.applies_to(r.region)]
    if not regions:
        return []

    def terms(region: str, day: date):
        return registry.by_region[region].at(day)
    hits: list[Hit] = []
    with engine.connect() as conn:
        d = Dialect(conn)
        if d.pg:  # the groupings hash a year of settlements: room for that, for this read only
            conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        if monthly:
            lo, hi = plan["months"] if plan["new"] is not None else (plan["lo"], plan["hi"])
            first = rule.change_dates()[0]
            return fn(d, Scope(lo, hi, regions), lambda day: rule.at(day) if day >= first else None, terms)
        if plan["lo"] is None:  # incremental with only reversals: nothing for this kind
            return []
        lo, hi = plan["lo"], plan["hi"]
        policies = [registry.by_region[r] for r in regions]
        # no anchor before the rule and every region have values (a window reaching back past them)
        floor = max(rule.change_dates()[0], *(p.change_dates[0] for p in policies))
        if reach_key and (plan["new"] is not None or plan.get("from_data")):
            # windows that reach the data begin this early: by the longest window the rule ever had, as
            # a window takes the value in force on its first day, before a shortening
            lo -= timedelta(days=max(rule.thresholds[reach_key][1]) - 1)
        lo = max(lo, floor)
        for a, b in _segments(rule, policies, lo, hi) if lo <= hi else ():
            hits += fn(d, Scope(a, b, regions, plan["new"]), rule.at(a), terms)
    return hits


def _segments(rule: Rule, policies, lo: date, hi: date) -> Iterator[tuple[date, date]]:
    """[lo, hi] cut where a threshold or a region's value changes: one set of values each."""
    cuts = sorted({d for d in rule.change_dates() if lo < d <= hi}
                  | {d for p in policies for d in p.change_dates if lo < d <= hi})
    start = lo
    for cut in cuts:
        yield start, cut - timedelta(days=1)
        start = cut
    yield start, hi


def _merge(engine: Engine, rule: Rule, hits: list[Hit], today: date) -> dict[str, int]:
    if not hits:
        return {"new": 0, "extended": 0, "hits": 0}

    def work(uow):
        return store.merge(uow.session.connection(), rule, hits, today)
    counts = run_uow(engine, work)
    return {**counts, "hits": len(hits)}


@contextmanager
def _exclusive(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar():
                raise Busy("另一个监管任务正在运行 / another supervision run holds the lock")
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
        return
    path = engine.url.database
    if not path or path == ":memory:":
        yield
        return
    fd = os.open(f"{path}.supervise.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy("另一个监管任务正在运行 / another supervision run holds the lock") from None
        yield
    finally:
        os.close(fd)
