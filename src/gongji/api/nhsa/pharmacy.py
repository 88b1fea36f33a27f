"""2101 药店预结算, 2102 药店结算, 2103 药店结算撤销 (医疗类别 41)."""

from __future__ import annotations

from gongji import nhsa_format as f
from gongji.api.nhsa.registry import Call, transaction
from gongji.service.nhsa import pharmacy, settle


@transaction("2101", "药店预结算", f.In2101)
def preview(call: Call, x: f.In2101):
    return call.run("", pharmacy.preview, call.fixmedins, call.env.msgid, x, call.when, write=False)


@transaction("2102", "药店结算", f.In2101)
def settle_(call: Call, x: f.In2101):
    return call.run(f"{call.fixmedins}:{x.druginfo.psn_no}", pharmacy.settle, call.fixmedins, call.env.msgid, x,
                    call.when)


@transaction("2103", "药店结算撤销", f.In2208)
def cancel(call: Call, x: f.In2208):
    k = x.node
    return call.run(f"{call.fixmedins}:{k.psn_no}", settle.cancel, call.fixmedins, call.env.msgid, k, call.when,
                    True)
