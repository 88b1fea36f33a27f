"""2201 门诊挂号, 2202 挂号撤销, 2203 就诊信息上传, 2204 费用明细上传, 2205 明细撤销."""

from __future__ import annotations

from gongji import nhsa_format as f
from gongji.api.nhsa.registry import Call, transaction
from gongji.service.nhsa import visits


@transaction("2201", "门诊挂号", f.In2201)
def register(call: Call, x: f.In2201):
    r = x.node
    return call.run(f"{call.fixmedins}:{r.psn_no}", visits.register, call.fixmedins, r, call.when)


@transaction("2202", "门诊挂号撤销", f.In2202)
def cancel(call: Call, x: f.In2202):
    return call.run(f"{call.fixmedins}:{x.data.psn_no}", visits.cancel_registration, call.fixmedins, x.data)


def _describe(call: Call, x: f.In2203):
    return call.run(f"{call.fixmedins}:{x.mdtrtinfo.psn_no}", visits.describe, call.fixmedins, x.mdtrtinfo,
                    x.diseinfo)


transaction("2203", "门诊就诊信息上传", f.In2203)(_describe)
transaction("2203A", "门诊就诊信息上传", f.In2203)(_describe)  # some provinces' number for it


@transaction("2204", "门诊费用明细信息上传", f.In2204)
def upload(call: Call, x: f.In2204):
    return call.run(f"{call.fixmedins}:{x.feedetail[0].psn_no}", visits.upload, call.fixmedins, x.feedetail,
                    call.when)


@transaction("2205", "门诊费用明细信息撤销", f.In2205)
def withdraw(call: Call, x: f.In2205):
    return call.run(f"{call.fixmedins}:{x.data.psn_no}", visits.withdraw, call.fixmedins, x.data)
