"""2206 门诊预结算, 2207 门诊结算, 2208 门诊结算撤销, 2601 冲正交易."""

from __future__ import annotations

from gongji import nhsa_format as f
from gongji.api.nhsa.registry import Call, transaction
from gongji.service.nhsa import settle


@transaction("2206", "门诊预结算", f.In2206)
def preview(call: Call, x: f.In2206):
    d = x.node
    return call.run("", settle.preview, call.fixmedins, call.env.msgid, d, write=False)


@transaction("2207", "门诊结算", f.In2206)
def settle_(call: Call, x: f.In2206):
    d = x.node
    return call.run(f"{call.fixmedins}:{d.psn_no}", settle.settle, call.fixmedins, call.env.msgid, d, call.when)


@transaction("2208", "门诊结算撤销", f.In2208)
def cancel(call: Call, x: f.In2208):
    k = x.node
    return call.run(f"{call.fixmedins}:{k.psn_no}", settle.cancel, call.fixmedins, call.env.msgid, k, call.when)


@transaction("2601", "冲正交易", f.In2601)
def reverse(call: Call, x: f.In2601):
    return call.run(f"{call.fixmedins}:{x.data.psn_no}", settle.reverse_message, call.fixmedins, call.env.msgid,
                    x.data)
