"""5203 结算信息查询, 3201 对总账 (3202 对明细账 is answered as not offered, see ``NOT_OFFERED``)."""

from __future__ import annotations

from gongji import nhsa_format as f
from gongji.api.nhsa.registry import Call, transaction
from gongji.service.nhsa import query


@transaction("5203", "结算信息查询", f.In5203)
def find(call: Call, x: f.In5203):
    return call.run("", query.find_settlement, call.fixmedins, x.data, write=False)


@transaction("3201", "对总账", f.In3201)
def reconcile(call: Call, x: f.In3201):
    return call.run("", query.reconcile, call.fixmedins, x.data, write=False)
