"""``Service``: every use case as one call, each in its own unit of work, dated by the clock.

Every change the API, pages, CLI, replayer and demo make goes through here (so it is audited);
reads use ``read`` with ``service.queries``, and settling in bulk ``gongji.bulk``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel
from sqlalchemy import Engine

from gongji.domain.errors import DomainError
from gongji.domain.money import format_yuan
from gongji.policy.loader import Registry, default_registry
from gongji.service import audit, bindings, catalog, catalog_search, credits, people, settle_batch, settlements
from gongji.service.clock import Clock, china_today
from gongji.service.commands import (
    Apply,
    BindingRef,
    Credit,
    FileRemote,
    FlagDecision,
    FlagRef,
    FlagSanction,
    Freeze,
    RegisterInstitution,
    RegisterPerson,
    Review,
    SanctionCmd,
    StatusChange,
    VisitRef,
)
from gongji.service.common import Ctx
from gongji.service.group import GroupCommit
from gongji.service.supervise import review
from gongji.service.uow import run
from gongji.service.verify import verify
from gongji.store import models as m


def _plain(args: tuple) -> list:
    return [a.model_dump(mode="json", by_alias=True) if isinstance(a, BaseModel) else a for a in args]


def _target(args: tuple) -> str:
    """What a use case acted on, for the audit trail: ids only, never names or ID numbers."""
    for a in args:
        if isinstance(a, FlagRef):  # scope.audit_areas reads the flag's areas from its id
            return f"flag:{a.flag_id}"
        if isinstance(a, VisitRef):
            return f"{a.fixmedins}:{a.psn_no}"
        if isinstance(a, BindingRef):
            return f"binding:{a.binding_id}"
        if hasattr(a, "claim_no"):
            return f"claim:{a.claim_no}:{a.visit.psn_no}"
        for field in ("psn_no", "holder", "code"):
            value = getattr(a, field, None)
            if value:
                other = getattr(a, "beneficiary", None)
                return f"{value}->{other}" if other else value
    return ":".join(str(a) for a in args if isinstance(a, str))[:120]


def _classified_preview(uow, ctx, v: VisitRef) -> dict:
    return settlements.preview(uow, ctx, catalog.classify_visit(uow, ctx, v))


# settlement keys gongji makes itself: a national-interface batch (nhsa:mdtrt_id:chrg_bchno) and a
# manual reimbursement's claim; a caller's key may not take one and so claim the batch
RESERVED_KEYS = ("nhsa:", "manual:")


class Service:
    def __init__(self, engine: Engine, registry: Registry | None = None, clock: Clock = china_today):
        self.engine = engine
        self.registry = registry or default_registry()
        self.clock = clock
        # two batches in flight on PostgreSQL: one calculates while the other waits for the server
        # (measured +25% at 4 clients and at 32); SQLite has one writer, so one
        self.settles = GroupCommit(self.settle_batch, leaders=1 if engine.dialect.name == "sqlite" else 2)
        self.catalog_index = catalog_search.Index()  # the cashier's catalogue search, per region and day
        # told of each person registered here, after the commit: the other provinces' directories
        # (``service.provinces``)
        self.on_register: Callable[[str, str], None] | None = None
        self.province: str | None = None  # routed: the province whose persons this database keeps

    def _do(self, fn, *args, write: bool = True, actor: str = "system"):
        """Run a use case; a writing one appends to the audit trail in the same transaction."""
        ctx = Ctx(self.registry, self.clock(), actor)

        def work(uow):
            result = fn(uow, ctx, *args)
            if write:
                audit.append(uow, actor, fn.__name__, _target(args), {"args": _plain(args), "result": result})
            return result

        return run(self.engine, work, write)

    # registration and accounts
    def register_institution(self, c: RegisterInstitution, actor: str = "system") -> dict:
        return self._do(people.register_institution, c, actor=actor)

    def register_person(self, c: RegisterPerson, actor: str = "system") -> dict:
        if self.province is not None and c.insu_admdvs[:2] != self.province:
            raise DomainError("PROVINCE_NOT_SERVED", f"参保地 {c.insu_admdvs} 不属于本库所承办的省份 {self.province}",
                              "insu_admdvs")
        out = self._do(people.register_person, c, actor=actor)
        if self.on_register is not None:
            self.on_register(c.psn_no, c.insu_admdvs[:2])
        return out

    def credit(self, c: Credit, ref: str | None = None, actor: str = "system") -> dict:
        return self._do(people.credit, c, ref, actor=actor)

    def freeze(self, c: Freeze, actor: str = "system") -> dict:
        return self._do(people.set_frozen, c, True, actor=actor)

    def unfreeze(self, c: Freeze, actor: str = "system") -> dict:
        return self._do(people.set_frozen, c, False, actor=actor)

    def sanction(self, c: SanctionCmd, actor: str = "system") -> dict:
        return self._do(people.sanction, c, actor=actor)

    def file_remote(self, c: FileRemote, actor: str = "system") -> dict:
        return self._do(people.file_remote, c, actor=actor)

    def change_status(self, c: StatusChange, actor: str = "system") -> dict:
        return self._do(people.change_status, c, actor=actor)

    # bindings
    # ``by_person``: the insured person acting for themselves (None: staff or the system)
    def apply(self, c: Apply, actor: str = "system", by_person: str | None = None) -> dict:
        return self._do(bindings.apply, c, by_person, actor=actor)

    def review(self, c: Review, actor: str = "system") -> dict:
        return self._do(bindings.review, c, actor=actor)

    def withdraw(self, c: BindingRef, actor: str = "system", by_person: str | None = None) -> dict:
        return self._do(bindings.withdraw, c, by_person, actor=actor)

    def unbind(self, c: BindingRef, actor: str = "system", by_person: str | None = None) -> dict:
        return self._do(bindings.unbind, c, by_person, actor=actor)

    def pending(self, region: str | None = None) -> list[dict]:
        today = self.clock()
        return run(self.engine, lambda uow: bindings.pending(uow, today, region), write=False)

    # supervision: the flags the rules found, as staff of ``area`` see and decide them
    def flags(self, area: str = "", **filters) -> dict:
        return self.read(review.flags, self.clock(), area=area, **filters)

    def flag(self, flag_id: int, area: str = "") -> dict:
        return self.read(review.flag, self.clock(), flag_id, area)

    def flag_weeks(self, area: str = "", weeks: int = 12) -> dict:
        return self.read(review.weekly, self.clock(), weeks, area)

    def flags_xlsx(self, out, area: str = "", **filters) -> None:
        review.flags_xlsx(out, self.read(review.all_flags, self.clock(), area=area, **filters))

    def supervise(self, actor: str = "system") -> dict:
        """Run the rules now (what is new since the last run); ``Busy`` if a run is going on."""
        from gongji.service.supervise.engine import supervise
        return supervise(self.engine, by=actor, today=self.clock(), registry=self.registry)

    def last_supervision(self) -> dict | None:
        return self.read(review.last_run)

    def decide_flag(self, c: FlagDecision, actor: str = "system") -> dict:
        return self._do(review.decide_flag, c, actor=actor)

    def sanction_flag(self, c: FlagSanction, actor: str = "system") -> dict:
        return self._do(review.sanction_flag, c, actor=actor)

    # settlements
    # ``by_catalog``: classify the items by the catalogue first (``classify``), as REST and the
    # cashier page do; off for callers that classify themselves (NHSA 2204) or replay stories
    def classify(self, v: VisitRef) -> VisitRef:
        """The visit with its items classified by the insurance catalogue (``catalog.classify_visit``)."""
        return self._do(catalog.classify_visit, v, write=False)

    def preview(self, v: VisitRef, by_catalog: bool = False) -> dict:
        if by_catalog:
            return self._do(_classified_preview, v, write=False)
        return self._do(settlements.preview, v, write=False)

    def settle(self, key: str, v: VisitRef, actor: str = "system", by_catalog: bool = False) -> dict:
        return self.settle_once(key, v, actor, by_catalog)[0]

    def settle_once(self, key: str, v: VisitRef, actor: str = "system", by_catalog: bool = False) -> tuple[dict, bool]:
        """Settle exactly once per institution and key; settlements arriving together share a
        commit (``service.group``). With ``by_catalog`` the visit is classified first (a read of its
        own); the idempotency hash is of the classified visit, so the same body sent again, with
        the same catalogue lines in force, is the same request."""
        if key.startswith(RESERVED_KEYS):
            raise DomainError("INVALID_INPUT", f"请求号不能以 {'、'.join(RESERVED_KEYS)} 开头:这些前缀留给国家接口与手工报销",
                              "key")
        if not by_catalog:
            return self.settles.submit((key, v, actor))
        try:
            return self.settles.submit((key, self.classify(v), actor))
        except DomainError as e:
            if e.code != "IDEMPOTENCY_CONFLICT":
                raise
            # a retry on a later day, with another catalogue line in force since: the visit as
            # classified on the first settlement's day answers the first result, if it matches
            first = self._do(catalog.classified_as_first, key, v, write=False)
            if first is None:
                raise
            return self.settles.submit((key, first, actor))

    def settle_batch(self, batch: Sequence[tuple[str, VisitRef, str]]) -> list:
        """Settle (key, visit, actor) requests in order in one transaction; per request its
        (output, made now), or the ``DomainError`` that refused it alone."""
        day = self.clock()

        return run(self.engine, lambda uow: settle_batch.settle_many(uow, self.registry, day, batch, audited=True),
                   idempotent=True)

    def reimburse(self, c, actor: str = "system") -> dict:
        return self._do(settlements.reimburse, c, actor=actor)

    def approve_reimbursement(self, setl_id: str, actor: str = "system") -> dict:
        return self._do(settlements.approve_reimbursement, setl_id, actor=actor)

    def reject_reimbursement(self, setl_id: str, actor: str = "system") -> dict:
        return self._do(settlements.reject_reimbursement, setl_id, actor=actor)

    def reverse(self, setl_id: str, key: str | None = None, actor: str = "system") -> dict:
        return self._do(settlements.reverse, setl_id, key, actor=actor)

    def setl_id_for_key(self, key: str, fixmedins: str | None = None) -> str:
        return run(self.engine, lambda uow: settlements.find_by_key(uow, key, fixmedins).setl_id, write=False)

    def import_credits(self, data: bytes, filename: str, batch_size: int = 500,
                       progress: Callable[[int, int], None] = lambda done, total: None) -> dict:
        """Check the whole file, then apply it in batches (see ``service.credits``)."""
        rows, problems = credits.parse(data)
        problems += run(self.engine, lambda uow: credits.check(uow, rows), write=False)
        if problems:
            raise credits.CreditsFileError(problems)
        sha = credits.digest(data)

        def start(uow) -> bool:
            batch = uow.session.get(m.CreditBatch, sha)
            if batch is None:
                uow.session.add(m.CreditBatch(sha256=sha, filename=filename[:255], rows=len(rows),
                                              total=sum(r.amount for r in rows), applied_rows=0,
                                              finished=False))
                return False
            return batch.finished

        out = {"sha256": sha, "rows": len(rows), "total": format_yuan(sum(r.amount for r in rows))}
        if run(self.engine, start):
            return out | {"applied": 0, "already_imported": True}
        applied = 0
        for chunk in credits.batches(rows, batch_size):
            applied += self._do(credits.apply_batch, sha, chunk)
            progress(len(chunk), len(rows))

        def finish(uow) -> None:
            uow.session.get(m.CreditBatch, sha).finished = True

        run(self.engine, finish)
        return out | {"applied": applied, "already_imported": False}

    def import_catalog(self, data: bytes, batch_size: int = 500, progress: catalog.Progress = lambda done, total: None,
                       actor: str = "system") -> dict:
        """Check the whole catalogue file, then upsert it in batches (see ``service.catalog``);
        ``CatalogFileError`` lists every problem when nothing was applied."""
        rows, problems = catalog.parse(data)
        if problems:
            raise catalog.CatalogFileError(problems)
        sha = catalog.digest(data)
        counts = {"rows": len(rows), "added": 0, "replaced": 0, "unchanged": 0}
        for chunk in catalog.batches(rows, batch_size):
            done = self._do(catalog.apply_catalog, f"catalog:{sha[:32]}", chunk, actor=actor)
            for k, n in done.items():
                counts[k] += n
            progress(len(chunk), len(rows))
        self.catalog_index.forget()  # the desk's search lists are of the old catalogue
        return counts

    def secure(self, fn, *args, actor: str = "system", **secrets):
        """An account operation of ``service.security`` (staff, passwords, institution secrets),
        audited like every other change. Only ``args`` (what it acts on: names, codes) are
        recorded; a chosen password goes by keyword (``password=``, keyword-only in
        ``service.security``) and, like the result (a new password or secret), never reaches
        the trail."""
        def work(uow):
            result = fn(uow, *args, **secrets)
            audit.append(uow, actor, fn.__name__, ":".join(map(str, args))[:120], {"args": list(args)})
            return result

        return run(self.engine, work)

    def nhsa(self, fixmedins: str, msgid: str, infno: str, input_hash: str, target: str, fn, *args,
             write: bool = True, actor: str = "system"):
        """A national-interface transaction (``service.nhsa``): a writing one runs once per
        institution and ``msgid`` (``messages.once``), audited, its reply stored with its effect."""
        from gongji.service.nhsa import messages

        ctx = Ctx(self.registry, self.clock(), actor)

        def work(uow):
            if not write:
                return fn(uow, ctx, *args)
            out, now = messages.once(uow, fixmedins, msgid, infno, input_hash, lambda: fn(uow, ctx, *args))
            if now:
                audit.append(uow, actor, f"nhsa_{infno}", target,
                             {"msgid": msgid, "input": input_hash, "result": out.text()})
            return out

        return run(self.engine, work, write)

    def read(self, fn, *args, **kw):
        """A read-only query from ``service.queries`` in its own transaction."""
        return run(self.engine, lambda uow: fn(uow, *args, **kw), write=False)

    def verify(self, progress=None) -> list[str]:
        """Every invariant (``service.verify``); ``progress(check, done, total)`` on long runs."""
        return run(self.engine, lambda uow: verify(uow.session.connection(), self.registry, progress),
                   write=False)
