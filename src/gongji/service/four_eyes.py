"""Who may create money, and who must confirm a large payment: one place for the API, the pages
and the replayer alike.

An opening balance and a manual credit put money into a personal account out of nothing the
ledger can check, so both need a supervisor (or the system itself: the CLI, the demo and bulk
loaders, the replayer) and are capped per credit. A manual reimbursement above its region's
threshold waits for a supervisor who did not enter it. The role is read from the staff table in
the same transaction, so a caller cannot claim one."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gongji.domain.errors import DomainError
from gongji.domain.money import format_yuan
from gongji.store import models as m

SYSTEM = "system"
MAX_CREDIT = 500_000_00  # fen: one credit above 500,000.00 yuan is a typo, not an account


class NotPermitted(DomainError):
    """A refusal by role or by the four-eyes rule: HTTP 403, nothing written."""

    status = 403

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__("FORBIDDEN", message, field)


def role_of(session: Session, actor: str) -> str | None:
    """``system``, the active staff member's role, or None (a person, an institution, anyone)."""
    if actor == SYSTEM:
        return SYSTEM
    kind, _, name = actor.partition(":")
    staff = session.get(m.Staff, name) if kind == "staff" else None
    return staff.role if staff is not None and staff.active else None


def check_credit(session: Session, actor: str, amount: int, what: str, field: str) -> None:
    """A credit (``what``: 期初余额, 手工划入) by a supervisor or the system, of a sane amount."""
    if role_of(session, actor) not in (SYSTEM, "supervisor"):
        raise NotPermitted(f"{what}是一笔划入,须由主管办理", field)
    if amount <= 0:
        raise DomainError("INVALID_INPUT", f"{what}须大于 0.00 元", field)
    if amount > MAX_CREDIT:
        raise DomainError("INVALID_INPUT", f"{what}单笔不得超过 {format_yuan(MAX_CREDIT)} 元", field)


def check_approver(session: Session, actor: str, entered_by: str | None) -> None:
    """A second person: a supervisor who is not the one who entered it."""
    if role_of(session, actor) != "supervisor":
        raise NotPermitted("手工报销须由主管复核")
    if actor == entered_by:
        raise NotPermitted("录入人不能复核本人录入的报销,请由另一名主管复核")
