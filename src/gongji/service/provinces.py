"""One service per province, and which one serves a request (``routing`` names the databases).

Every insured person is kept in the database of the province of their insured area (the first two
digits of ``insu_admdvs``), with all of their family: in every region gongji knows both sides of a
binding are insured in the same province. A small directory (``person_directory``: psn_no →
province) in every province's database says where a 个人编号 lives; the registration that creates a
person writes it in its own transaction at home and then in every other province. A row missing
elsewhere (a crash between the two, a bulk load) is found by asking each province's ``persons``
and written back, so the directory heals itself.

With one database (no routing file) there is one "province" serving every area, as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from gongji.domain.errors import DomainError
from gongji.policy.loader import Registry
from gongji.routing import Routes
from gongji.service.clock import Clock, china_today
from gongji.service.facade import Service
from gongji.service.uow import run
from gongji.store import models as m
from gongji.store.db import make_engine

log = logging.getLogger("gongji.provinces")
ANY = ""  # the key of the one service when not routed
CACHE_LIMIT = 200_000  # entries of each cache (persons, institutions)


class Provinces:
    def __init__(self, services: dict[str, Service], read_services: dict[str, Service] | None = None) -> None:
        if not services:
            raise ValueError("no province")
        self.services = services
        self.read_services = read_services or {}
        # the nightly supervision run's engines: a province's direct_url (past pgbouncer: the run's
        # session-level advisory lock) when the routing file names one
        self.supervision_engines = [svc.engine for svc in services.values()]
        self._persons: dict[str, str] = {}  # psn_no -> province
        self._institutions: dict[str, str] = {}  # institution code -> its own province
        self._lock = threading.Lock()
        for svc in services.values():
            svc.on_register = self._registered

    @classmethod
    def single(cls, service: Service) -> Provinces:
        return cls({ANY: service})

    @classmethod
    def open(cls, routes: Routes, registry: Registry | None = None, clock: Clock = china_today) -> Provinces:
        """A service per routed province."""
        services, readers = {}, {}
        for p in routes.provinces:
            services[p.code] = Service(make_engine(p.url), registry, clock)
            services[p.code].province = p.code
            if p.read_url:
                readers[p.code] = Service(make_engine(p.read_url), registry, clock)
        out = cls(services, readers)
        out.supervision_engines = [make_engine(p.direct_url) if p.direct_url else services[p.code].engine
                                   for p in routes.provinces]
        return out

    @property
    def routed(self) -> bool:
        return ANY not in self.services

    @property
    def default(self) -> Service:
        return next(iter(self.services.values()))

    def codes(self) -> list[str]:
        return list(self.services)

    def __iter__(self) -> Iterator[tuple[str, Service]]:
        return iter(self.services.items())

    def get(self, code: str) -> Service:
        if not self.routed:
            return self.default
        svc = self.services.get(code)
        if svc is None:
            raise DomainError("PROVINCE_NOT_SERVED", f"本系统未承办省份 {code} 的参保人(参保地区划前两位)", "insuplc_admdvs")
        return svc

    def _ask(self, query) -> Iterator[tuple[str, Any]]:
        """(province, answer) of a read in each province in turn; a province failing over (no
        primary for some seconds) is passed over: the others still answer."""
        for code, svc in self.services.items():
            try:
                yield code, svc.read(query)
            except OperationalError:
                continue

    def _first(self, query) -> str | None:
        """The first province whose answer to ``query`` is not None."""
        return next((code for code, found in self._ask(query) if found is not None), None)

    def province_of(self, psn_no: str) -> str | None:
        """The province keeping ``psn_no``, or None for a person no province knows."""
        if not self.routed:
            return ANY
        found = self._persons.get(psn_no)
        if found is not None:
            return found
        # any database's directory will do: the first that answers
        found = next((row for _, row in self._ask(lambda uow: uow.session.scalar(
            select(m.DirectoryEntry.province).where(m.DirectoryEntry.psn_no == psn_no)))), None)
        if found is None or found not in self.services:
            found = self._search(psn_no)
        if found is not None:
            self._keep(self._persons, psn_no, found)
        return found

    def province_of_certno(self, certno: str) -> str | None:
        """The province keeping the person with this ID-card number (a card read before its
        area is known): each province's unique index, in turn."""
        return self._first(lambda uow: uow.session.scalar(select(m.Person.psn_no).where(m.Person.certno == certno)))

    def login_province(self, kind: str, username: str) -> str:
        """The province a login is checked in: the person's own; for staff and cashiers the first
        province that knows the name. Found by cheap reads, so that the one password check that
        follows takes the same time whether or not the name exists anywhere (no enumeration)."""
        if kind == "person":
            return self.province_of(username) or self.codes()[0]
        model = m.Staff if kind == "staff" else m.Cashier
        return self._first(lambda uow: uow.session.get(model, username)) or self.codes()[0]

    def institution_province(self, inst_code: str) -> str | None:
        """The province of an institution's own area, where it is registered (cached)."""
        found = self._institutions.get(inst_code)
        if found is None:
            area = next((a for _, a in self._ask(lambda uow: uow.session.scalar(
                select(m.Institution.admdvs).where(m.Institution.code == inst_code))) if a is not None), None)
            if area is not None:
                found = area[:2]
                self._keep(self._institutions, inst_code, found)
        return found

    def _search(self, psn_no: str) -> str | None:
        """Ask each province's persons (a crash after a registration, a bulk load); write back."""
        code = self._first(lambda uow: uow.session.get(m.Person, psn_no))
        if code is not None:
            log.warning("directory healed: a person found in province %s by searching", code)
            self._registered(psn_no, code)
        return code

    def _keep(self, cache: dict[str, str], key: str, code: str) -> None:
        """Bounded: emptied when full (a few tens of MB at the limit)."""
        with self._lock:
            if len(cache) >= CACHE_LIMIT:
                cache.clear()
            cache[key] = code

    def _registered(self, psn_no: str, code: str) -> None:
        """A person registered in province ``code``: the other provinces' directories learn it."""
        if not self.routed:
            return
        self._keep(self._persons, psn_no, code)
        for other, svc in self.services.items():
            if other != code:
                try:
                    write_entries(svc, [(psn_no, code)])
                except OperationalError:  # that province is failing over: found by search later
                    log.warning("directory of province %s not written (unavailable)", other)

    def sync_directory(self) -> dict[str, int]:
        """Copy each province's own persons into every province's directory, its own included (a
        bulk load writes persons only); ``gongji demo`` does it after loading."""
        written: dict[str, int] = {}
        for code, svc in self.services.items():
            own = svc.read(lambda uow, code=code: [
                (p, code) for p in uow.session.scalars(
                    select(m.Person.psn_no).where(m.Person.insu_admdvs.like(f"{code}%")))])
            for target in self.services.values():
                write_entries(target, own)
            written[code] = len(own)
        return written

    def dispose(self) -> None:
        engines = {id(e): e for e in [*(s.engine for s in [*self.services.values(), *self.read_services.values()]),
                                       *self.supervision_engines]}
        for engine in engines.values():
            engine.dispose()


BATCH = 1000


def write_entries(svc: Service, entries: list[tuple[str, str]]) -> None:
    """Insert-or-keep directory rows (a row already there is right: a person does not move)."""
    insert = postgresql.insert if svc.engine.dialect.name == "postgresql" else sqlite.insert
    for start in range(0, len(entries), BATCH):
        rows = [{"psn_no": p, "province": c} for p, c in entries[start:start + BATCH]]
        stmt = insert(m.DirectoryEntry).values(rows).on_conflict_do_nothing(index_elements=["psn_no"])

        def work(uow, stmt=stmt) -> None:
            uow.session.execute(stmt)
        run(svc.engine, work, True)
