"""``gongji his`` against a real ``gongji serve`` process: whole visits signed both ways, on /nhsa
and /nhsa/{infno}, settled once each (the account checked in the database), cancelled with
``--cancel``; a wrong secret and an unreachable server end with a Chinese line, never a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from gongji.domain.money import format_yuan
from gongji.service import ledger, security
from gongji.service.commands import RegisterInstitution, RegisterPerson
from gongji.service.facade import Service
from gongji.service.uow import run
from gongji.store import models as m
from tests.api.live import live_server
from tests.api.server import free_port

INST, CERTNO = "H65280100001", "652801199001011232"
STEPS = ["9001", "1101", "2201", "2203", "2204", "2206", "2207"]


def setup(engine) -> str:
    """An institution (its secret returned), a person with 100.00 in the account, a catalogue
    holding the command's default demo codes and a code of the test's own."""
    svc = Service(engine)
    svc.register_institution(RegisterInstitution(code=INST, level=2, admdvs="652801", kind="hospital"))
    svc.register_person(RegisterPerson(psn_no="P1", insutype="310", insu_admdvs="652801", balance="100",
                                       name="张三", certno=CERTNO))

    def catalogue(uow) -> None:
        for code, name in (("DEMO-D001", "阿莫西林胶囊"), ("DEMO-X001", "血常规"), ("T-DRUG", "测试药品")):
            uow.session.add(m.CatalogEntry(
                med_list_codg=code, admdvs="", begndate=date(2020, 1, 1), enddate=None, name=name,
                med_chrgitm_type="09", chrgitm_lv="02", selfpay_prop="0.05", pric_uplmt_amt=None,
                lmt_used_flag="0", category="drug"))
    run(engine, catalogue)
    return svc.secure(security.new_institution_secret, INST)


def his(url: str, *args: str, secret: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    given = ["--secret", secret] if secret is not None else []
    return subprocess.run([sys.executable, "-m", "gongji.cli", "his", "--url", url, "--inst", INST, *given, *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200", **(env or {})})


def balance(engine) -> str:
    return format_yuan(run(engine, lambda uow: ledger.balance(uow.session, "P1"), write=False))


def settlements(engine, mdtrt_id: str) -> list[str]:
    """The states of the settlements of one visit."""
    return run(engine, lambda uow: list(uow.session.scalars(
        select(m.Settlement.state).where(m.Settlement.mdtrt_id == mdtrt_id))), write=False)


def replies(result: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line, parse_float=Decimal) for line in result.stdout.splitlines()]


def test_whole_visits_both_schemes_both_paths_and_cancel(engine, tmp_path) -> None:
    secret = setup(engine)
    with live_server(engine, tmp_path) as server:
        # x-tif, /nhsa, the default Chinese lines and the default (demo) fee lines
        before = balance(engine)
        shown = his(server.url, "--certno", CERTNO, secret=secret)
        assert shown.returncode == 0, shown.stderr
        for infno, name in (("9001", "签到"), ("1101", "人员信息获取"), ("2201", "门诊挂号"), ("2203", "就诊信息上传"),
                            ("2204", "费用明细上传"), ("2206", "预结算"), ("2207", "结算")):
            assert f"✓ {infno} {name} 成功" in shown.stdout
        assert "2208" not in shown.stdout and "Traceback" not in shown.stderr
        assert "明细合计 det_item_fee_sumamt 50.00" in shown.stdout  # 2 × 12.50 + 1 × 25.00
        acct_pay = re.search(r"acct_pay\s*│\s*([0-9.]+)", shown.stdout).group(1)  # the 2207 table
        mdtrt_id = re.search(r"mdtrt_id\s*│\s*(\d+)", shown.stdout).group(1)
        assert Decimal(before) - Decimal(balance(engine)) == Decimal(acct_pay) > 0
        assert settlements(engine, mdtrt_id) == ["settled"]

        # HMAC, /nhsa/{infno}, --json, a line of the test's own rounded half up to the fen
        before = balance(engine)
        js = his(server.url, "--psn-no", "P1", "--scheme", "hmac", "--path-form", "--json",
                 "--item", "T-DRUG:3:1.005", secret=secret)
        assert js.returncode == 0, js.stderr
        got = replies(js)
        assert len(got) == len(STEPS) and all(r["infcode"] == 0 for r in got)
        upload, pre, setl = got[4]["output"]["result"], got[5]["output"]["setlinfo"], got[6]["output"]["setlinfo"]
        assert upload[0]["det_item_fee_sumamt"] == Decimal("3.02")  # 3.015 half up
        assert pre["setl_id"] is None and setl["setl_id"] and setl["medfee_sumamt"] == Decimal("3.02")
        assert Decimal(before) - Decimal(balance(engine)) == setl["acct_pay"] > 0
        assert setl["balc"] == Decimal(balance(engine))
        assert settlements(engine, setl["mdtrt_id"]) == ["settled"]

        # x-tif on /nhsa/{infno}, the secret from a file, then --cancel gives the money back
        before = balance(engine)
        (tmp_path / "secret").write_text(secret + "\n")
        cancelled = his(server.url, "--certno", CERTNO, "--path-form", "--json", "--cancel",
                        "--secret-file", str(tmp_path / "secret"))
        assert cancelled.returncode == 0, cancelled.stderr
        got = replies(cancelled)
        assert len(got) == len(STEPS) + 1 and all(r["infcode"] == 0 for r in got)
        assert got[-1]["output"]["setlinfo"]["acct_pay"] == -got[-2]["output"]["setlinfo"]["acct_pay"]
        assert balance(engine) == before
        assert settlements(engine, got[-2]["output"]["setlinfo"]["mdtrt_id"]) == ["reversed"]

        # the secret from the environment, default lines, with --cancel
        env_run = his(server.url, "--certno", CERTNO, "--cancel", env={"GONGJI_HIS_SECRET": secret})
        assert env_run.returncode == 0, env_run.stderr
        assert "✓ 2208 结算撤销 成功" in env_run.stdout and balance(engine) == before

        # a wrong secret: the first step refused, exit 1, the server's Chinese reason
        wrong = his(server.url, "--certno", CERTNO, secret="00" * 32)
        assert wrong.returncode == 1
        assert "✗ 9001 签到 失败" in wrong.stdout and "身份认证失败:签名校验未通过" in wrong.stderr
        wrong_json = his(server.url, "--certno", CERTNO, "--json", "--scheme", "hmac", secret="00" * 32)
        assert wrong_json.returncode == 1 and "身份认证失败:签名校验未通过" in wrong_json.stderr
        [refusal] = replies(wrong_json)
        assert refusal["infcode"] == -1 and refusal["err_msg"] == "身份认证失败:签名校验未通过"

        # a code the catalogue does not hold: stopped at 2204, nothing settled
        before = balance(engine)
        unknown = his(server.url, "--certno", CERTNO, "--item", "NOPE-1:1:5", secret=secret)
        assert unknown.returncode == 1 and "✗ 2204 费用明细上传 失败" in unknown.stdout
        assert "2204 费用明细上传失败" in unknown.stderr and "NOPE-1" in unknown.stderr
        assert "2206" not in unknown.stdout and balance(engine) == before
    assert Service(engine).verify() == []


def test_unreachable_server_and_bad_arguments_exit_2_in_chinese() -> None:
    down = his(f"http://127.0.0.1:{free_port()}", "--certno", CERTNO, secret="ab")
    assert down.returncode == 2 and "无法连接医保接口" in down.stderr and "Traceback" not in down.stderr
    cases = [
        (["--certno", CERTNO], None, "缺少签名密钥"),
        (["--certno", CERTNO, "--item", "DEMO-D001:2"], "ab", "应为 编码:数量:单价"),
        (["--certno", CERTNO, "--item", "DEMO-D001:0:1"], "ab", "数量须大于 0"),
        (["--certno", CERTNO, "--item", "DEMO-D001:x:1"], "ab", "须为数字"),
        (["--certno", CERTNO, "--scheme", "sm3"], "ab", "--scheme"),
        ([], "ab", "--certno"),
        (["--certno", CERTNO, "--secret-file", "/nonexistent/secret"], None, "--secret-file"),
    ]
    for args, secret, says in cases:
        r = his("http://127.0.0.1:9", *args, secret=secret, env={"GONGJI_HIS_SECRET": ""})
        assert r.returncode == 2 and says in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
