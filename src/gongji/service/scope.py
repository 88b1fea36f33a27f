"""Which insured persons a staff member serves: the area rule, in one place.

A staff member's area is an admdvs prefix: 2 digits a province, 4 a prefecture, 6 a county, or
``""`` (entered as ``00``) the whole country. A person is in the area when their ``insu_admdvs``
starts with it; a binding when its holder or its beneficiary is; a settlement when its patient or
a holder who paid in it is; an audit entry when a person it names is. Reading what lies outside
answers as if it did not exist (404); acting on it is refused (403), so that the clerk sends the
insured person to the agency of their own area.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, or_, select, true

from gongji.domain.errors import DomainError
from gongji.service.uow import UnitOfWork
from gongji.store import models as m

NATIONAL = ""


class OutOfArea(DomainError):
    status = 403

    def __init__(self, what: str) -> None:
        super().__init__("FORBIDDEN", f"{what}不在本经办机构的服务区域,请由其参保地经办机构办理")


def parse_area(text: str | None) -> str:
    """The stored form of an area typed by a person: ``00`` or nothing is the whole country."""
    text = (text or "").strip()
    if text in ("", "00"):
        return NATIONAL
    if not (text.isascii() and text.isdigit() and len(text) in (2, 4, 6)):
        raise DomainError("INVALID_INPUT", "服务区域须为 2 位(省)、4 位(地市)或 6 位(县区)"
                          "行政区划代码前缀;全国填 00", "area")
    return text


def served(text: str | None, registry) -> str:
    """``parse_area``, refusing an area that no region's policy covers (a typing slip)."""
    area = parse_area(text)
    if not any(overlaps(area, r.prefix) for r in registry.regions):
        known = "、".join(f"{r.prefix} {r.name}" for r in registry.regions)
        raise DomainError("INVALID_INPUT", f"没有统筹区的共济政策覆盖服务区域 {area}(已有:{known})", "area")
    return area


def overlaps(area: str, prefix: str) -> bool:
    """Whether an area and a policy region's prefix share any county."""
    return prefix.startswith(area) or area.startswith(prefix)


def in_area(area: str, admdvs: str | None) -> bool:
    return area == NATIONAL or (admdvs or "").startswith(area)


# --- filters for lists ---------------------------------------------------------------------

def admdvs_in(area: str, column) -> ColumnElement[bool]:
    """``column`` starts with ``area``, as a range of digit strings: an index serves it (LIKE would
    need a C collation on PostgreSQL)."""
    if area == NATIONAL:
        return true()
    upper = str(int(area) + 1).zfill(len(area))
    return and_(column >= area, column < upper) if len(upper) == len(area) else column >= area


def persons_in(area: str):
    return select(m.Person.psn_no).where(admdvs_in(area, m.Person.insu_admdvs))


def person_filter(area: str, psn_no) -> ColumnElement[bool]:
    return true() if area == NATIONAL else psn_no.in_(persons_in(area))


def binding_filter(area: str) -> ColumnElement[bool]:
    if area == NATIONAL:
        return true()
    return or_(m.Binding.holder.in_(persons_in(area)), m.Binding.beneficiary.in_(persons_in(area)))


def settlement_filter(area: str) -> ColumnElement[bool]:
    if area == NATIONAL:
        return true()
    paid_by = select(m.MulaidPayment.settlement_id).where(m.MulaidPayment.holder.in_(persons_in(area)))
    return or_(m.Settlement.psn_no.in_(persons_in(area)), m.Settlement.id.in_(paid_by))


def audit_filter(area: str) -> ColumnElement[bool]:
    """Entries that name a person of the area (``audit.admdvs`` lists their codes, space-separated)."""
    if area == NATIONAL:
        return true()
    col = m.AuditEntry.admdvs
    return or_(col.like(f"{area}%"), col.like(f"% {area}%"))


# --- checks on one target (run through ``Service.read``) -----------------------------------

def _areas(uow: UnitOfWork, psn_nos: Iterable[str]) -> list[str]:
    return list(uow.session.scalars(select(m.Person.insu_admdvs).where(m.Person.psn_no.in_(set(psn_nos)))))


def see_person(uow: UnitOfWork, area: str, psn_no: str) -> None:
    """A person outside the area reads as unknown."""
    found = _areas(uow, [psn_no])
    if found and not in_area(area, found[0]):
        raise DomainError("UNKNOWN_PERSON", "查无此人", "psn_no")


def act_on(uow: UnitOfWork, area: str, psn_nos: Iterable[str], what: str = "该参保人") -> None:
    """Acting on persons (a binding's pair: either one) needs one of them in the area; persons
    not registered at all are left to the use case to refuse."""
    found = _areas(uow, [p for p in psn_nos if p])
    if found and not any(in_area(area, a) for a in found):
        raise OutOfArea(what)


def act_on_binding(uow: UnitOfWork, area: str, binding_id: int) -> None:
    row = uow.session.get(m.Binding, binding_id)
    if row is not None:
        act_on(uow, area, (row.holder, row.beneficiary), "该绑定的双方")


def see_settlement(uow: UnitOfWork, area: str, setl_id: str) -> bool:
    pk = m.settlement_pk(setl_id)
    return pk is not None and uow.session.scalar(
        select(m.Settlement.id).where(m.Settlement.id == pk, settlement_filter(area))) is not None


def act_on_settlement(uow: UnitOfWork, area: str, setl_id: str) -> None:
    """Acting on a settlement (approving a reimbursement): its patient must be in the area."""
    pk = m.settlement_pk(setl_id)
    psn_no = uow.session.scalar(select(m.Settlement.psn_no).where(m.Settlement.id == pk)) if pk else None
    if psn_no is not None:
        act_on(uow, area, [psn_no], "该结算的参保人")


def act_on_institution(uow: UnitOfWork, area: str, code: str) -> None:
    admdvs = uow.session.scalar(select(m.Institution.admdvs).where(m.Institution.code == code))
    if admdvs is not None and not in_area(area, admdvs):
        raise OutOfArea("该定点医药机构")


# --- the areas an audit entry concerns -----------------------------------------------------

def target_ids(target: str) -> list[str]:
    """The ids in an audit target (``P1``, ``P1->P2``, ``H1:P2``, ``claim:C1:P2``, ``S00000001:key``)."""
    return [t for t in target.replace("->", ":").split(":") if t]


def audit_areas(db, targets: list[str]) -> list[str | None]:
    """Per target, the insu_admdvs of the persons it names (a settlement id names its patient),
    space-separated; None when it names nobody. ``db`` is the caller's ``store.raw.Raw``."""
    ids = sorted({t for target in targets for t in target_ids(target)})
    if not ids:
        return [None] * len(targets)
    found = dict(db.rows("SELECT psn_no, insu_admdvs FROM persons WHERE psn_no IN ({})", lists=[ids]))
    bindings = sorted({int(t.split(":")[1]) for t in targets if t.startswith("binding:") and t[8:].isdigit()})
    if bindings:  # an act on a binding by id concerns both its persons
        for bid, holder, beneficiary in db.rows(
                "SELECT b.id, h.insu_admdvs, p.insu_admdvs FROM bindings b JOIN persons h ON h.psn_no = b.holder"
                " JOIN persons p ON p.psn_no = b.beneficiary WHERE b.id IN ({})", lists=[bindings]):
            found[f"binding:{bid}"] = f"{holder} {beneficiary}"
    flags = sorted({int(t[5:]) for t in targets if t.startswith("flag:") and t[5:].isdigit() and len(t) < 16})
    if flags:  # a decision on a supervision flag concerns the areas the flag names
        for fid, admdvs in db.rows("SELECT id, admdvs FROM supervision_flags WHERE id IN ({})", lists=[flags]):
            found[f"flag:{fid}"] = (admdvs or "").replace(",", " ")  # comma-separated in the flag
    setls = {m.setl_id_of(pk): pk for pk in (m.settlement_pk(t) for t in ids) if pk is not None}
    if setls:
        by_pk = dict(db.rows("SELECT s.id, p.insu_admdvs FROM settlements s JOIN persons p ON p.psn_no = s.psn_no"
                             " WHERE s.id IN ({})", lists=[list(setls.values())]))
        found |= {sid: by_pk[pk] for sid, pk in setls.items() if pk in by_pk}
    out = []
    for target in targets:
        named = [found[target]] if target in found else [found[t] for t in target_ids(target) if t in found]
        codes = list(dict.fromkeys(code for text in named for code in text.split()))
        out.append(" ".join(codes) or None)
    return out


# --- the rules as the API and the pages apply them to a caller ----------------------------

def guard(service, who, check, *args) -> None:
    """A staff member of an area may read and act only within it: ``check`` is one of this
    module's (it raises); national staff, persons and institutions pass here. ``who`` is the
    caller (``kind``, ``id``, ``area``), whichever edge it came through."""
    if who.kind == "staff" and who.area != NATIONAL:
        service.read(check, who.area, *args)


def party_settlement(service, who, setl_id: str) -> dict:
    """The settlement, if the caller is party to it: its institution, staff of its area (the
    patient's, or a paying holder's), the patient, or a holder who paid in it. Anyone else is
    told it does not exist, not that it is someone else's."""
    from gongji.service import queries as q

    s = service.read(q.settlement, setl_id)
    payers = {d["holder"] for d in s["mulaid_detail"]}
    if who.kind == "institution" and s["fixmedins"] == who.id \
            or who.kind == "staff" and (who.area == NATIONAL or service.read(see_settlement, who.area, setl_id)) \
            or who.kind == "person" and (who.id == s["psn_no"] or who.id in payers):
        return s
    raise DomainError("UNKNOWN_SETTLEMENT", f"查无此结算 {setl_id}", "setl_id")
