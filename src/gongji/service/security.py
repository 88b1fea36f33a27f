"""Who is calling: staff and insured persons by password (argon2id) and a session, institutions
by an HMAC-SHA256 signature over each request. Secrets and passwords are shown once, when made.

Login failures are counted and lock the login for ``LOCK_MINUTES`` after ``MAX_FAILURES``; the
count is committed even though the login is refused, so an attacker cannot reset it by failing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from weakref import WeakKeyDictionary

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select

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
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not a password")  # verified against when the user is unknown: same timing


def new_password() -> str:
    return secrets.token_urlsafe(12)


def sha256(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def add_staff(uow: UnitOfWork, username: str, role: str, password: str | None = None,
              area: str = scope.NATIONAL) -> str:
    """A staff member serving ``area`` (``service.scope``: an admdvs prefix, "" or "00" national)."""
    if role not in ROLES:
        raise DomainError("INVALID_INPUT", f"角色须为 {'、'.join(ROLES)} 之一", "role")
    return _new_login(uow, m.Staff, "工作人员", username, password, role=role, area=scope.parse_area(area))


def add_cashier(uow: UnitOfWork, username: str, inst_code: str, password: str | None = None) -> str:
    institution(uow.session, inst_code, "institution")
    return _new_login(uow, m.Cashier, "收费员", username, password, inst_code=inst_code)


def _new_login(uow: UnitOfWork, model, what: str, username: str, password: str | None, **fields) -> str:
    if uow.session.get(model, username) is not None:
        raise DomainError("ALREADY_REGISTERED", f"{what} {username} 已存在", "username")
    password = password or new_password()
    uow.session.add(model(username=username, password_hash=_hasher.hash(password), failed_logins=0,
                          active=True, **fields))
    return password


def set_person_password(uow: UnitOfWork, psn_no: str, password: str | None = None) -> str:
    p = person(uow.session, psn_no)
    password = password or new_password()
    p.password_hash, p.failed_logins, p.locked_until = _hasher.hash(password), 0, None
    return password


def new_institution_secret(uow: UnitOfWork, code: str) -> str:
    inst = institution(uow.session, code, "code")
    inst.secret = secrets.token_hex(32)
    return inst.secret


def set_suspended(uow: UnitOfWork, code: str, suspended: bool) -> None:
    institution(uow.session, code, "code").suspended = suspended


@dataclass(frozen=True)
class Login:
    ok: bool
    token: str | None = None
    csrf: str | None = None
    role: str | None = None
    error: str | None = None  # LOGIN_FAILED | ACCOUNT_LOCKED


def login(engine, kind: str, username: str, password: str, now: datetime) -> Login:
    """Check a password; on success open a session. Committed either way (failure counts)."""
    def work(uow: UnitOfWork) -> Login:
        s = uow.session
        user = s.get(USERS[kind], username)
        stored = getattr(user, "password_hash", None)
        if user is None or stored is None or not getattr(user, "active", True):
            _check(_DUMMY, password)
            return Login(False, error="LOGIN_FAILED")
        if user.locked_until is not None and user.locked_until > now:
            return Login(False, error="ACCOUNT_LOCKED")
        if not _check(stored, password):
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= MAX_FAILURES:
                user.locked_until, user.failed_logins = now + timedelta(minutes=LOCK_MINUTES), 0
                return Login(False, error="ACCOUNT_LOCKED")
            return Login(False, error="LOGIN_FAILED")
        user.failed_logins, user.locked_until = 0, None
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        s.add(m.LoginSession(token_hash=sha256(token), kind=kind, subject=username, csrf=csrf,
                             expires_at=now + timedelta(hours=SESSION_HOURS)))
        s.execute(delete(m.LoginSession).where(m.LoginSession.expires_at < now))
        return Login(True, token, csrf, {"staff": getattr(user, "role", None), "person": "person",
                                         "cashier": "cashier"}[kind])

    return run(engine, work)


def _check(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


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
            inst = cashier and uow.session.get(m.Institution, cashier.inst_code)
            if inst is None or not cashier.active or inst.suspended:
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


def _check_many(engine, reqs: list[tuple]) -> list[str | None]:
    codes = sorted({r[0] for r in reqs})
    now = max(r[7] for r in reqs)

    def work(uow: UnitOfWork) -> list[str | None]:
        s = uow.session
        insts = {i.code: i for i in s.scalars(select(m.Institution).where(m.Institution.code.in_(codes)))}
        seen = set(s.execute(select(m.Nonce.inst_code, m.Nonce.nonce).where(
            m.Nonce.inst_code.in_(codes), m.Nonce.nonce.in_({r[2] for r in reqs}))).all())
        out: list[str | None] = []
        for code, timestamp, nonce, signature, method, path, body, at in reqs:
            inst = insts.get(code)
            want = sign(inst.secret, method, path, timestamp, nonce, body) if inst and inst.secret else ""
            if not want or not hmac.compare_digest(want, signature.lower()):
                out.append("BAD_SIGNATURE")
            elif inst.suspended:
                out.append("INSTITUTION_SUSPENDED")
            elif (code, nonce) in seen:
                out.append("REPLAYED_NONCE")
            else:
                seen.add((code, nonce))
                s.add(m.Nonce(inst_code=code, nonce=nonce, seen_at=at))
                out.append(None)
        s.flush()
        s.execute(delete(m.Nonce).where(m.Nonce.seen_at < now - 2 * CLOCK_SKEW))
        return out

    return run(engine, work)  # a racing process's same nonce fails the key: the retry sees it


def institution_secret(engine, code: str) -> str | None:
    return run(engine, lambda uow: uow.session.scalar(
        select(m.Institution.secret).where(m.Institution.code == code)), write=False)
