"""``gongji replay``: a family's year as dated steps, run through the real service layer
(shared/spec/story-format.md). The whole story is validated before the first step runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, select

from gongji.calc_format import Code, InputError, validate
from gongji.domain import binding as b
from gongji.domain.errors import DomainError
from gongji.domain.money import format_yuan
from gongji.policy.loader import PolicyError, Registry, default_registry
from gongji.service import commands as c
from gongji.service.bindings import open_binding_id
from gongji.service.clock import FixedClock
from gongji.service.facade import Service
from gongji.service.uow import run
from gongji.store import models as m


class Settle(c.Command):
    key: Code
    visit: c.VisitRef


class Reverse(c.Command):
    key: Code


class Preview(c.Command):
    visit: c.VisitRef


class ReviewPair(c.Pair, c.Decision):
    """A review step names the pair; it acts on the pair's pending application."""


STEPS: dict[str, type[BaseModel]] = {
    "institution": c.RegisterInstitution, "person": c.RegisterPerson, "credit": c.Credit,
    "apply": c.Apply, "review": ReviewPair, "withdraw": c.Pair, "unbind": c.Pair,
    "file_remote": c.FileRemote, "freeze": c.Freeze, "unfreeze": c.Freeze,
    "sanction": c.SanctionCmd, "status": c.StatusChange, "preview": Preview, "settle": Settle,
    "reverse": Reverse,
}


def _calls(svc: Service, keys: dict[str, str]) -> dict[str, Callable[[Any], dict]]:
    def reverse(cmd: Reverse) -> dict:
        return svc.reverse(keys.get(cmd.key) or svc.setl_id_for_key(cmd.key))

    def settle(cmd: Settle) -> dict:
        out = svc.settle(cmd.key, cmd.visit)
        keys.setdefault(cmd.key, out["setl_id"])
        return out

    def binding(pair: c.Pair, state: str) -> int:
        return svc.read(open_binding_id, pair, state)

    def review(cmd: ReviewPair) -> dict:
        return svc.review(c.Review(binding_id=binding(cmd, b.PENDING), decision=cmd.decision, reason=cmd.reason))

    return {
        "institution": svc.register_institution, "person": svc.register_person,
        "credit": svc.credit, "apply": svc.apply, "review": review,
        "withdraw": lambda cmd: svc.withdraw(c.BindingRef(binding_id=binding(cmd, b.PENDING))),
        "unbind": lambda cmd: svc.unbind(c.BindingRef(binding_id=binding(cmd, b.APPROVED))),
        "file_remote": svc.file_remote, "freeze": svc.freeze, "unfreeze": svc.unfreeze, "sanction": svc.sanction, "status": svc.change_status,
        "preview": lambda cmd: svc.preview(cmd.visit), "settle": settle, "reverse": reverse,
    }


class StoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: str = Field(pattern=r"^[0-9]{6}$")
    steps: list[dict[str, Any]] = Field(min_length=1)
    expect: dict[str, Any] | None = None  # golden stories carry it; ignored here
    title: str | None = None


def parse(doc: Any, registry: Registry) -> tuple[str, list[tuple[date, str, BaseModel]]]:
    """Check every step before any runs: ``InputError`` names the first bad field."""
    story = validate(StoryIn, doc, "a story")
    try:
        registry.find(story.region)
    except PolicyError as e:
        raise InputError("region", str(e)) from None
    steps, last = [], None
    for i, raw in enumerate(story.steps):
        where = ("steps", i)
        if not isinstance(raw, dict):
            raise InputError(f"steps[{i}]", "a step must be an object")
        body = {k: v for k, v in raw.items() if k not in ("on", "do", "expect", "note")}
        do = raw.get("do")
        if do not in STEPS:
            raise InputError(f"steps[{i}].do", f"unknown step {do!r} (one of: {', '.join(STEPS)})")
        on = raw.get("on")
        try:
            on = on if isinstance(on, date) else date.fromisoformat(str(on))
        except ValueError:
            raise InputError(f"steps[{i}].on", f"not a date (YYYY-MM-DD): {on!r}") from None
        if last and on < last:
            raise InputError(f"steps[{i}].on", f"{on} is before the previous step's {last}")
        last = on
        steps.append((on, do, validate(STEPS[do], body, "a step", where)))
    return story.region, steps


def replay(doc: Any, engine: Engine, registry: Registry | None = None) -> dict:
    registry = registry or default_registry()
    _, steps = parse(doc, registry)
    clock = FixedClock(steps[0][0])
    svc = Service(engine, registry, clock)
    keys: dict[str, str] = {}
    calls = _calls(svc, keys)
    results = []
    for on, do, cmd in steps:
        clock.day = on
        try:
            results.append({"ok": True, **calls[do](cmd)})
        except DomainError as e:
            results.append({"ok": False, "error": e.code, "message": e.message})
    return {"steps": results, "final": final_state(svc)}


def final_state(svc: Service) -> dict:
    def read(uow) -> dict:
        s = uow.session
        balances = {no: format_yuan(bal) for no, bal in s.execute(
            select(m.Account.psn_no, m.Account.balance).where(m.Account.kind == "personal")
            .order_by(m.Account.psn_no))}
        usage: dict[str, dict] = {}
        for u in s.scalars(select(m.YearUsage).order_by(m.YearUsage.year, m.YearUsage.psn_no)):
            year = usage.setdefault(str(u.year), {"mulaid_received": {}, "mulaid_paid": {}})
            for field in ("mulaid_received", "mulaid_paid", "zeroed_received", "zeroed_paid"):
                if getattr(u, field):
                    year.setdefault(field, {})[u.psn_no] = format_yuan(getattr(u, field))
        bindings = [{
            "holder": x.holder, "beneficiary": x.beneficiary, "relation": x.relation,
            "state": x.state, "approved_on": _iso(x.approved_on), "review_due": _iso(x.review_due),
            "unbind_requested_on": _iso(x.unbind_requested_on), "ended_on": _iso(x.ended_on),
            "end_reason": x.end_reason,
        } for x in s.scalars(select(m.Binding).order_by(m.Binding.id))]
        return {"balances": balances, "year_usage": usage, "bindings": bindings}

    out = run(svc.engine, read, write=False)
    problems = svc.verify()
    out["invariants"] = "ok" if not problems else problems
    return out


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def is_fresh(engine: Engine) -> bool:
    return run(engine, lambda uow: uow.session.scalar(select(m.Person.psn_no).limit(1)) is None,
               write=False)
