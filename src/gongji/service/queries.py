"""Read models for the API and the pages: a person, an account with its year against each cap,
authorisation records, account transactions, settlements. Reads only; paged where lists grow."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from gongji.domain.errors import DomainError
from gongji.domain.money import format_yuan as y
from gongji.domain.regions import region_name
from gongji.policy.loader import PolicyError, Registry
from gongji.service import scope
from gongji.service.bindings import view as binding_view
from gongji.service.common import person
from gongji.service.settlements import find, settled_output
from gongji.service.uow import UnitOfWork
from gongji.store import models as m

MAX_PAGE = 200


def mask_certno(certno: str | None) -> str | None:
    """``652801********1234``: the area and the last four, never the birth date."""
    return None if not certno else certno[:6] + "*" * (len(certno) - 10) + certno[-4:]


def mask_phone(phone: str | None) -> str | None:
    return None if not phone else phone[:3] + "****" + phone[-4:]


def mask_name(name: str | None) -> str | None:
    return None if not name else name[0] + "*" * (len(name) - 1)


def person_view(uow: UnitOfWork, psn_no: str, unmasked: bool = False) -> dict:
    p = person(uow.session, psn_no)
    return {
        "psn_no": p.psn_no, "insutype": p.insutype, "insu_admdvs": p.insu_admdvs,
        "status": p.status, "status_on": p.status_on.isoformat() if p.status_on else None,
        "mulaid_frozen": p.mulaid_frozen,
        "name": p.name if unmasked else mask_name(p.name),
        "certno": p.certno if unmasked else mask_certno(p.certno),
        "phone": p.phone if unmasked else mask_phone(p.phone),
    }


def find_patient(uow: UnitOfWork, text: str) -> dict:
    """A patient by insurance number (社保卡 / 电子凭证), or by ID-card number, as a cashier sees
    them: the full name (to call the patient by), the ID-card number and phone masked."""
    p = uow.session.get(m.Person, text)
    if p is None and len(text) == 18:
        p = uow.session.scalar(select(m.Person).where(m.Person.certno == text.upper()))
    if p is None:
        raise DomainError("UNKNOWN_PERSON", "查无此参保人,请核对凭证或证件号码", "patient")
    return person_view(uow, p.psn_no) | {"name": p.name}


def statement_people(uow: UnitOfWork, s: dict) -> dict[str, dict]:
    """The full names and insurance types of a settlement's patient and paying holders, for the
    结算单 handed to the patient (names only: no certificate number, phone or balance)."""
    wanted = {s["psn_no"], *(d["holder"] for d in s["mulaid_detail"])}
    rows = uow.session.execute(select(m.Person.psn_no, m.Person.name, m.Person.insutype, m.Person.insu_admdvs)
                               .where(m.Person.psn_no.in_(wanted)))
    return {p: {"name": name, "insutype": insutype, "insu_admdvs": admdvs} for p, name, insutype, admdvs in rows}


def names_of(uow: UnitOfWork, psn_nos: Iterable[str]) -> dict[str, str | None]:
    """Full names by 个人编号, for a family's own records (their export names whose bill each was)."""
    rows = uow.session.execute(select(m.Person.psn_no, m.Person.name).where(m.Person.psn_no.in_(set(psn_nos))))
    return {p: name for p, name in rows}


def institution_view(uow: UnitOfWork, code: str) -> dict:
    from gongji.service.common import institution
    i = institution(uow.session, code, "code")
    return {"code": i.code, "name": i.name, "level": i.level, "admdvs": i.admdvs, "kind": i.kind}


def account_view(uow: UnitOfWork, registry: Registry, psn_no: str, today: date) -> dict:
    """Balance, and this year's mutual-aid used against each cap that applies to the person."""
    s = uow.session
    p = person(s, psn_no)
    bal = s.scalar(select(m.Account.balance).where(m.Account.psn_no == psn_no))
    u = s.get(m.YearUsage, (psn_no, today.year))
    received = (u.mulaid_received + u.zeroed_received) if u else 0
    paid = (u.mulaid_paid + u.zeroed_paid) if u else 0
    try:
        terms = registry.find(p.insu_admdvs).at(today)
    except PolicyError:
        terms = None
    caps = {}
    if terms is not None:
        ben_cap = terms.annual_cap_beneficiary.get(p.insutype)
        caps["beneficiary_year"] = _cap(received, ben_cap)
        if terms.chronic_extra_quota is not None and ben_cap is not None:
            caps["beneficiary_year_chronic"] = _cap(received, ben_cap + terms.chronic_extra_quota)
        if p.insutype == "310":
            caps["holder_year"] = _cap(paid, terms.annual_cap_holder)
        caps["settlement"] = {"cap": None if terms.settlement_cap is None else y(terms.settlement_cap)}
    sanctions = [{"from": x.start.isoformat(), "to": x.end.isoformat(), "reason": x.reason}
                 for x in s.scalars(select(m.Sanction).where(m.Sanction.psn_no == psn_no, m.Sanction.end >= today)
                                    .order_by(m.Sanction.start, m.Sanction.id))]
    return {"psn_no": psn_no, "year": today.year, "has_account": bal is not None,
            "balance": y(bal) if bal is not None else None, "mulaid_frozen": p.mulaid_frozen,
            "mulaid_received": y(received), "mulaid_paid": y(paid), "caps": caps,
            "sanctions": sanctions}  # a suspension for a violation, in force or to come


def _cap(used: int, cap: int | None) -> dict:
    if cap is None:
        return {"cap": None, "used": y(used), "left": None, "note": "未明确公布,除余额外不设限"}
    return {"cap": y(cap), "used": y(used), "left": y(max(0, cap - used))}


def page(limit: int, offset: int) -> tuple[int, int]:
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise DomainError("INVALID_INPUT", f"每页条数须在 1–{MAX_PAGE} 之间,起始位置不能为负", "limit")
    return limit, offset


def counted(uow: UnitOfWork, q, order, limit: int, offset: int) -> tuple[int, list]:
    """How many rows ``q`` selects in all, and one page of them in ``order``."""
    total = uow.session.scalar(select(func.count()).select_from(q.subquery())) or 0
    return total, list(uow.session.scalars(q.order_by(order).limit(limit).offset(offset)))


def bindings_list(uow: UnitOfWork, today: date, *, holder=None, beneficiary=None, person_no=None,
                  state=None, region=None, overdue: bool | None = None, limit=50, offset=0,
                  area: str = scope.NATIONAL) -> dict:
    """Bindings by the filters given, within a staff member's area (``service.scope``)."""
    limit, offset = page(limit, offset)
    q = select(m.Binding).where(scope.binding_filter(area))
    if holder:
        q = q.where(m.Binding.holder == holder)
    if beneficiary:
        q = q.where(m.Binding.beneficiary == beneficiary)
    if person_no:
        q = q.where(or_(m.Binding.holder == person_no, m.Binding.beneficiary == person_no))
    if state:
        q = q.where(m.Binding.state == state)
    if region:
        q = q.where(m.Binding.region == region)
    if overdue is not None:
        q = q.where(m.Binding.state == "pending")
        q = q.where(m.Binding.review_due < today if overdue else m.Binding.review_due >= today)
    total = uow.session.scalar(select(func.count()).select_from(q.subquery()))
    rows = uow.session.scalars(q.order_by(m.Binding.review_due, m.Binding.id).limit(limit).offset(offset))
    return {"total": total, "items": [binding_view(x, today) for x in rows]}


def transactions(uow: UnitOfWork, psn_no: str, limit=50, offset=0, frm: date | None = None,
                 to: date | None = None, patient: str | None = None) -> dict:
    """The personal account's postings, newest first, each with what caused it and, for a
    settlement, whose bill it was; filtered by date (inclusive) and by patient."""
    limit, offset = page(limit, offset)
    person(uow.session, psn_no)
    q = _postings(psn_no, frm, to, patient)
    total = uow.session.scalar(select(func.count()).select_from(q.subquery()))
    rows = uow.session.execute(q.order_by(m.Posting.id.desc()).limit(limit).offset(offset))
    return {"total": total, "items": [_transaction(*row) for row in rows]}


def all_transactions(uow: UnitOfWork, psn_no: str, frm: date | None = None, to: date | None = None,
                     patient: str | None = None, chunk: int = 500) -> Iterator[dict]:
    """Every posting ``transactions`` pages through, from one statement (one snapshot), fetched
    ``chunk`` rows at a time: for exports, which must not stop at a page."""
    person(uow.session, psn_no)
    q = _postings(psn_no, frm, to, patient).order_by(m.Posting.id.desc())
    for row in uow.session.execute(q.execution_options(yield_per=chunk)):
        yield _transaction(*row)


def _postings(psn_no: str, frm: date | None, to: date | None, patient: str | None):
    q = (select(m.Posting.id, m.Posting.amount, m.Journal.kind, m.Journal.on, m.Journal.settlement_id,
                m.Settlement.psn_no)
         .join(m.Journal, m.Journal.id == m.Posting.journal_id)
         .join(m.Account, m.Account.id == m.Posting.account_id)
         .outerjoin(m.Settlement, m.Settlement.id == m.Journal.settlement_id)
         .where(m.Account.psn_no == psn_no))
    if frm:
        q = q.where(m.Journal.on >= frm)
    if to:
        q = q.where(m.Journal.on <= to)
    if patient:
        q = q.where(m.Settlement.psn_no == patient)
    return q


def _transaction(pid: int, amount: int, kind: str, on: date, sid: int | None, who: str | None) -> dict:
    return {"id": pid, "amount": y(amount), "kind": kind, "on": on.isoformat(),
            "setl_id": m.setl_id_of(sid) if sid else None, "patient": who}


def settlements_of(uow: UnitOfWork, *, psn_no=None, payer=None, fixmedins=None, limit=50, offset=0) -> dict:
    limit, offset = page(limit, offset)
    q = select(m.Settlement)
    if psn_no:
        q = q.where(m.Settlement.psn_no == psn_no)
    if payer:
        q = q.where(m.Settlement.id.in_(select(m.MulaidPayment.settlement_id).where(m.MulaidPayment.holder == payer)))
    if fixmedins:
        q = q.where(m.Settlement.fixmedins == fixmedins)
    total = uow.session.scalar(select(func.count()).select_from(q.subquery()))
    rows = uow.session.scalars(q.options(selectinload(m.Settlement.mulaid))
                               .order_by(m.Settlement.id.desc()).limit(limit).offset(offset))
    return {"total": total, "items": [settlement_view(r, items=False) for r in rows]}


def settlement_view(r: m.Settlement, items: bool = True) -> dict:
    out = settled_output(r) | {
        "psn_no": r.psn_no, "fixmedins": r.fixmedins, "region": r.region,
        "setl_date": r.setl_date.isoformat(), "med_type": r.med_type, "dise_codg": r.dise_codg,
        "state": r.state, "reversed_on": r.reversed_on.isoformat() if r.reversed_on else None,
    }
    if items:
        out["items"] = [{"code": i.code, "name": i.name, "list_class": i.list_class,
                         "category": i.category, "amount": y(i.amount), "selfpay_prop": i.selfpay_prop,
                         "overlmt_amt": y(i.overlmt), "classified_by": i.classified_by}
                        for i in r.items]
    return out


def settlement(uow: UnitOfWork, setl_id: str) -> dict:
    return settlement_view(find(uow, setl_id))


def dashboard(uow: UnitOfWork, registry: Registry, today: date, days: int = 30,
              area: str = scope.NATIONAL) -> dict:
    """Figures for staff: settlements per day, mutual-aid by region this year, and how much of
    their yearly cap the holders have used (in bands of 20%); all within the staff's area."""
    from datetime import timedelta
    s = uow.session
    start = today - timedelta(days=days - 1)
    in_area = scope.settlement_filter(area)
    per_day = dict(s.execute(select(m.Settlement.setl_date, func.count())
                             .where(m.Settlement.setl_date >= start, m.Settlement.setl_date <= today, in_area)
                             .group_by(m.Settlement.setl_date)).all())
    daily = [((start + timedelta(days=i)).isoformat(), per_day.get(start + timedelta(days=i), 0)) for i in range(days)]
    year_start = date(today.year, 1, 1)
    by_region = dict(s.execute(select(m.Settlement.region, func.sum(m.Settlement.acct_mulaid_pay))
                               .where(m.Settlement.state == "settled", m.Settlement.setl_date >= year_start,
                                      in_area)
                               .group_by(m.Settlement.region)).all())
    regions = [(region_name(r.region), int(by_region.get(r.region) or 0)) for r in registry.regions
               if scope.overlaps(area, r.prefix)]
    bands = [0] * 6  # 0–20, 20–40, 40–60, 60–80, 80–100 %, and no cap published
    rows = s.execute(select(m.YearUsage.psn_no, m.YearUsage.mulaid_paid, m.Person.insu_admdvs)
                     .join(m.Person, m.Person.psn_no == m.YearUsage.psn_no)
                     .where(m.YearUsage.year == today.year, m.YearUsage.mulaid_paid > 0,
                            scope.admdvs_in(area, m.Person.insu_admdvs)))
    for _, paid, admdvs in rows:
        try:
            cap = registry.find(admdvs).at(today).annual_cap_holder
        except PolicyError:
            cap = None
        bands[5 if cap is None else min(4, paid * 5 // cap)] += 1
    return {"daily": daily, "regions": regions, "bands": bands}
