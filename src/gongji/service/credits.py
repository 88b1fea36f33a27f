"""Monthly credits of personal accounts from a CSV file (``psn_no,amount,period``).

The whole file is checked first and every bad row is reported with its line number; nothing is
applied if any row is bad. Then rows are applied in batches, one transaction each; every credit's
journal entry carries ``credits:<file hash>:<line>``, so a file imported twice, or re-imported
after a crash half-way, applies each row exactly once."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import select

from gongji.domain.money import MoneyError, format_yuan, parse_yuan
from gongji.service import ledger
from gongji.service.common import Ctx
from gongji.service.four_eyes import MAX_CREDIT
from gongji.service.uow import UnitOfWork
from gongji.store import models as m

HEADER = ["psn_no", "amount", "period"]
PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Row:
    line: int
    psn_no: str
    amount: int
    period: str


class CreditsFileError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse(data: bytes) -> tuple[list[Row], list[str]]:
    """Rows, and a problem line for each bad one (format only; people are checked in ``check``)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], ["第 1 行:文件不是 UTF-8 编码 / not UTF-8"]
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != HEADER:
        return [], [f"第 1 行:表头应为 {','.join(HEADER)} / header must be {','.join(HEADER)}"]
    rows: list[Row] = []
    problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != 3:
            problems.append(f"第 {line} 行:应有 3 列,实有 {len(fields)} 列 / expected 3 fields")
            continue
        psn_no, amount, period = (f.strip() for f in fields)
        try:
            fen = parse_yuan(amount)
            if fen <= 0:
                raise MoneyError("amount must be more than 0.00")
            if fen > MAX_CREDIT:
                raise MoneyError(f"单笔不得超过 {format_yuan(MAX_CREDIT)} 元 / above the per-credit maximum")
        except MoneyError as e:
            problems.append(f"第 {line} 行:金额有误 amount: {e}")
            continue
        if not psn_no:
            problems.append(f"第 {line} 行:缺少个人编号 psn_no")
            continue
        if not PERIOD.match(period):
            problems.append(f"第 {line} 行:期间应为 YYYY-MM / period: {period!r}")
            continue
        if (psn_no, period) in seen:
            problems.append(f"第 {line} 行:{psn_no} {period} 与第 {seen[(psn_no, period)]} 行重复 / duplicate")
            continue
        seen[(psn_no, period)] = line
        rows.append(Row(line, psn_no, fen, period))
    return rows, problems


def check(uow: UnitOfWork, rows: list[Row]) -> list[str]:
    """Every row's person must exist, be alive and have an account (employee, 310)."""
    people = {p.psn_no: p for p in uow.session.scalars(
        select(m.Person).where(m.Person.psn_no.in_({r.psn_no for r in rows})))}
    problems = []
    for r in rows:
        p = people.get(r.psn_no)
        if p is None:
            problems.append(f"第 {r.line} 行:查无此参保人 {r.psn_no} (UNKNOWN_PERSON)")
        elif p.status == "deceased":
            problems.append(f"第 {r.line} 行:{r.psn_no} 已身故 (PERSON_DECEASED)")
        elif p.insutype != "310":
            problems.append(f"第 {r.line} 行:{r.psn_no} 为居民医保,没有个人账户")
    return problems


def apply_batch(uow: UnitOfWork, ctx: Ctx, sha: str, rows: list[Row]) -> int:
    """Apply the rows not yet applied; returns how many were applied now."""
    s = uow.session
    refs = {r.line: f"credits:{sha[:32]}:{r.line}" for r in rows}
    done = set(s.scalars(select(m.Journal.ref).where(m.Journal.ref.in_(refs.values()))))
    todo = [r for r in rows if refs[r.line] not in done]
    uow.lock(r.psn_no for r in todo)
    source = ledger.account(s, ledger.CONTRIBUTIONS, "contributions")
    for r in todo:
        ledger.post(s, "credit", ctx.day, [(source, -r.amount), (ledger.personal(s, r.psn_no), r.amount)],
                    ref=refs[r.line])
    batch = s.get_one(m.CreditBatch, sha)
    batch.applied_rows += len(todo)
    return len(todo)


def batches(rows: list[Row], size: int) -> Iterator[list[Row]]:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


ProgressFn = Callable[[int], None]
