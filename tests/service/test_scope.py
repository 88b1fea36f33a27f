"""The area rule: the SQL filter agrees with ``in_area`` on both databases, at every boundary."""

from __future__ import annotations

import pytest

from gongji.domain.errors import DomainError
from gongji.service import commands as c
from gongji.service import scope
from gongji.service.uow import run
from gongji.store import models as m
from tests.service.helpers import service

CODES = ("652801", "652899", "652900", "653001", "659999", "532601", "990101", "999999", "110105")


def test_the_sql_filter_agrees_with_in_area(engine) -> None:
    svc = service(engine)
    for i, code in enumerate(CODES):
        svc.register_person(c.RegisterPerson(psn_no=f"Q{i}", insutype="390", insu_admdvs=code))
    for area in ("", "65", "6528", "652801", "6529", "659", "99", "9999", "11"):
        found = run(engine, lambda uow, a=area: set(uow.session.scalars(scope.persons_in(a).where(
            m.Person.psn_no.like("Q%")))), write=False)
        assert found == {f"Q{i}" for i, code in enumerate(CODES) if scope.in_area(area, code)}, area


def test_areas_are_typed_as_digits_of_a_province_prefecture_or_county() -> None:
    assert [scope.parse_area(a) for a in ("00", "", " 5326 ", "53", "532601")] == ["", "", "5326", "53", "532601"]
    for bad in ("5", "532", "53260", "5326011", "53a6", "５３２６"):
        with pytest.raises(DomainError) as e:
            scope.parse_area(bad)
        assert e.value.code == "INVALID_INPUT" and "全国填 00" in e.value.message
    assert scope.in_area("", None) and not scope.in_area("5326", None) and not scope.in_area("5326", "532801")
