"""9001 签到, 9002 签退, 1101 人员信息获取."""

from __future__ import annotations

from gongji import nhsa_format as f
from gongji.api.nhsa.registry import Call, transaction
from gongji.service.nhsa import signin, visits


@transaction("9001", "签到", f.In9001)
def sign_in(call: Call, x: f.In9001):
    return call.run(f"{call.fixmedins}:sign-in", signin.sign_in, call.fixmedins, x.signIn, call.when)


@transaction("9002", "签退", f.In9002)
def sign_out(call: Call, x: f.In9002):
    return call.run(f"{call.fixmedins}:sign-out", signin.sign_out, call.fixmedins, x.signOut, call.when)


@transaction("1101", "人员信息获取", f.In1101)
def person(call: Call, x: f.In1101):
    return call.run("", visits.find_person, x.data, write=False)
