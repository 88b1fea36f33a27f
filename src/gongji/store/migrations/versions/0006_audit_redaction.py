"""audit redaction: no secret in the trail, re-chained

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

Before this revision an account operation given a chosen password (the demo's logins, for one)
recorded every argument: the password stood in clear in ``audit.target`` (``demo-clerk:clerk:
gongji-demo``) and inside the payload digest. Such rows keep only the arguments that name what
was acted on, their digest is made again from those, every later row is linked again, and the
rewrite is recorded as an audit entry of its own (``redact_secrets``). Nothing to undo on
downgrade: the secrets are gone.
"""
from collections.abc import Sequence

from alembic import op

from gongji.service import audit
from gongji.store.raw import Raw

# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# action → how many leading ":"-joined arguments name what was acted on; any further one was a
# chosen password. A name holding ":" loses more than the password, never less.
KEPT = {"add_staff": 2, "add_cashier": 2, "set_person_password": 1}


def upgrade() -> None:
    db = Raw(op.get_bind())
    fixed = {}
    for id_, action, target in db.rows("SELECT id, action, target FROM audit WHERE action IN ({})",
                                       lists=[sorted(KEPT)]):
        parts = target.split(":")
        if len(parts) > KEPT[action]:
            args = parts[:KEPT[action]]
            fixed[id_] = (":".join(args), {"args": args})
    # audit.admdvs comes with 0008 (which fills it for every older row)
    audit.rewrite(db, fixed, "migration 0006", "redact_secrets", areas=False)


def downgrade() -> None:
    pass
