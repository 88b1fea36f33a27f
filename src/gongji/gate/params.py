"""Path, query and form values the REST API and the pages check alike."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import StringConstraints

from gongji.service.queries import MAX_PAGE

BindingId = Annotated[int, Path(ge=1, le=2**31 - 1)]
FlagId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # a supervision flag
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
# what a settlement request number may be: the REST header and the cashier's form alike
IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
