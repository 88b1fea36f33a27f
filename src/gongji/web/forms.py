"""Page forms read into typed values, in one place: whatever a form sends that its model does not
take (a file part, a repeated field, a missing, over-long or non-numeric value) is refused with a
Chinese message naming the field, as a 422 page (or an HTMX fragment), never a 500."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Generic, Literal, TypeVar, get_origin

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from gongji.calc_format import Admdvs, Code
from gongji.domain.errors import DomainError
from gongji.domain.situation import STATUSES
from gongji.domain.terms import RELATIONS
from gongji.gate.params import IdempotencyKey
from gongji.service import commands as c

FIELD_ZH = {
    "psn_no": "个人编号", "holder": "主账户人个人编号", "beneficiary": "被绑定人个人编号",
    "relation": "亲属关系", "face_check": "人脸识别", "e_commitment": "电子承诺书", "materials": "申请材料",
    "status": "参保状态", "reason": "原因", "from": "起始日期", "to": "终止日期", "decision": "审核结论",
    "claim_no": "报销单号", "visit_on": "就诊日期", "inst_code": "机构编码", "inst_name": "机构名称",
    "inst_level": "机构等级", "inst_admdvs": "机构所在地区划", "inst_kind": "机构类型",
    "institution": "就诊机构", "level": "机构等级", "admdvs": "区划", "kind": "类型",
    "key": "结算请求号", "med_type": "就诊类型", "dise_codg": "诊断编码", "external_rx": "外配处方",
    "no_account": "不使用个人账户", "items": "费用明细", "code": "编码", "name": "名称",
    "list_class": "目录类别", "category": "费用类型", "amount": "金额", "selfpay_prop": "乙类自付比例",
    "username": "个人编号/用户名", "password": "密码", "next": "跳转地址", "binding_id": "绑定编号",
    "setl_id": "结算号", "fixmedins": "定点机构", "visit": "就诊信息",
    "q": "查询内容", "role": "角色", "area": "服务区域", "expect": "",
    "flag_id": "线索编号", "page": "页码", "state": "状态", "rule": "规则", "severity": "风险等级",
}
HINT_ZH = {  # what a malformed value of these fields should look like
    "amount": "应为金额,如 12.50(不为负,最多两位小数)",
    "selfpay_prop": "应为 0 到 1 之间的比例,如 0.10",
    "key": "只能由字母、数字和 . _ : - 组成,请刷新收费台后重新结算",
    "claim_no": "只能由字母、数字和 . _ : - 组成",
    "admdvs": "应为 6 位行政区划代码,如 652801",
    "expect": "页面已过期,请刷新列表后重新办理",
    "username": "只能由小写字母、数字和 . _ - 组成",
}
CJK = re.compile(r"[\u4e00-\u9fff]")
M = TypeVar("M", bound=BaseModel)


class PageForm(BaseModel):
    """A page form's fields; the CSRF token and the like are read elsewhere, so unknown keys pass."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


def invalid(field: str, text: str) -> DomainError:
    return DomainError("INVALID_INPUT", text, field)


def refusal(e: ValidationError, rows: list[int] | None = None) -> DomainError:
    """The first error of ``e`` as a Chinese refusal: ``第 2 行金额:应为金额…``; ``rows`` maps a
    bill's item index to the row of the form it came from."""
    err = e.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    if loc and loc[0] in ("body", "query", "path", "header"):
        loc = loc[1:]
    names = [p for p in loc if isinstance(p, str)]
    field = names[-1] if names else ""
    where = "".join(f"第 {(rows[p] if rows else p) + 1} 行" for p in loc if isinstance(p, int))
    where += FIELD_ZH.get(field, field)
    text = _why(err, field)
    field_path = ".".join(str(rows[p] if rows and isinstance(p, int) else p) for p in loc)  # rows as on the form
    return invalid(field_path, f"{where}:{text}" if where else text)


def _why(err: dict, field: str) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "missing":
        return "必须填写"
    if kind in ("string_type", "bytes_type", "model_type", "dict_type"):
        return "应为文字(表单不接受文件)"
    if kind in ("string_too_short", "too_short"):
        unit = "个字符" if kind == "string_too_short" else "项"
        return "不能为空" if ctx.get("min_length") == 1 else f"至少 {ctx.get('min_length')} {unit}"
    if kind == "string_too_long":
        return f"不能超过 {ctx.get('max_length')} 个字符"
    if kind == "too_long":
        return f"最多 {ctx.get('max_length')} 项"
    if kind == "int_parsing_size":
        return "数字过大"
    if kind.startswith("int_"):
        return "应为整数"
    if kind.startswith(("greater_than", "less_than")):
        return "超出允许范围"
    if kind.startswith("bool_"):
        return "应为是或否"
    if kind.startswith(("date_", "datetime_")):
        return "应为日期,如 2025-06-03"
    if kind in ("literal_error", "enum"):
        return "不在可选范围内"
    if kind == "extra_forbidden":
        return "不应填写"
    message = str(ctx.get("error", ""))
    if kind == "value_error" and CJK.search(message):
        return message
    return HINT_ZH.get(field, "格式不对" if kind == "string_pattern_mismatch" else "填写有误")


async def read_form(request: Request, model: type[M]) -> M:
    """The request's form as ``model``: list fields take every value of their name, others one."""
    form = await request.form()
    for name, value in form.multi_items():
        if not isinstance(value, str):
            raise invalid(name, f"{FIELD_ZH.get(name, '表单')}:应为文字(表单不接受文件)")
    doc: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        values = form.getlist(key)
        if get_origin(info.annotation) is list:
            doc[key] = values
        elif len(values) > 1:
            raise invalid(key, f"{FIELD_ZH.get(key, key)}:重复填写")
        elif values:
            doc[key] = values[0]
    try:
        return model.model_validate(doc)
    except ValidationError as e:
        raise refusal(e) from None


def form(model: type[M]):
    """A route parameter holding the request's form as ``model``; declare it after the caller's
    ``page(...)`` parameter, so a stranger is turned away before the form is read."""

    async def read(request: Request) -> M:
        return await read_form(request, model)

    read.model = model  # read by the hostile-forms test, which fills every field
    return Depends(read)


@dataclass
class Filled(Generic[M]):
    """A form as it was typed, to show again after a refusal; ``model`` when it was valid,
    ``error`` when not."""

    typed: dict[str, Any]
    model: M | None = None
    error: DomainError | None = None


def kept(model: type[M]):
    """Like ``form``, but a refusal of the values comes back to the route with what was typed
    (``Filled``), so that the page can be shown again filled in; a file part is still refused."""

    async def read(request: Request) -> Filled[M]:
        sent = await request.form()  # parsed once: read_form reads the same
        if not all(isinstance(v, str) for _, v in sent.multi_items()):
            return Filled({}, await read_form(request, model))  # refused there: no file is typed in
        typed: dict[str, Any] = {}
        for name, info in model.model_fields.items():
            key = info.alias or name
            values = sent.getlist(key)
            typed[key] = values if get_origin(info.annotation) is list else (values[0] if values else "")
        try:
            return Filled(typed, await read_form(request, model))
        except DomainError as e:
            return Filled(typed, error=e)

    read.model = model
    return Depends(read)


def refused_status(e: DomainError) -> int:
    """A form shown again after a refusal: 409 when it clashes with what is recorded, else 422."""
    from gongji.gate.problems import status_of
    return 409 if status_of(e.code) == 409 else 422


def again(form: str, filled: Filled, e: DomainError, doing: str = "办理") -> dict:
    """What ``kept.html`` needs to show ``form`` again: the typed values, the field to mark, why."""
    return {"form": form, "values": filled.typed, "bad": bad_field(e), "message": f"未能{doing}:{e.message}"}


def bad_field(e: DomainError) -> str:
    """The form field a refusal names: ``visit.items.2.amount`` is row 2's ``amount``."""
    parts = (e.field or "").split(".")
    parts[-1] = parts[-1].split("[")[0]  # materials[1]: the checkboxes named materials
    name = {"fixmedins": "inst_code", "institution": "inst_code", "items": "amount.0"}.get(parts[-1], parts[-1])
    if len(parts) >= 2 and parts[0] == "institution":
        name = "inst_" + parts[-1]
    rows = [p for p in parts if p.isdigit()]
    return f"{name}.{rows[0]}" if rows else name


# --- the pages' forms ---------------------------------------------------------------------

Word = Annotated[str, Field(max_length=32)]
Line = Annotated[str, Field(max_length=200)]
Ticked = Annotated[str, Field(max_length=8)]  # a checkbox: present (any value) or not


class ApplyForm(PageForm):
    beneficiary: Code
    relation: Literal[RELATIONS]  # type: ignore[valid-type]
    face_check: Ticked = ""
    e_commitment: Ticked = ""


class OfflineForm(PageForm):
    holder: Code
    beneficiary: Code
    relation: Literal[RELATIONS]  # type: ignore[valid-type]
    materials: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=20)] = []


class StatusForm(PageForm):
    psn_no: Code
    status: Literal[STATUSES]  # type: ignore[valid-type]


class SanctionForm(PageForm):
    psn_no: Code
    reason: Annotated[str, Field(min_length=1, max_length=200)]
    from_: date = Field(alias="from")
    to: date

    @field_validator("to")
    @classmethod
    def _ordered(cls, to: date, info: ValidationInfo) -> date:  # a field's check: the refusal names it
        start = info.data.get("from_")
        if start is not None and to < start:
            raise ValueError("不能早于起始日期")
        return to


class BillForm(PageForm):
    """The patient and the bill's rows: six columns, one value per row each (empty rows too)."""

    psn_no: Code
    med_type: Word = "11"
    dise_codg: Word = ""
    external_rx: Ticked = ""
    no_account: Ticked = ""
    code: list[Line] = []
    name: list[Line] = []
    list_class: list[Word] = []
    category: list[Word] = []
    amount: list[Word] = []
    selfpay_prop: list[Word] = []

    @model_validator(mode="after")
    def _rows(self) -> BillForm:
        columns = (self.code, self.name, self.list_class, self.category, self.amount, self.selfpay_prop)
        if len({len(c) for c in columns}) > 1:
            raise ValueError("费用明细各列的行数不一致,请刷新页面后重新填写")
        return self


class SettleForm(BillForm):
    key: IdempotencyKey


class PreviewForm(BillForm):
    key: IdempotencyKey | None = None  # the settle key, kept when the page comes back without JavaScript


class ReimburseForm(BillForm):
    claim_no: Code
    visit_on: date
    inst_code: Code
    inst_name: Line = ""
    inst_level: Annotated[int, Field(ge=1, le=3)] = 2
    inst_admdvs: Admdvs
    inst_kind: Literal["hospital", "pharmacy"] = "hospital"


# what a cashier may type as an amount, once full-width forms are plain (NFKC): 1200, 1200.5,
# 1,200.00 (commas only between groups of three)
AMOUNT = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]{1,2})?")
ROW_FIELD = re.compile(r"rows\.([0-9]+)\.([a-z_]+)")  # a refusal's field naming a row of the bill


def row_error(row: int, field: str, text: str) -> DomainError:
    """A refusal of one row of the bill: ``第 2 行金额:…``, its field ``rows.1.amount``."""
    return invalid(f"rows.{row}.{field}", f"第 {row + 1} 行{FIELD_ZH[field]}:{text}")


def amount_of(text: str, row: int) -> str:
    """Plain yuan (``1200.00`` → ``1200.00``, ``１，２００`` → ``1200``) from what was typed in
    ``row``; a negative amount, a third decimal or two points are refused, naming the row."""
    t = unicodedata.normalize("NFKC", text).strip()
    if t.startswith("-"):
        raise row_error(row, "amount", "不能为负数")
    if t.count(".") > 1:
        raise row_error(row, "amount", "只能有一个小数点,如 1,200.00")
    if re.fullmatch(r"[0-9,]*\.[0-9]{3,}", t):
        raise row_error(row, "amount", "最多两位小数(分)")
    if not AMOUNT.fullmatch(t):
        raise row_error(row, "amount", "应为金额,如 1,200.00 或 1200")
    return t.replace(",", "")


def visit_of(inst: str, f: BillForm) -> c.VisitRef:
    """A visit from a bill form; empty rows are left out, a row with a code or name but no amount
    is refused, and a bad row is named by its number on the form (its field ``rows.N.name``)."""
    items, rows = [], []
    for row, (code, name, cls, cat, amount, prop) in enumerate(zip(f.code, f.name, f.list_class, f.category,
                                                                   f.amount, f.selfpay_prop, strict=True)):
        if not amount.strip():
            if code or name or prop:
                raise row_error(row, "amount", "必须填写(或删除这一行)")
            continue
        item = {"code": code or f"ITEM{len(items) + 1}", "name": name, "list_class": cls, "category": cat,
                "amount": amount_of(amount, row)}
        if prop:
            item["selfpay_prop"] = prop
        items.append(item)
        rows.append(row)
    if not items:
        raise DomainError("INVALID_INPUT", "费用明细:请至少填写一项费用的金额", "items")
    doc = {"psn_no": f.psn_no, "fixmedins": inst, "med_type": f.med_type, "dise_codg": f.dise_codg or None,
           "external_rx": bool(f.external_rx), "acct_used_flag": "0" if f.no_account else "1", "items": items}
    try:
        return c.VisitRef.model_validate(doc)
    except ValidationError as e:
        err = refusal(e, rows)
        loc = e.errors()[0]["loc"]
        index = next((p for p in loc if isinstance(p, int)), None)
        names = [p for p in loc if isinstance(p, str) and p in FIELD_ZH]
        if index is not None and names:
            err.field = f"rows.{rows[index]}.{names[-1]}"
        raise err from None


class FlagDecisionForm(PageForm):
    decision: Literal["confirm", "exclude"]
    reason: Annotated[str, Field(max_length=200)] = ""  # the service says what is missing or too long


class FlagSanctionForm(PageForm):
    from_: date = Field(alias="from")
    to: date
    reason: Annotated[str, Field(max_length=200)] = ""
