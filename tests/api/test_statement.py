"""The 结算单 as the patient gets it: read back with poppler (pdftotext, pdffonts), over the web
route on both papers and from the ``gongji statement`` reprint command."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.api.test_rest import VISIT, family, ok
from tests.pdftools import page_sizes_mm, pdf_fonts, pdf_text

LABELS = ("城乡居民医保门诊结算单(家庭共济)", "定点机构", "二级医院", "患者姓名", "个人编号", "城乡居民医保", "结算日期",
          "结算流水号", "普通门诊", "费用明细", "检查检验", "药品", "甲类", "乙类", "丙类", "10%", "100%",
          "统筹基金支付", "家庭共济支付", "现金支付", "计算过程", "二级医院 居民 统筹 50%", "打印时间", "北京时间",
          "收费员签章", "患者签字", "王建国(个人编号 P1)")
AMOUNTS = ("450.00", "145.00", "255.00", "50.00", "300.00", "100.00")
NEVER = ("setl_id", "psn_no", "drug", "exam", "pooling_ratio", "deductible", "settlement_cap", "annual_cap",
         "out_of_scope", "acct_used_flag", "min(", "12090")


def settled(api) -> str:
    family(api)
    return ok(api.inst("H1").post("/api/v1/settlements", json={"visit": VISIT}, headers={"Idempotency-Key": "k1"}))[
        "setl_id"]


def check(pdf: bytes) -> str:
    text = pdf_text(pdf)
    for word in LABELS + AMOUNTS:
        assert word in text, word
    for word in NEVER:
        assert word not in text, word
    fonts = pdf_fonts(pdf)
    assert fonts and all(f["emb"] == "yes" and f["sub"] == "yes" and "Noto" in f["name"] for f in fonts), fonts
    return text


def test_the_patient_downloads_a_chinese_statement_on_both_papers(api) -> None:
    setl_id = settled(api)
    r = api.person("P2").get(f"/statements/{setl_id}.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = check(r.content)
    assert "未登记姓名" in text and "补打" in text and "已冲正" not in text and setl_id in text
    assert re.search(r"家庭共济支付 +255\.00", text) and "王建国" in text
    assert "参保地" in text and "机构所在地" in text and "库尔勒市" in text and "巴音郭楞蒙古自治州" in text
    (w, h), = page_sizes_mm(r.content)
    assert round(w) == 210 and round(h) == 297

    first = api.inst("H1").get(f"/statements/{setl_id}.pdf?first=1&paper=241")
    text = check(first.content)
    assert "补打" not in text
    (w, h), = page_sizes_mm(first.content)
    assert round(w) == 241 and 100 < h < 297  # as tall as its content
    assert api.person("P2").get(f"/statements/{setl_id}.pdf?paper=a5").status_code == 422


def test_a_named_patient_and_the_payers_by_name(api) -> None:
    """The patient's own name beside the 个人编号 (the family and the cashier see full names)."""
    family(api)
    own = ok(api.inst("H1").post("/api/v1/settlements", json={"visit": VISIT | {"psn_no": "P1"}},
                                 headers={"Idempotency-Key": "own"}))["setl_id"]
    text = pdf_text(api.person("P1").get(f"/statements/{own}.pdf").content)
    assert re.search(r"患者姓名 +王建国", text) and "未登记姓名" not in text
    assert "王*" not in text and "652801198001011238" not in text  # names in full; never the ID number
    assert re.search(r"参保地 +新疆维吾尔自治区", text) and "库尔勒市" in text


def test_a_reversed_settlement_says_so(api) -> None:
    setl_id = settled(api)
    ok(api.inst("H1").post(f"/api/v1/settlements/{setl_id}/reverse", headers={"Idempotency-Key": "r1"}))
    text = check(api.person("P1").get(f"/statements/{setl_id}.pdf").content)
    assert "已冲正" in text and "补打" in text


def test_the_command_line_reprints_a_statement(api, tmp_path) -> None:
    setl_id = settled(api)
    db = api.service.engine.url.render_as_string(hide_password=False)
    run = [sys.executable, "-m", "gongji.cli", "statement"]
    r = subprocess.run([*run, setl_id, "--db", db, "--paper", "241"], capture_output=True, text=True,
                       cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    pdf = (tmp_path / f"{setl_id}.pdf").read_bytes()
    assert "补打" in check(pdf) and round(page_sizes_mm(pdf)[0][0]) == 241
    out = tmp_path / "again.pdf"
    assert subprocess.run([*run, setl_id, "--db", db, "--out", str(out)], capture_output=True, timeout=120).returncode == 0
    assert round(page_sizes_mm(out.read_bytes())[0][1]) == 297
    r = subprocess.run([*run, "S99999999", "--db", db], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 1 and "查无此结算" in r.stderr and "Traceback" not in r.stderr
