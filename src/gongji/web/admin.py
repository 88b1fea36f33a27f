"""The administrator's pages: designated institutions (add, suspend, resume, a new signing secret)
and staff (add, a new password), within the admin's area. They call what ``POST /api/v1/…`` and
``gongji institution|staff`` call. A new secret or password is in the answer to the form that made
it and nowhere else (no log, URL or cookie); sending that form again is refused, not repeated."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from gongji.domain.errors import DomainError
from gongji.domain.labels import ROLE_ZH, institution_level
from gongji.gate.auth import Principal
from gongji.service import commands as c
from gongji.service import directory, scope, security
from gongji.service import queries as q
from gongji.web.common import back, guard, page, render, svc
from gongji.web.forms import form, refusal
from gongji.web.staffforms import ExpectForm, Filled, InstitutionForm, StaffForm, filled

router = APIRouter(include_in_schema=False)
ADMIN = page("admin")
PER_PAGE = 50
KIND_ZH = {"hospital": "医院", "pharmacy": "定点药店"}
LEVELS = [(1, "一级"), (2, "二级"), (3, "三级")]
PageNo = Annotated[int, Query(ge=1, le=10**6, alias="page")]
InstCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00]+$")]
Username = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")]
SHOWN_ONCE = {"Cache-Control": "no-store"}  # the page with a secret is kept by no cache


def area_words(area: str) -> str:
    return "全国" if area == scope.NATIONAL else area


def outside(what: str, field: str) -> DomainError:
    """``scope.OutOfArea``, said beside the field that named the place."""
    e = scope.OutOfArea(what)
    e.field = field
    return e


# --- institutions ----------------------------------------------------------------------------

@router.get("/admin/institutions", response_class=HTMLResponse)
def institutions(request: Request, page_no: PageNo = 1, who: Principal = Depends(ADMIN)):
    return _institutions(request, who, page_no)


def _institutions(request: Request, who: Principal, page_no: int = 1, f: Filled | None = None) -> HTMLResponse:
    found = svc(request).read(directory.institutions, who.area, PER_PAGE, (page_no - 1) * PER_PAGE)
    for i in found["items"]:
        i["level_zh"] = institution_level(i["level"], i["kind"])
    return render(request, "admin_institutions.html", who, status=f.status if f else 200,
                  found=found, page_no=page_no, pages=max(1, -(-found["total"] // PER_PAGE)),
                  values={"level": "2", "kind": "hospital"} | (f.values if f else {}),
                  errors=f.errors if f else {}, levels=LEVELS, kinds=list(KIND_ZH.items()), area=area_words(who.area))


@router.post("/admin/institutions", response_class=HTMLResponse)
def add_institution(request: Request, who: Principal = Depends(ADMIN),
                    f: Filled[InstitutionForm] = filled(InstitutionForm)):
    if f.form is not None:
        try:
            cmd = c.RegisterInstitution.model_validate(f.form.model_dump())
            if not scope.in_area(who.area, cmd.admdvs):
                raise outside("该机构所在地", "admdvs")
            svc(request).register_institution(cmd, actor=who.actor)
            secret = svc(request).secure(security.new_institution_secret, cmd.code, actor=who.actor)
            return _once(request, who, "institution", cmd.code, cmd.name, secret)
        except ValidationError as e:
            f.refuse(refusal(e), tuple(InstitutionForm.model_fields))
        except DomainError as e:
            f.refuse(e, tuple(InstitutionForm.model_fields))
    return _institutions(request, who, f=f)


def _once(request: Request, who: Principal, what: str, subject: str, name: str, secret: str) -> HTMLResponse:
    response = render(request, "shown_once.html", who, what=what, subject=subject, label=name, secret=secret)
    response.headers.update(SHOWN_ONCE)
    return response


@router.post("/admin/institutions/{code}/suspend")
def suspend(request: Request, code: InstCode, who: Principal = Depends(ADMIN)):
    return _suspend(request, who, code, True)


@router.post("/admin/institutions/{code}/resume")
def resume(request: Request, code: InstCode, who: Principal = Depends(ADMIN)):
    return _suspend(request, who, code, False)


def _suspend(request: Request, who: Principal, code: str, suspended: bool):
    guard(request, who, scope.act_on_institution, code)
    try:
        svc(request).secure(security.set_suspended, code, suspended, actor=who.actor)
    except DomainError as e:
        return back(request, "/admin/institutions", error=e, doing="暂停" if suspended else "恢复")
    text = (f"已暂停 {code} 的结算资格:其签名请求和收费员登录一律拒绝。" if suspended
            else f"已恢复 {code} 的结算资格。")
    return back(request, "/admin/institutions", text=text)


@router.post("/admin/institutions/{code}/secret", response_class=HTMLResponse)
def rotate(request: Request, code: InstCode, who: Principal = Depends(ADMIN), f: ExpectForm = form(ExpectForm)):
    guard(request, who, scope.act_on_institution, code)
    try:
        secret = svc(request).secure(security.new_institution_secret, code, actor=who.actor, expect=f.expect)
    except DomainError as e:
        return back(request, "/admin/institutions", error=e, doing="更换密钥")
    return _once(request, who, "rotated", code, svc(request).read(q.institution_view, code)["name"], secret)


# --- staff -----------------------------------------------------------------------------------

@router.get("/admin/staff", response_class=HTMLResponse)
def staff(request: Request, page_no: PageNo = 1, who: Principal = Depends(ADMIN)):
    return _staff(request, who, page_no)


def _staff(request: Request, who: Principal, page_no: int = 1, f: Filled | None = None) -> HTMLResponse:
    found = svc(request).read(directory.staff, who.area, PER_PAGE, (page_no - 1) * PER_PAGE, datetime.now())
    for s in found["items"]:
        s["area_zh"] = area_words(s["area"])
    return render(request, "admin_staff.html", who, status=f.status if f else 200,
                  found=found, page_no=page_no, pages=max(1, -(-found["total"] // PER_PAGE)),
                  values={"role": "clerk"} | (f.values if f else {}), errors=f.errors if f else {},
                  roles=list(ROLE_ZH.items()), role_zh=ROLE_ZH, area=area_words(who.area))


@router.post("/admin/staff", response_class=HTMLResponse)
def add_staff(request: Request, who: Principal = Depends(ADMIN), f: Filled[StaffForm] = filled(StaffForm)):
    """As ``POST /api/v1/staff``: the area served defaults to the admin's own and must lie within it."""
    if f.form is not None:
        new = f.form
        try:
            served = who.area if not new.area else scope.served(new.area, svc(request).registry)
            if not scope.in_area(who.area, served or "00"):
                raise outside("该服务区域", "area")
            password = svc(request).secure(security.add_staff, new.username, new.role, served, actor=who.actor)
            return _once(request, who, "staff", new.username, ROLE_ZH[new.role], password)
        except DomainError as e:
            f.refuse(e, tuple(StaffForm.model_fields))
    return _staff(request, who, f=f)


@router.post("/admin/staff/{username}/password", response_class=HTMLResponse)
def reset_password(request: Request, username: Username, who: Principal = Depends(ADMIN),
                   f: ExpectForm = form(ExpectForm)):
    if not svc(request).read(directory.staff_in_area, who.area, username):  # another area's: unknown here
        raise DomainError("NOT_FOUND", f"查无工作人员 {username}", "username")
    try:
        password = svc(request).secure(security.set_staff_password, username, actor=who.actor, expect=f.expect)
    except DomainError as e:
        return back(request, "/admin/staff", error=e, doing="重置密码")
    return _once(request, who, "password", username, "", password)
