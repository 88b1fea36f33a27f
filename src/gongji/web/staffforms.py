"""The staff pages' forms. A refused form is shown again with what was typed and the Chinese
message beside the field it concerns, instead of a separate error page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Generic, Literal, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, Field

from gongji.domain.errors import DomainError
from gongji.gate.problems import status_of
from gongji.web.forms import FIELD_ZH, PageForm, read_form

M = TypeVar("M", bound=BaseModel)


@dataclass
class Filled(Generic[M]):
    """A form as sent: ``values`` to show again, the typed ``form`` or the ``errors`` by field."""

    values: dict[str, str]
    form: M | None = None
    errors: dict[str, str] = field(default_factory=dict)
    status: int = 200  # the answer's: the refusal's status (422 bad input, 403 outside the area, 409 taken)

    def refuse(self, e: DomainError, fields: tuple[str, ...] = ()) -> None:
        """Put the refusal beside its field; one the form does not show goes on top (``""``)."""
        self.status = getattr(e, "status", None) or status_of(e.code)
        name = (e.field or "").split(".")[0]
        if name in fields:  # beside its field, the field's name need not be said again
            self.errors[name] = e.message.removeprefix(f"{FIELD_ZH.get(name, name)}:")
        else:
            self.errors[""] = e.message
        self.form = None


def filled(model: type[M]):
    """A route parameter: the form read as ``model``, or refused with its values kept."""

    async def read(request: Request) -> Filled[M]:
        form = await request.form()
        values = {k: v for k, v in form.multi_items() if isinstance(v, str) and k != "csrf_token"}
        out: Filled[M] = Filled(values)
        try:
            out.form = await read_form(request, model)
        except DomainError as e:
            out.refuse(e, tuple(info.alias or name for name, info in model.model_fields.items()))
        return out

    read.model = model  # type: ignore[attr-defined]  # read by the hostile-forms test
    return Depends(read)


class SearchForm(PageForm):
    q: Annotated[str, Field(min_length=1, max_length=64)]


class InstitutionForm(PageForm):
    code: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(max_length=200)] = ""
    level: Annotated[int, Field(ge=1, le=3)] = 1
    admdvs: Annotated[str, Field(pattern=r"^[0-9]{6}$")]
    kind: Literal["hospital", "pharmacy"] = "hospital"


class StaffForm(PageForm):
    username: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")]
    role: Literal["clerk", "supervisor", "auditor", "admin"]
    area: Annotated[str, Field(max_length=6)] = ""


class ExpectForm(PageForm):
    """What the list showed of a secret or password (``security.fingerprint``): a page sent again
    finds it changed and is refused."""

    expect: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]

