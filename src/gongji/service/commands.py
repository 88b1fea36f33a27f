"""What each use case takes, validated at the edge (story steps and API bodies share these).

Money is yuan text parsed to fen; dates are ISO; an unknown key is an error. The ID-card number
is checked with python-stdnum (length, birth date, check digit) and kept in its compact form.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from stdnum.cn import ric

from gongji.calc_format import Admdvs, Code, PsnNo, VisitFields, Yuan
from gongji.domain.situation import STATUSES
from gongji.domain.terms import RELATIONS


def _certno(value: str) -> str:
    try:
        return ric.validate(value)
    except Exception:  # stdnum.exceptions.ValidationError and its kinds
        raise ValueError("不是有效的居民身份证号码") from None


Certno = Annotated[str, AfterValidator(_certno)]
Phone = Annotated[str, Field(pattern=r"^1[0-9]{10}$")]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RegisterInstitution(Command):
    code: Code
    level: Literal[1, 2, 3]
    admdvs: Admdvs
    kind: Literal["hospital", "pharmacy"]
    name: Annotated[str, Field(max_length=200)] = ""


class RegisterPerson(Command):
    psn_no: PsnNo
    insutype: Literal["310", "390"]
    insu_admdvs: Admdvs
    balance: Yuan = 0
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    certno: Certno | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def _resident_has_no_account(self) -> RegisterPerson:
        if self.insutype == "390" and self.balance:
            raise ValueError("城乡居民医保参保人没有个人账户,不能有余额")
        return self


class Credit(Command):
    psn_no: Code
    amount: Yuan

    @model_validator(mode="after")
    def _positive(self) -> Credit:
        if self.amount <= 0:
            raise ValueError("划入金额须大于 0.00")
        return self


class Apply(Command):
    holder: Code
    beneficiary: Code
    relation: Literal[RELATIONS]  # type: ignore[valid-type]
    channel: Literal["online", "offline"]
    materials: Annotated[list[Text], Field(max_length=20)] = []
    e_commitment: bool = False  # 电子承诺书 signed (online)
    face_check: bool = False  # 人脸识别 passed (online)


BindingId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class BindingRef(Command):
    """One binding row, by its id: withdraw and unbind act on that row and no other."""

    binding_id: BindingId


class Decision(Command):
    decision: Literal["approve", "reject"]
    reason: Text | None = None


class Review(BindingRef, Decision):
    pass


class Pair(Command):
    """A binding named by its two people, as story steps name it; the replayer resolves it to
    the pair's one open binding."""

    holder: Code
    beneficiary: Code


class Dated(Command):
    """A period with inclusive ``from`` and ``to``."""

    psn_no: Code
    from_: date = Field(alias="from")
    to: date

    @model_validator(mode="after")
    def _ordered(self) -> Dated:
        if self.to < self.from_:
            raise ValueError("终止日期不能早于起始日期")
        return self


class FileRemote(Dated):
    admdvs: Admdvs


class Freeze(Command):
    holder: Code


class SanctionCmd(Dated):
    reason: Text


class StatusChange(Command):
    psn_no: Code
    status: Literal[STATUSES]  # type: ignore[valid-type]


class VisitRef(VisitFields):
    """A visit as in calc-format.md, with ``fixmedins`` naming a registered institution."""

    fixmedins: Code


class Reimburse(Command):
    """A remote bill that could not settle at the counter, brought to the agency (手工报销)."""

    # kept as "manual:" + claim_no in the 64-character idempotency key
    claim_no: Annotated[str, Field(min_length=1, max_length=57, pattern=r"^[A-Za-z0-9._:-]+$")]
    visit_on: date
    institution: RegisterInstitution
    visit: VisitRef


FlagId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class FlagRef(Command):
    """One supervision flag, by its id (``service.supervise.review``)."""

    flag_id: FlagId


class FlagDecision(FlagRef):
    decision: Literal["confirm", "exclude"]
    reason: Annotated[str, Field(max_length=1000)] = ""  # checked by the use case, in words a clerk reads


class FlagSanction(FlagRef):
    """A confirmed flag turned into a sanction; what is left out is prefilled from the flag."""

    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    reason: Annotated[str, Field(max_length=1000)] = ""
