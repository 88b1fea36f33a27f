"""explain without balances: stored settlements' explanations no longer state anyone's balance

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28

Before this revision a settlement's explanation stated the patient's balance (step ⑤), the bound
holders' combined available amount (``可用``, their exact balance where no holder cap applies) and
the caps left (``剩余``). The patient and the cashier both read that text (JSON, pages, 结算单), so
a beneficiary learnt the holder's balance. New settlements no longer write it; this rewrites the
stored ones the same way. Amounts paid and published cap values stay.
"""
import json
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MONEY = r"-?[0-9][0-9,]*\.[0-9]{2}"
_RULES = (
    (re.compile(rf"余额 {_MONEY},"), ""),  # ⑤ 本人账户:余额 X,支付 Y
    (re.compile(rf";可用 {_MONEY} → "), " → "),  # ⑥ …;可用 X → paid
    (re.compile(rf"剩余 {_MONEY}"), ""),  # ⑥ 单次限额剩余 X(settlement_cap)
)
BATCH = 1000


def redact(line: str) -> str:
    for pattern, repl in _RULES:
        line = pattern.sub(repl, line)
    return line


def upgrade() -> None:
    conn = op.get_bind()
    as_json = "CAST(:e AS JSON)" if conn.dialect.name == "postgresql" else ":e"
    text_of = "CAST(explain AS TEXT)"
    hit = f"({text_of} LIKE '%余额 %' OR {text_of} LIKE '%可用 %' OR {text_of} LIKE '%剩余 %')"
    last = 0
    while True:
        rows = conn.execute(sa.text(f"SELECT id, {text_of} FROM settlements WHERE id > :last AND {hit} "
                                    "ORDER BY id LIMIT :n"), {"last": last, "n": BATCH}).all()
        if not rows:
            break
        for id_, raw in rows:
            lines = json.loads(raw)
            clean = [redact(line) if isinstance(line, str) else line for line in lines]
            if clean != lines:
                conn.execute(sa.text(f"UPDATE settlements SET explain = {as_json} WHERE id = :id"),
                             {"e": json.dumps(clean, ensure_ascii=False), "id": id_})
        last = rows[-1][0]


def downgrade() -> None:
    pass  # what was removed is not kept anywhere, on purpose
