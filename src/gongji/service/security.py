"""Who is calling: staff and insured persons by password (argon2id) and a session, institutions
by an HMAC-SHA256 signature over each request. Secrets and passwords are shown once, when made.

Each login attempt is counted before its password is checked and locks the login for
``LOCK_MINUTES`` at ``MAX_FAILURES``; a right password resets the count. Passwords are checked in
``LOGINS``, a few at a time (see docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar
from weakref import WeakKeyDictionary

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, delete, func, insert, or_, select, update

from gongji.domain.errors import DomainError
from gongji.service import scope
from gongji.service.common import institution, person
from gongji.service.group import GroupCommit
from gongji.service.uow import UnitOfWork, run
from gongji.store import models as m

ROLES = ("clerk", "supervisor", "auditor", "admin")
USERS = {"staff": m.Staff, "person": m.Person, "cashier": m.Cashier}  # login kinds
MAX_FAILURES, LOCK_MINUTES = 5, 15
SESSION_HOURS = 8
CLOCK_SKEW = 300  # seconds a signed request may be off
# the x-tif gateway's window (api.nhsa.auth), in seconds either side of now
TIF_WINDOW = int(os.environ.get("GONGJI_TIF_WINDOW", "300"))


def nonce_expiry(now: int) -> int:
    """Nonces seen before this are forgotten: no timestamp either scheme accepts is that old."""
    return now - 2 * max(CLOCK_SKEW, TIF_WINDOW)
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not a password")  # verified against when the user is unknown: same timing
T = TypeVar("T")


def new_password() -> str:
    return secrets.token_urlsafe(12)


def sha256(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def add_staff(uow: UnitOfWork, username: str, role: str, area: str = scope.NATIONAL, *,
              password: str | None = None) -> str:
    """A staff member serving ``area`` (``service.scope``: an admdvs prefix, "" or "00" national)."""
    if role not in ROLES:
        raise DomainError("INVALID_INPUT", f"角色须为 {'、'.join(ROLES)} 之一", "role")
    return _new_login(uow, m.Staff, "工作人员", username, password, role=role, area=scope.parse_area(area))


def add_cashier(uow: UnitOfWork, username: str, inst_code: str, *, password: str | None = None) -> str:
    institution(uow.session, inst_code, "institution")
    return _new_login(uow, m.Cashier, "收费员", username, password, inst_code=inst_code)


def _new_login(uow: UnitOfWork, model, what: str, username: str, password: str | None, **fields) -> str:
    if uow.session.get(model, username) is not None:
        raise DomainError("ALREADY_REGISTERED", f"{what} {username} 已存在", "username")
    password = password or new_password()
    uow.session.add(model(username=username, password_hash=_hasher.hash(password), failed_logins=0,
                          active=True, **fields))
    return password


def set_person_password(uow: UnitOfWork, psn_no: str, *, password: str | None = None) -> str:
    """A new password ends every session opened with the old one."""
    p = person(uow.session, psn_no)
    password = password or new_password()
    p.password_hash, p.failed_logins, p.locked_until = _hasher.hash(password), 0, None
    end_sessions(uow, "person", psn_no)
    return password


def end_sessions(uow: UnitOfWork, kind: str, subject: str) -> None:
    uow.session.execute(delete(m.LoginSession).where(m.LoginSession.kind == kind,
                                                     m.LoginSession.subject == subject))


def new_institution_secret(uow: UnitOfWork, code: str, *, expect: str | None = None,
                           secret: str | None = None) -> str:
    """``expect``: the ``fingerprint`` of the secret the asker saw; a page sent again (a reload)
    carries the old one and is refused, so it neither rotates twice nor shows a secret again.
    ``secret``: one already made, for an institution serving several provinces (one key in all)."""
    inst = institution(uow.session, code, "code")
    _expected(inst.secret, expect, f"定点医药机构 {code} 的签名密钥已更换过")
    inst.secret = secret or secrets.token_hex(32)
    return inst.secret


def fingerprint(stored: str | None) -> str:
    """A short token naming a stored secret or password hash as it is now (not revealing it)."""
    return sha256(f"fingerprint:{stored or ''}")[:16]


def _expected(stored: str | None, expect: str | None, what: str) -> None:
    if expect is not None and not hmac.compare_digest(fingerprint(stored).encode(), expect.encode()):
        raise DomainError("STALE_FORM", f"{what};新值只显示一次,不再显示。如需再换,请从列表重新办理", "expect")


def set_staff_password(uow: UnitOfWork, username: str, *, expect: str | None = None,
                       password: str | None = None) -> str:
    """A new password for a staff member, shown once; it ends their sessions and lifts a lock."""
    staff = uow.session.get(m.Staff, username)
    if staff is None:
        raise DomainError("NOT_FOUND", f"查无工作人员 {username}", "username")
    _expected(staff.password_hash, expect, f"工作人员 {username} 的密码已重置过")
    password = password or new_password()
    staff.password_hash, staff.failed_logins, staff.locked_until = _hasher.hash(password), 0, None
    end_sessions(uow, "staff", username)
    return password


PAASID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def set_paasid(uow: UnitOfWork, code: str, paasid: str | None) -> None:
    """Register the x-tif gateway application account (x-tif-paasid) of institution ``code``;
    None clears it, and the code itself serves again. Refused when another institution answers
    to it already: as its paasid, or as its code while it has no paasid of its own."""
    s = uow.session
    inst = institution(s, code, "code")
    if paasid is not None:
        check_paasid(paasid)
        other = s.scalar(select(m.Institution.code).where(m.Institution.code != code, or_(
            m.Institution.paasid == paasid, (m.Institution.code == paasid) & m.Institution.paasid.is_(None))))
        if other is not None:
            raise DomainError("ALREADY_REGISTERED", f"接入方编号 {paasid} 已被定点医药机构 {other} 使用", "paasid")
    inst.paasid = paasid
    s.flush()


def check_paasid(paasid: str) -> None:
    if not PAASID.fullmatch(paasid):
        raise DomainError("INVALID_INPUT", "接入方编号须为 1–64 位字母、数字或点、下划线、连字符", "paasid")


def institution_by_paasid(engine, paasid: str) -> tuple[str, str | None, bool] | None:
    """The institution a national-interface request's x-tif-paasid names, as (code, signing
    secret, suspended): the one registered with that paasid, else the one with that code when it
    has no other paasid registered; None when neither."""
    I = m.Institution

    def find(uow: UnitOfWork):
        s = uow.session
        row = s.execute(select(I.code, I.secret, I.suspended).where(I.paasid == paasid)).first()
        if row is None:
            row = s.execute(select(I.code, I.secret, I.suspended).where(
                I.code == paasid, or_(I.paasid.is_(None), I.paasid == paasid))).first()
        return None if row is None else (row.code, row.secret, bool(row.suspended))

    return run(engine, find, write=False)


def set_suspended(uow: UnitOfWork, code: str, suspended: bool) -> None:
    institution(uow.session, code, "code").suspended = suspended


@dataclass(frozen=True)
class Login:
    ok: bool
    token: str | None = None
    csrf: str | None = None
    role: str | None = None
    error: str | None = None  # why refused, for the server log only: UNKNOWN | LOCKED | WRONG_PASSWORD


def login(engine, kind: str, username: str, password: str, now: datetime, token_prefix: str = "") -> Login:
    """Check a password; on success open a session.

    The argon2 check runs outside any transaction. An unknown (or inactive, or password-less)
    login and a locked one write nothing and are checked against a dummy hash, so they take the
    time a wrong password takes. A known one first counts the attempt (``_count_attempt``, one atomic
    UPDATE) and only then checks the password, so parallel guesses cannot outrun the lock."""
    model = USERS[kind]
    role, locked = run(engine, lambda uow: _state_of(uow.session.get(model, username), now), write=False)
    if role is None:
        _check(_DUMMY, password)
        return Login(False, error="UNKNOWN")
    stored = None if locked else _count_attempt(engine, model, username, now)
    if stored is None:
        _check(_DUMMY, password)
        return Login(False, error="LOCKED")
    if not _check(stored, password):
        return Login(False, error="WRONG_PASSWORD")  # already counted (and locked at the limit)
    # routed, the token starts with its province ("53."): the edge finds the session's database by it
    token, csrf = token_prefix + secrets.token_urlsafe(32), secrets.token_urlsafe(24)

    def open_session(uow: UnitOfWork) -> None:
        s = uow.session
        s.execute(update(model).where(_key(model) == username).values(failed_logins=0, locked_until=None))
        s.add(m.LoginSession(token_hash=sha256(token), kind=kind, subject=username, csrf=csrf,
                             expires_at=now + timedelta(hours=SESSION_HOURS)))
        s.execute(delete(m.LoginSession).where(m.LoginSession.expires_at < now))

    run(engine, open_session)
    return Login(True, token, csrf, role)


def _state_of(user, now: datetime) -> tuple[str | None, bool]:
    """The role a login would have (None for one that cannot log in: unknown, inactive, no
    password) and whether it is locked now."""
    if user is None or user.password_hash is None or not getattr(user, "active", True):
        return None, False
    role = getattr(user, "role", None) or ("person" if isinstance(user, m.Person) else "cashier")
    return role, user.locked_until is not None and user.locked_until > now


def _count_attempt(engine, model, username: str, now: datetime) -> str | None:
    """Count one more attempt, before its password is checked, and return the stored hash; None
    when the login is locked. The attempt that reaches ``MAX_FAILURES`` sets the lock itself (a
    right password lifts it again), so at most ``MAX_FAILURES`` guesses are checked per lock
    window however many arrive at once. An expired lock starts the count afresh."""
    fresh = model.locked_until.is_(None)
    count = case((fresh, func.coalesce(model.failed_logins, 0) + 1), else_=1)
    stmt = (update(model)
            .where(_key(model) == username, or_(fresh, model.locked_until <= now))
            .values(failed_logins=count,
                    locked_until=case((count >= MAX_FAILURES, now + timedelta(minutes=LOCK_MINUTES)), else_=None))
            .returning(model.password_hash)
            .execution_options(synchronize_session=False))
    return run(engine, lambda uow: uow.session.scalar(stmt))


def _key(model):
    return model.psn_no if model is m.Person else model.username


def _check(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


class LoginQueue:
    """Logins run here, ``workers`` at a time (argon2 is costly on purpose) and at a lower CPU
    priority, with at most ``waiting`` more queued; ``submit`` turns away the rest (None), so a
    flood of logins can take neither the CPU nor the server's threads from settlements."""

    def __init__(self, workers: int, waiting: int) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="login", initializer=_yield_cpu)
        self._room = workers + waiting
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., T], *args) -> Future[T] | None:
        with self._lock:
            if self._room == 0:
                return None
            self._room -= 1
        future = self._pool.submit(fn, *args)
        future.add_done_callback(self._free)
        return future

    def _free(self, _future: Future) -> None:
        with self._lock:
            self._room += 1


def _yield_cpu() -> None:
    """Give this thread, and argon2's lane threads it starts (they inherit it), a lower CPU
    priority than the threads that settle (Linux: nice applies per thread)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOGIN_NICE)
    except (AttributeError, OSError):  # not Linux, or not allowed: the bound alone still holds
        pass


LOGIN_NICE = 10
# Half the cores at most check passwords; a login waits behind at most a few others (~1 s).
LOGINS = LoginQueue(workers=max(1, (os.cpu_count() or 2) // 2), waiting=8)


@dataclass(frozen=True)
class SessionInfo:
    kind: str
    subject: str
    role: str
    csrf: str
    user: str = ""  # the cashier behind an institution session
    area: str = ""  # a staff member's area (service.scope)


def session_of(engine, token: str, now: datetime) -> SessionInfo | None:
    def read(uow: UnitOfWork):
        row = uow.session.get(m.LoginSession, sha256(token))
        if row is None or row.expires_at <= now:
            return None
        if row.kind == "staff":
            staff = uow.session.get(m.Staff, row.subject)
            if staff is None or not staff.active:
                return None
            return SessionInfo("staff", row.subject, staff.role, row.csrf, area=staff.area)
        if row.kind == "cashier":
            cashier = uow.session.get(m.Cashier, row.subject)
            inst = uow.session.get(m.Institution, cashier.inst_code) if cashier and cashier.active else None
            if cashier is None or inst is None or inst.suspended:
                return None
            return SessionInfo("institution", inst.code, "cashier", row.csrf, cashier.username)
        return SessionInfo("person", row.subject, "person", row.csrf)

    return run(engine, read, write=False)


def logout(engine, token: str) -> None:
    run(engine, lambda uow: uow.session.execute(
        delete(m.LoginSession).where(m.LoginSession.token_hash == sha256(token))))


def signing_text(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return f"{method.upper()}\n{path}\n{timestamp}\n{nonce}\n{sha256(body)}".encode()


def sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac.new(bytes.fromhex(secret), signing_text(method, path, timestamp, nonce, body),
                    hashlib.sha256).hexdigest()


def check_signature(engine, code: str, timestamp: str, nonce: str, signature: str, method: str,
                    path: str, body: bytes, now: int) -> str | None:
    """None when the request is the institution's own, fresh and first; else why not (the
    refusal code: BAD_SIGNATURE, STALE_REQUEST, REPLAYED_NONCE, INSTITUTION_SUSPENDED). The nonce
    is recorded before the answer; nonces of requests arriving together share one commit."""
    if not (timestamp.isascii() and timestamp.isdigit()) or abs(now - int(timestamp)) > CLOCK_SKEW:
        return "STALE_REQUEST"
    if not nonce or len(nonce) > 64:
        return "BAD_SIGNATURE"
    return _nonce_book(engine).submit((code, timestamp, nonce, signature, method, path, body, now))


_books: WeakKeyDictionary = WeakKeyDictionary()
_books_lock = threading.Lock()


def _nonce_book(engine) -> GroupCommit:
    with _books_lock:
        book = _books.get(engine)
        if book is None:
            book = _books[engine] = GroupCommit(lambda reqs: _check_many(engine, reqs))
        return book


def _check_many(engine, reqs: Sequence[tuple]) -> list[str | None]:
    codes = sorted({r[0] for r in reqs})
    now = max(r[7] for r in reqs)

    def work(uow: UnitOfWork) -> list[str | None]:
        # Core statements on the session's connection: no ORM objects, no unit-of-work flush (they
        # were most of this function's CPU per signed request, measured on bench.http)
        conn = uow.session.connection()
        insts = {code: (secret, suspended) for code, secret, suspended in conn.execute(
            select(m.Institution.code, m.Institution.secret, m.Institution.suspended)
            .where(m.Institution.code.in_(codes)))}
        seen: set[tuple[str, str]] = {(c, n) for c, n in conn.execute(select(m.Nonce.inst_code, m.Nonce.nonce).where(
            m.Nonce.inst_code.in_(codes), m.Nonce.nonce.in_({r[2] for r in reqs})))}
        out: list[str | None] = []
        fresh: list[dict] = []
        for code, timestamp, nonce, signature, method, path, body, at in reqs:
            secret, suspended = insts.get(code, (None, False))
            want = sign(secret, method, path, timestamp, nonce, body) if secret else ""
            if not want or not hmac.compare_digest(want, signature.lower()):
                out.append("BAD_SIGNATURE")
            elif suspended:
                out.append("INSTITUTION_SUSPENDED")
            elif (code, nonce) in seen:
                out.append("REPLAYED_NONCE")
            else:
                seen.add((code, nonce))
                fresh.append({"inst_code": code, "nonce": nonce, "seen_at": at})
                out.append(None)
        if fresh:  # a racing process's same nonce fails the key (IntegrityError): run() retries
            conn.execute(insert(m.Nonce), fresh)
        conn.execute(delete(m.Nonce).where(m.Nonce.seen_at < nonce_expiry(now)))
        return out

    return run(engine, work)  # a racing process's same nonce fails the key: the retry sees it


def institution_secret(engine, code: str) -> str | None:
    return run(engine, lambda uow: uow.session.scalar(
        select(m.Institution.secret).where(m.Institution.code == code)), write=False)
