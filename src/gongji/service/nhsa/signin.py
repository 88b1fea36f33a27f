"""9001 sign-in and 9002 sign-out: real HIS software signs in before anything else each day."""

from __future__ import annotations

from datetime import datetime

from gongji import nhsa_format as f
from gongji.domain.errors import DomainError
from gongji.service.common import Ctx, institution
from gongji.service.nhsa.messages import Outcome
from gongji.service.nhsa.records import stamp
from gongji.store import models as m


def sign_in(uow, ctx: Ctx, fixmedins: str, x: f.SignIn, when: datetime) -> Outcome:
    institution(uow.session, fixmedins, "fixmedins_code")
    row = m.NhsaSignin(fixmedins=fixmedins, opter_no=x.opter_no, signed_in_at=when)
    uow.session.add(row)
    uow.session.flush()
    return Outcome({"signinoutb": {"sign_no": f"{row.id:08d}", "sign_time": stamp(when)}})


def sign_out(uow, ctx: Ctx, fixmedins: str, x: f.SignOut, when: datetime) -> Outcome:
    row = uow.session.get(m.NhsaSignin, int(x.sign_no)) if x.sign_no.isdigit() and len(x.sign_no) <= 9 else None
    if row is None or row.fixmedins != fixmedins:
        raise DomainError("INVALID_INPUT", f"本机构无此签到编号 {x.sign_no}", "input.signOut.sign_no")
    if row.signed_out_at is None:
        row.signed_out_at = when
    return Outcome({"signoutoutb": {"sign_time": stamp(row.signed_out_at)}})
