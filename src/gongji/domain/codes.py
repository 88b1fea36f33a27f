"""Chinese labels for every code of calc-format.md and story-format.md, for people to read."""

CODE_ZH = {
    "NOT_BOUND": "当日无有效绑定",
    "OUT_OF_SCOPE": "不在共济支付范围",
    "REMOTE_NOT_FILED": "异地就医未备案",
    "CROSS_PROVINCE_NO_MULAID": "跨省就医不支持共济",
    "NO_EXTERNAL_RX": "药店购药无外配处方",
    "CAP_SETTLEMENT": "达到单次共济限额",
    "CAP_BENEFICIARY_YEAR": "达到被绑定人年度限额",
    "CAP_HOLDER_YEAR": "达到主账户年度限额",
    "BALANCE": "主账户余额不足",
    "FROZEN": "主账户人已冻结共济",
    "SANCTIONED": "违规暂停共济",
    "HOLDER_INACTIVE": "主账户人参保状态异常",
    "ACCOUNT_NOT_USED": "本次未使用个人账户",
    "PERSON_DECEASED": "参保人已身故",
    "RELATION_NOT_ALLOWED": "该亲属关系不可绑定",
    "BENEFICIARY_REGION": "被绑定人参保地不符",
    "MEMBER_LIMIT": "超过绑定人数上限",
    "ALREADY_BOUND": "被绑定人已关联其他账户",
    "HOLDER_NOT_ELIGIBLE": "主账户人不符合条件",
    "NO_SUCH_BINDING": "没有该绑定",
    "NOT_PENDING": "申请不在待审核状态",
    "UNKNOWN_PERSON": "查无此参保人",
    "UNKNOWN_INSTITUTION": "查无此定点机构",
    "IDEMPOTENCY_CONFLICT": "同一请求号对应了不同的请求",
    "ALREADY_REVERSED": "该结算已冲正",
    "UNKNOWN_SETTLEMENT": "查无此结算",
    # beyond story-format.md: refusals the spec does not name (see README, "Readings")
    "INVALID_INPUT": "输入有误",
    "ALREADY_REGISTERED": "已登记",
    "NOT_FOUND": "资源不存在",
    "UNKNOWN_FLAG": "查无此监管线索",
    "BINDING_REFUSED": "无法为该人员办理绑定",  # a person applying online: no third party's state
    "INTERNAL": "系统内部错误",
    "UNAUTHENTICATED": "未登录或未签名",
    "FORBIDDEN": "无权访问",
    "CSRF": "CSRF 令牌缺失或错误",
    "BAD_SIGNATURE": "机构签名错误",
    "STALE_REQUEST": "请求时间超出允许范围",
    "REPLAYED_NONCE": "重复的请求随机数",
    "INSTITUTION_SUSPENDED": "机构已暂停结算资格",
    "LOGIN_FAILED": "用户名或密码错误",
    "LOGIN_BUSY": "登录请求过多,请稍后再试",
    "TOO_LARGE": "请求过大",
    "STALE_FORM": "页面已过期,已办理过",
    "PROVINCE_NOT_SERVED": "本系统未承办该省份",
    "DB_UNAVAILABLE": "数据库暂不可用,请稍后重试",
}


def label(code: str) -> str:
    """``"达到单次共济限额(CAP_SETTLEMENT)"``: Chinese first, the code for support staff."""
    return f"{CODE_ZH.get(code, code)}({code})"
