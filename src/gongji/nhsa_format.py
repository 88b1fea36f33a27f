"""The national interface's messages as typed models (docs/nhsa.md): the envelope, each
transaction's input nodes, and the reply. Lenient where real HIS software differs (numbers as
JSON numbers or strings, "" and null for absent, one-digit codes, a ``T`` in times, unknown keys
ignored at every level); exact where money is concerned (amounts parsed from their literal text,
never through a float)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from gongji.calc_format import InputError
from gongji.domain.money import MAX_YUAN_DIGITS, Fen
from gongji.service.clock import CHINA

Lenient = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        raise ValueError("应为文本")
    if isinstance(v, (int, Decimal)):
        return str(v)
    if not isinstance(v, str):
        raise ValueError("应为文本")
    return v.strip()


def _decimal(v: Any, places: int, what: str) -> Decimal | None:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, bool) or isinstance(v, float):
        raise ValueError(f"{what}应为数值")
    try:
        d = Decimal(v.strip()) if isinstance(v, str) else Decimal(v)
    except (InvalidOperation, TypeError):
        raise ValueError(f"{what}不是数值:{str(v)[:20]}") from None
    if not d.is_finite() or d < 0:
        raise ValueError(f"{what}不能为负数或非数值")
    if d >= Decimal(10) ** MAX_YUAN_DIGITS:
        raise ValueError(f"{what}过大")
    exponent = d.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        raise ValueError(f"{what}最多 {places} 位小数")
    return d


def _amount(v: Any) -> Fen | None:
    d = _decimal(v, 2, "金额")
    return None if d is None else int(d * 100)


def _code(width: int):
    def pad(v: Any) -> str:
        t = _text(v)
        return t.zfill(width) if t.isdigit() and len(t) < width else t
    return pad


def _datetime(v: Any) -> datetime | None:
    t = _text(v)
    if not t:
        return None
    try:  # an ISO time with a zone (C#'s DateTime.UtcNow writes a Z): converted to China time
        zoned = datetime.fromisoformat(t.replace("Z", "+00:00"))
        if zoned.tzinfo is not None:
            return zoned.astimezone(CHINA).replace(tzinfo=None)
    except ValueError:
        pass
    t = t.replace("T", " ")[:19]
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y%m%d%H%M%S"):
        try:
            return datetime.strptime(t, fmt)
        except ValueError:
            continue
    raise ValueError("时间格式应为“年-月-日 时:分:秒”,如 2025-01-02 08:30:00")


def _date(v: Any) -> date | None:
    t = _text(v)
    if not t:
        return None
    try:
        return datetime.strptime(t.replace("T", " ")[:10], "%Y-%m-%d").date()
    except ValueError:
        raise ValueError("日期格式应为“年-月-日”,如 2025-01-02") from None


def Str(n: int, required: bool = False):  # noqa: N802 - a type factory, read like C(n)
    return Annotated[str, BeforeValidator(_text), Field(min_length=1 if required else 0, max_length=n)]


def Code(width: int, required: bool = False):  # noqa: N802
    return Annotated[str, BeforeValidator(_code(width)), Field(min_length=1 if required else 0, max_length=max(width, 6))]


Amount = Annotated[Fen | None, BeforeValidator(_amount)]
Quantity = Annotated[Decimal | None, BeforeValidator(lambda v: _decimal(v, 4, "数量"))]
Price = Annotated[Decimal | None, BeforeValidator(lambda v: _decimal(v, 6, "单价"))]
DT = Annotated[datetime | None, BeforeValidator(_datetime)]
D = Annotated[date | None, BeforeValidator(_date)]
Number = Annotated[Decimal | None, BeforeValidator(lambda v: _decimal(v, 4, "数值"))]


class Node(BaseModel):
    model_config = Lenient


# ---- the envelope (公共输入, spec 1.3) ----

class Envelope(Node):
    infno: Str(5, True)
    msgid: Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
    mdtrtarea_admvs: Str(6) = ""
    insuplc_admdvs: Str(6) = ""
    recer_sys_code: Str(10) = ""
    dev_no: Str(100) = ""
    dev_safe_info: Str(2000) = ""
    cainfo: Str(1024) = ""
    signtype: Str(10) = ""
    infver: Str(6) = ""
    opter_type: Str(3) = ""
    opter: Str(30) = ""
    opter_name: Str(50) = ""
    inf_time: DT = None
    fixmedins_code: Str(30, True)
    fixmedins_name: Str(200) = ""
    sign_no: Str(30) = ""
    input: Any = None


# ---- 9001 / 9002 ----

class SignIn(Node):
    opter_no: Str(20, True)
    mac: Str(64) = ""  # C(20) in the spec; an IPv6 address or a long MAC is accepted
    ip: Str(64) = ""


class In9001(Node):
    signIn: SignIn  # noqa: N815 - the spec's node name


class SignOut(Node):
    sign_no: Str(30, True)
    opter_no: Str(20) = ""


class In9002(Node):
    signOut: SignOut  # noqa: N815


# ---- 1101 ----

class PersonQuery(Node):
    mdtrt_cert_type: Code(2) = ""
    mdtrt_cert_no: Str(50) = ""
    card_sn: Str(32) = ""
    begntime: DT = None
    psn_cert_type: Code(2) = ""
    certno: Str(50) = ""
    psn_name: Str(50) = ""
    psn_no: Str(30) = ""  # gongji's extension: by person number alone


class In1101(Node):
    data: PersonQuery


# ---- 2201 / 2202 ----

class Registration(Node):
    psn_no: Str(30, True)
    insutype: Str(6, True)
    begntime: DT = None
    mdtrt_cert_type: Code(2) = ""
    mdtrt_cert_no: Str(50) = ""
    ipt_otp_no: Str(30, True)
    atddr_no: Str(30) = ""
    dr_name: Str(50) = ""
    dept_code: Str(30) = ""
    dept_name: Str(100) = ""
    caty: Str(6) = ""


class In2201(Node):
    data: Registration | None = None
    mdtrtinfo: Registration | None = None  # Guangdong

    @property
    def node(self) -> Registration:
        return _one(self.data, self.mdtrtinfo, "data")


class VisitKey(Node):
    psn_no: Str(30, True)
    mdtrt_id: Str(30, True)
    ipt_otp_no: Str(30) = ""


class In2202(Node):
    data: VisitKey


# ---- 2203 ----

class VisitInfo(Node):
    mdtrt_id: Str(30, True)
    psn_no: Str(30, True)
    med_type: Annotated[str, BeforeValidator(_text), Field(pattern=r"^[0-9]{2,6}$")]
    begntime: DT = None
    main_cond_dscr: Str(1000) = ""
    dise_codg: Str(30) = ""
    dise_name: Str(500) = ""


class Diagnosis(Node):
    diag_type: Str(3) = ""
    diag_srt_no: Str(4) = ""
    diag_code: Str(20, True)
    diag_name: Str(100) = ""
    diag_dept: Str(50) = ""
    dise_dor_no: Str(30) = ""
    dise_dor_name: Str(50) = ""
    diag_time: DT = None
    vali_flag: Str(3) = "1"
    maindiag_flag: Str(3) = ""


def _listed(v: Any) -> Any:
    return [v] if isinstance(v, dict) else ([] if v is None else v)


class In2203(Node):
    mdtrtinfo: VisitInfo
    diseinfo: Annotated[list[Diagnosis], BeforeValidator(_listed), Field(max_length=100)] = []


# ---- 2204 / 2205 ----

class LineBase(Node):
    """What a fee line (2204 ``feedetail``) and a drug line (2101/2102 ``drugdetail``) share:
    enough to classify it by the catalogue."""

    feedetl_sn: Str(30, True)
    rxno: Str(30) = ""
    rx_circ_flag: Str(3) = "0"
    fee_ocur_time: DT = None
    med_list_codg: Str(50, True)
    medins_list_codg: Str(150) = ""
    det_item_fee_sumamt: Amount
    cnt: Quantity
    pric: Price
    bilg_dr_codg: Str(30) = ""
    bilg_dr_name: Str(50) = ""
    hosp_appr_flag: Str(3) = "0"


class FeeLine(LineBase):
    mdtrt_id: Str(30) = ""
    psn_no: Str(30) = ""
    chrg_bchno: Str(30, True)
    dise_codg: Str(30) = ""
    bilg_dept_codg: Str(30) = ""
    bilg_dept_name: Str(100) = ""


class In2204(Node):
    feedetail: Annotated[list[FeeLine], BeforeValidator(_listed), Field(min_length=1, max_length=2000)]


class BatchKey(Node):
    mdtrt_id: Str(30, True)
    chrg_bchno: Str(30, True)
    psn_no: Str(30, True)


class In2205(Node):
    data: BatchKey


# ---- 2206 / 2207 ----

class SettleData(Node):
    psn_no: Str(30, True)
    mdtrt_cert_type: Code(2) = ""
    mdtrt_cert_no: Str(50) = ""
    med_type: Str(6, True)
    medfee_sumamt: Amount
    psn_setlway: Code(2) = "01"
    mdtrt_id: Str(30, True)
    chrg_bchno: Str(30, True)
    acct_used_flag: Annotated[str, BeforeValidator(_text), Field(pattern=r"^[01]?$")] = "1"
    insutype: Str(6, True)
    invono: Str(20) = ""
    mid_setl_flag: Str(3) = ""
    # informational: the HIS's own breakdown (the platform computes them)
    fulamt_ownpay_amt: Amount = None
    overlmt_selfpay: Amount = None
    preselfpay_amt: Amount = None
    inscp_scp_amt: Amount = None


class In2206(Node):
    data: SettleData | None = None
    mdtrtinfo: SettleData | None = None  # Guangdong

    @property
    def node(self) -> SettleData:
        return _one(self.data, self.mdtrtinfo, "data")


# ---- 2101 / 2102 药店预结算 / 药店结算 (the header ``druginfo`` and the lines ``drugdetail``) ----

class DrugInfo(Node):
    """A pharmacy purchase's header. No visit precedes it (no 2201/2203/2204): the lines come
    with it. ``invono`` (发票号) names the purchase, so that a retry with a new msgid finds it;
    without one, the message's own msgid does."""

    psn_no: Str(30, True)
    mdtrt_cert_type: Code(2) = ""
    mdtrt_cert_no: Str(50) = ""
    begntime: DT = None
    medfee_sumamt: Amount
    invono: Str(20) = ""
    insutype: Str(6, True)
    dise_codg: Str(30) = ""
    dise_name: Str(500) = ""
    acct_used_flag: Annotated[str, BeforeValidator(_text), Field(pattern=r"^[01]?$")] = "1"
    med_type: Str(6, True)
    psn_setlway: Code(2) = "01"
    rx_circ_flag: Str(3) = ""  # gongji's extension: the whole purchase on an external prescription


class DrugLine(LineBase):
    sin_dos_dscr: Str(200) = ""
    used_frqu_dscr: Str(200) = ""
    prd_days: Str(20) = ""
    medc_way_dscr: Str(200) = ""
    tcmdrug_used_way: Str(6) = ""


class In2101(Node):
    druginfo: DrugInfo
    drugdetail: Annotated[list[DrugLine], BeforeValidator(_listed), Field(min_length=1, max_length=2000)]


# ---- 2208 / 2103 / 2601 / 5203 ----

class SettlementKey(Node):
    setl_id: Str(30, True)
    mdtrt_id: Str(30) = ""
    psn_no: Str(30, True)


class In2208(Node):
    data: SettlementKey | None = None
    mdtrtinfo: SettlementKey | None = None  # Guangzhou

    @property
    def node(self) -> SettlementKey:
        return _one(self.data, self.mdtrtinfo, "data")


class Reversal(Node):
    psn_no: Str(30) = ""
    omsgid: Str(64, True)
    oinfno: Str(5, True)


class In2601(Node):
    data: Reversal


class SettlementQuery(Node):
    psn_no: Str(30) = ""
    setl_id: Str(30) = ""
    mdtrt_id: Str(30) = ""


class In5203(Node):
    data: SettlementQuery


# ---- 3201 ----

class Totals(Node):
    insutype: Str(6, True)
    clr_type: Str(6, True)
    setl_optins: Str(6) = ""
    stmt_begndate: D
    stmt_enddate: D
    medfee_sumamt: Amount
    fund_pay_sumamt: Amount
    acct_pay: Amount
    fixmedins_setl_cnt: Annotated[int, BeforeValidator(lambda v: int(_decimal(v, 0, "笔数") or 0))]
    refd_setl_flag: Str(3) = ""


class In3201(Node):
    data: Totals


def _one(a, b, name: str):
    if a is not None:
        return a
    if b is not None:
        return b
    raise InputError(f"input.{name}", "缺少输入节点")


def read(model: type[Node], doc: Any, where: str = "input") -> Any:
    """``model`` from a message node, or ``InputError`` naming the first bad field in Chinese."""
    if not isinstance(doc, dict):
        raise InputError(where, "应为 JSON 对象")
    try:
        return model.model_validate(doc)
    except ValidationError as e:
        err = e.errors()[0]
        loc = where
        for p in err["loc"]:
            if not str(p).startswith("function-"):
                loc += f"[{p}]" if isinstance(p, int) else f".{p}"
        text = isinstance(err.get("input"), str) or err["type"].startswith("string_")
        if err["type"] == "missing":
            raise InputError(loc, "必填") from None
        if err["type"] in ("string_too_short", "too_short") and text:
            raise InputError(loc, "不能为空") from None
        if err["type"] in ("string_too_long", "too_long") and text:
            raise InputError(loc, f"超过最大长度 {err['ctx']['max_length']}") from None
        if err["type"] == "string_pattern_mismatch":
            raise InputError(loc, "格式不对") from None
        if err["type"] == "too_short":
            raise InputError(loc, "至少一条") from None
        if err["type"] == "too_long":
            raise InputError(loc, "条数过多") from None
        raise InputError(loc, err["msg"].removeprefix("Value error, ")) from None


# ---- replies (spec 1.4 and each transaction's output): what gongji sends, typed for OpenAPI ----

ZH = {  # 参数中文名 of the settlement record's fields
    "mdtrt_id": "就诊ID", "setl_id": "结算ID", "psn_no": "人员编号", "psn_name": "人员姓名", "psn_cert_type": "人员证件类型",
    "certno": "证件号码", "gend": "性别", "naty": "民族", "brdy": "出生日期", "age": "年龄", "insutype": "险种类型",
    "psn_type": "人员类别", "cvlserv_flag": "公务员标志", "setl_time": "结算时间", "mdtrt_cert_type": "就诊凭证类型",
    "med_type": "医疗类别", "medfee_sumamt": "医疗费总额", "fulamt_ownpay_amt": "全自费金额", "overlmt_selfpay": "超限价自费费用",
    "preselfpay_amt": "先行自付金额", "inscp_scp_amt": "符合政策范围金额", "act_pay_dedc": "实际支付起付线",
    "hifp_pay": "基本医疗保险统筹基金支出", "pool_prop_selfpay": "基本医疗保险统筹基金支付比例", "cvlserv_pay": "公务员医疗补助资金支出",
    "hifes_pay": "企业补充医疗保险基金支出", "hifmi_pay": "居民大病保险资金支出", "hifob_pay": "职工大额医疗费用补助基金支出",
    "maf_pay": "医疗救助基金支出", "oth_pay": "其他支出", "fund_pay_sumamt": "基金支付总额", "psn_part_amt": "个人负担总金额",
    "acct_pay": "个人账户支出(本人)", "psn_cash_pay": "个人现金支出", "hosp_part_amt": "医院负担金额", "balc": "余额(本人账户,支付后)",
    "acct_mulaid_pay": "个人账户共济支付金额", "medins_setl_id": "医药机构结算ID", "clr_optins": "清算经办机构",
    "clr_way": "清算方式", "clr_type": "清算类别", "psn_pay": "个人支付金额", "cash_payamt": "现金支付金额",
    "refd_setl_flag": "退费结算标志", "fixmedins_code": "定点医药机构编号", "fixmedins_name": "定点医药机构名称",
}
SETLINFO_FIELDS = (
    "mdtrt_id setl_id psn_no psn_name psn_cert_type certno gend naty brdy age insutype psn_type cvlserv_flag "
    "setl_time mdtrt_cert_type med_type medfee_sumamt fulamt_ownpay_amt overlmt_selfpay preselfpay_amt "
    "inscp_scp_amt act_pay_dedc hifp_pay pool_prop_selfpay cvlserv_pay hifes_pay hifmi_pay hifob_pay maf_pay "
    "oth_pay fund_pay_sumamt psn_part_amt acct_pay psn_cash_pay hosp_part_amt balc acct_mulaid_pay "
    "medins_setl_id clr_optins clr_way clr_type").split()


def _is_number(name: str) -> bool:
    return name.endswith(("_amt", "_pay", "_sumamt", "_payamt", "_selfpay")) or name in ("balc", "age", "pool_prop_selfpay", "act_pay_dedc")


def _record(name: str, fields: tuple[str, ...] | list[str], doc: str) -> type[BaseModel]:
    from pydantic import create_model

    spec: dict[str, Any] = {
        f: (Decimal | None if _is_number(f) else str | None, Field(default=None, title=ZH.get(f, f))) for f in fields}
    model = create_model(name, __config__=ConfigDict(extra="forbid"), **spec)
    model.__doc__ = doc
    return model


SetlInfo = _record("SetlInfo", SETLINFO_FIELDS, "结算信息 setlinfo: the 41 fields of 2206/2207/2208/2102 (2206: setl_id null)")


def _query_fields() -> tuple[str, ...]:
    from gongji.service.nhsa.records import QUERY_FIELDS
    return QUERY_FIELDS


class SetlDetail(BaseModel):
    """结算基金分项 setldetail: one row per fund that paid."""

    model_config = ConfigDict(extra="forbid")
    fund_pay_type: str
    inscp_scp_amt: Decimal
    crt_payb_lmt_amt: Decimal | None
    fund_payamt: Decimal
    fund_pay_type_name: str
    setl_proc_info: str | None


class MulaidLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    holder: str
    amount: Decimal


class Extension(BaseModel):
    """gongji's extension: rule codes, the steps in words, who paid the mutual-aid."""

    model_config = ConfigDict(extra="forbid")
    codes: list[str]
    explain: list[str]
    mulaid_detail: list[MulaidLine]


class SettleOut(BaseModel):
    """2206/2207/2208, 2101/2102/2103."""

    model_config = ConfigDict(extra="forbid")
    setlinfo: SetlInfo  # type: ignore[valid-type]
    setldetail: list[SetlDetail]
    exp_content: Extension | None = None


class FeeResult(BaseModel):
    """2204 result: one per line, classified by the catalogue."""

    model_config = ConfigDict(extra="forbid")
    feedetl_sn: str
    det_item_fee_sumamt: Decimal
    cnt: Decimal
    pric: Decimal
    pric_uplmt_amt: Decimal
    selfpay_prop: Decimal | None
    fulamt_ownpay_amt: Decimal | None
    overlmt_amt: Decimal | None
    preselfpay_amt: Decimal | None
    inscp_scp_amt: Decimal | None
    chrgitm_lv: str
    med_chrgitm_type: str
    bas_medn_flag: str | None
    hi_nego_drug_flag: str | None
    chld_medc_flag: str | None
    list_sp_item_flag: str | None
    lmt_used_flag: str
    drt_reim_flag: str | None
    memo: str | None
    exp_content: Any = None


class Out2204(BaseModel):
    model_config = ConfigDict(extra="forbid")
    result: list[FeeResult]


class BaseInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    psn_no: str
    psn_cert_type: str
    certno: str
    psn_name: str
    gend: str
    naty: str | None
    brdy: str | None
    age: Decimal | None
    exp_content: Any = None


class InsuInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    balc: Decimal
    insutype: str
    psn_type: str
    psn_insu_stas: str | None
    psn_insu_date: str | None
    paus_insu_date: str | None
    cvlserv_flag: str
    insuplc_admdvs: str
    emp_name: str | None


class Out1101(BaseModel):
    model_config = ConfigDict(extra="forbid")
    baseinfo: BaseInfo
    insuinfo: list[InsuInfo]
    idetinfo: list[dict]


class Registered(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mdtrt_id: str
    psn_no: str
    ipt_otp_no: str
    exp_content: Any = None


class Out2201(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: Registered


class SignInOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sign_no: str
    sign_time: str


class Out9001(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signinoutb: SignInOut


class SignOutOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sign_time: str | None


class Out9002(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signoutoutb: SignOutOut


class StmtInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    setl_optins: str | None
    stmt_rslt: str
    stmt_rslt_dscr: str


class Out3201(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stmtinfo: StmtInfo


class Empty(BaseModel):
    """2202, 2203, 2205, 2601: no output node."""

    model_config = ConfigDict(extra="forbid")


class Reply(BaseModel):
    """The reply envelope (公共输出): every answer, HTTP 200; ``infcode`` 0 success, −1 refused."""

    infcode: int
    inf_refmsgid: str
    refmsg_time: str
    respond_time: str
    err_msg: str | None
    warn_msg: str | None
    output: dict[str, Any] | None
    cainfo: str | None
    signtype: str | None
    enctype: str | None


def query_out() -> type[BaseModel]:
    """5203's output: the 61-field setlinfo (built on first use: its field list lives with the records)."""
    from pydantic import create_model

    info = _record("SetlInfo5203", _query_fields(), "结算信息 setlinfo of 5203: the 61 fields of its table")
    return create_model("Out5203", __config__=ConfigDict(extra="forbid"), setlinfo=(info, ...),
                        setldetail=(list[SetlDetail], ...), exp_content=(Extension | None, None))
