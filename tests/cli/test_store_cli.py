"""replay, verify and credits import as real processes, on SQLite files and on PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from tests.cli.test_cli import gongji

STORIES = Path(__file__).resolve().parent.parent / "stories"


def test_replay_on_a_new_sqlite_file_by_default() -> None:
    r = gongji("replay", str(STORIES / "bayingolin-basics.yaml"))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["final"]["balances"] == {"P1": "2795.00", "P3": "100.00"}
    assert out["final"]["invariants"] == "ok"


def test_replay_on_postgresql_and_refuses_a_used_database(pg_url) -> None:
    from gongji.store.db import make_engine
    from gongji.store.models import Base

    engine = make_engine(pg_url)
    with engine.begin() as c:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        c.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    r = gongji("replay", str(STORIES / "wenshan-family.yaml"), "--db", pg_url)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["final"]["balances"] == {"F": "1100.00", "M": "0.00"}
    again = gongji("replay", str(STORIES / "wenshan-family.yaml"), "--db", pg_url)
    assert again.returncode == 2 and "empty database" in again.stderr


def test_replay_names_the_bad_field_before_running_anything(tmp_path) -> None:
    story = tmp_path / "bad.yaml"
    story.write_text('region: "652800"\nsteps:\n'
                     '  - {on: 2025-01-02, do: person, psn_no: P1, insutype: "310", insu_admdvs: "652801"}\n'
                     '  - {on: 2025-01-03, do: credit, psn_no: P1, amount: 1.5}\n'
                     '  - {on: 2025-01-01, do: credit, psn_no: P1, amount: "1.50"}\n', encoding="utf-8")
    r = gongji("replay", str(story))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "steps[2].on" in r.stderr
    story.write_text('region: "652800"\nsteps:\n  - {on: 2025-01-02, do: teleport}\n', encoding="utf-8")
    r = gongji("replay", str(story))
    assert r.returncode == 2 and "steps[0].do: unknown step 'teleport'" in r.stderr


def test_verify_and_credits_import_on_a_database_file(tmp_path) -> None:
    db = tmp_path / "g.db"
    story = tmp_path / "s.yaml"
    story.write_text('region: "652800"\nsteps:\n'
                     '  - {on: 2025-01-02, do: person, psn_no: P1, insutype: "310", insu_admdvs: "652801"}\n',
                     encoding="utf-8")
    assert gongji("replay", str(story), "--db", str(db)).returncode == 0
    csv = tmp_path / "march.csv"
    csv.write_text("psn_no,amount,period\nP1,120.50,2025-03\n", encoding="utf-8")
    r = gongji("credits", "import", str(csv), "--db", str(db))
    assert r.returncode == 0 and "已入账 1 行,合计 120.50 元" in r.stdout, r.stderr
    r = gongji("credits", "import", str(csv), "--db", str(db))
    assert r.returncode == 0 and "already imported" in r.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("psn_no,amount,period\nP1,1.001,2025-03\nP9,1,2025-03\n", encoding="utf-8")
    r = gongji("credits", "import", str(bad), "--db", str(db))
    assert r.returncode == 2 and "第 2 行" in r.stderr and "第 3 行" in r.stderr and "nothing applied" in r.stderr
    assert gongji("verify", "--db", str(db)).returncode == 0
    import sqlite3
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE accounts SET balance = balance + 1 WHERE name = 'personal:P1'")
    r = gongji("verify", "--db", str(db))
    assert r.returncode == 1 and "personal:P1 余额 120.51 ≠ 记账合计 120.50" in r.stderr


def test_institution_secret_and_staff_password_are_printed_once(tmp_path) -> None:
    db = str(tmp_path / "g.db")
    r = gongji("institution", "add", "H1", "--level", "2", "--admdvs", "652801", "--kind", "hospital", "--db", db)
    assert r.returncode == 0, r.stderr
    first = r.stdout.strip().splitlines()[-1]
    assert len(first) == 64 and int(first, 16) >= 0
    r = gongji("institution", "rotate-secret", "H1", "--db", db)
    second = r.stdout.strip().splitlines()[-1]
    assert r.returncode == 0 and len(second) == 64 and second != first
    assert gongji("institution", "add", "H1", "--level", "2", "--admdvs", "652801", "--kind", "hospital",
                  "--db", db).returncode == 1
    assert gongji("institution", "rotate-secret", "NOPE", "--db", db).returncode == 1
    r = gongji("staff", "add", "wang", "--role", "clerk", "--area", "00", "--db", db)
    assert r.returncode == 0 and len(r.stdout.strip().splitlines()[-1]) >= 12
    r = gongji("staff", "add", "li", "--role", "boss", "--area", "00", "--db", db)
    assert r.returncode == 1 and "INVALID_INPUT" in r.stderr


def test_staff_add_takes_the_area_served(tmp_path) -> None:
    from gongji.store.db import make_engine

    db = str(tmp_path / "g.db")
    for area, why in (("65x8", "2 位(省)、4 位(地市)或 6 位(县区)"), ("652", "2 位(省)"),
                      ("1101", "没有统筹区的共济政策覆盖服务区域 1101")):
        r = gongji("staff", "add", "li", "--role", "clerk", "--area", area, "--db", db)
        assert r.returncode == 2 and why in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert gongji("staff", "add", "li", "--role", "clerk", "--db", db).returncode == 2  # the area is required
    for name, area in (("wang", "5326"), ("zhao", "532601"), ("sun", "53"), ("qian", "00")):
        r = gongji("staff", "add", name, "--role", "clerk", "--area", area, "--db", db)
        assert r.returncode == 0, r.stderr
    with make_engine(db).connect() as conn:
        areas = dict(conn.execute(text("SELECT username, area FROM staff")).all())
    assert areas == {"wang": "5326", "zhao": "532601", "sun": "53", "qian": ""}


def test_backup_and_restore_commands(tmp_path) -> None:
    db, copy, file = tmp_path / "g.db", tmp_path / "copy.db", tmp_path / "g.backup"
    assert gongji("replay", str(STORIES / "remote.yaml"), "--db", str(db)).returncode == 0
    r = gongji("backup", str(file), "--db", str(db))
    assert r.returncode == 0 and file.stat().st_size > 0, r.stderr
    r = gongji("restore", str(file), "--db", str(copy))
    assert r.returncode == 0 and "restored and verified" in r.stdout, r.stderr
    r = gongji("restore", str(file), "--db", str(copy))
    assert r.returncode == 1 and "not empty" in r.stderr


def test_serve_refuses_several_workers_on_sqlite(tmp_path) -> None:
    r = gongji("serve", "--db", str(tmp_path / "one.db"), "--workers", "2")
    assert r.returncode == 2  # refused like every bad option, with one line
    assert "SQLite" in r.stderr and "Traceback" not in r.stderr


def test_serve_with_two_workers_on_postgresql_answers(pg_url, tmp_path) -> None:
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.api.server import free_port

    port = free_port()
    exe = Path(sys.executable).with_name("gongji")
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen([str(exe), "serve", "--db", pg_url, "--port", str(port), "--workers", "2"],
                                stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "no answer from the workers"
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(30)


def test_bulk_demo_refuses_impossible_sizes_in_one_line(tmp_path) -> None:
    r = gongji("demo", "--db", str(tmp_path / "b.db"), "--persons", "6", "--settlements", "10")
    assert r.returncode == 2
    assert "multiple of 4" in r.stderr and "Traceback" not in r.stderr and "writing" not in r.stderr


def test_bulk_demo_fills_and_verify_passes(tmp_path) -> None:
    db = str(tmp_path / "b.db")
    r = gongji("demo", "--db", db, "--persons", "40", "--settlements", "300")
    assert r.returncode == 0, r.stderr
    assert "300 笔结算" in r.stdout
    assert gongji("verify", "--db", db).returncode == 0


def _add(db: str, code: str, *extra: str):
    return gongji("institution", "add", code, "--level", "2", "--admdvs", "652801", "--kind", "hospital",
                  *extra, "--db", db)


def test_institution_secrets_as_json_for_scripts(tmp_path) -> None:
    db = str(tmp_path / "g.db")
    r = _add(db, "H1", "--json")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\n") == 1
    first = json.loads(r.stdout)
    assert set(first) == {"code", "secret"} and first["code"] == "H1"
    assert len(first["secret"]) == 64 and int(first["secret"], 16) >= 0
    r = gongji("institution", "rotate-secret", "H1", "--json", "--db", db)
    assert r.returncode == 0 and r.stdout.count("\n") == 1, r.stderr
    second = json.loads(r.stdout)
    assert second["code"] == "H1" and len(second["secret"]) == 64 and second["secret"] != first["secret"]
    r = gongji("institution", "rotate-secret", "NOPE", "--json", "--db", db)
    assert r.returncode == 1 and r.stdout == "" and "Traceback" not in r.stderr


def test_institution_paasid_is_stored_and_a_taken_one_refused(tmp_path) -> None:
    from gongji.service.security import institution_by_paasid
    from gongji.store.db import make_engine

    db = str(tmp_path / "g.db")
    r = _add(db, "H1", "--paasid", "app.H1-x_1", "--json")
    assert r.returncode == 0, r.stderr
    secret = json.loads(r.stdout)["secret"]
    for code, paasid, why in (("H2", "app.H1-x_1", "已被定点医药机构 H1 使用"), ("H2", "bad id", "接入方编号须为"),
                              ("H2", "x" * 65, "接入方编号须为")):
        r = _add(db, code, "--paasid", paasid)
        assert r.returncode == 1 and why in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1
    assert _add(db, "H2").returncode == 0  # nothing was registered by the refused ones
    r = gongji("institution", "set-paasid", "H2", "app.H1-x_1", "--db", db)
    assert r.returncode == 1 and "H1" in r.stderr and "Traceback" not in r.stderr
    assert gongji("institution", "set-paasid", "H1", "H2", "--db", db).returncode == 1  # H2's code serves as its paasid
    assert gongji("institution", "set-paasid", "NOPE", "p", "--db", db).returncode == 1
    assert gongji("institution", "set-paasid", "H2", "--db", db).returncode == 2
    assert gongji("institution", "set-paasid", "H2", "app.H2", "--db", db).returncode == 0
    engine = make_engine(db)
    try:
        assert institution_by_paasid(engine, "app.H1-x_1") == ("H1", secret, False)
        assert institution_by_paasid(engine, "app.H2")[0] == "H2"
        assert institution_by_paasid(engine, "H2") is None  # it has a paasid of its own now
        assert gongji("institution", "set-paasid", "H2", "--clear", "--db", db).returncode == 0
        assert institution_by_paasid(engine, "H2")[0] == "H2"
        assert institution_by_paasid(engine, "app.H2") is None
    finally:
        engine.dispose()


def test_catalog_import_checks_the_whole_file_then_applies(tmp_path) -> None:
    db = tmp_path / "g.db"
    header = ("med_list_codg,name,med_chrgitm_type,chrgitm_lv,selfpay_prop,pric_uplmt_amt,lmt_used_flag,category,"
              "admdvs,begndate,enddate\n")
    bad = tmp_path / "bad.csv"
    bad.write_text(header + "XA01,阿莫西林,09,02,0.05,,0,,,2025-01-01,\nXA02,[b]药,09,07,0.05,,0,,,2025-01-01,\n"
                   "XA03,药,09,01,2,,0,,,2025/01/01,\n", encoding="utf-8")
    r = gongji("catalog", "import", str(bad), "--db", str(db))
    assert r.returncode == 1 and "nothing applied" in r.stderr and "Traceback" not in r.stderr
    assert "第 3 行 chrgitm_lv:应为 01/02/03" in r.stderr
    assert "第 4 行 selfpay_prop" in r.stderr and "第 4 行 begndate" in r.stderr and "第 2 行" not in r.stderr
    good = tmp_path / "good.csv"
    good.write_text(header + "XA01,阿莫西林,09,02,0.05,,0,,,2025-01-01,\nXA01,阿莫西林,09,02,0.10,,0,,65,2025-01-01,\n",
                    encoding="gbk")
    r = gongji("catalog", "import", str(good), "--db", str(db))
    assert r.returncode == 0 and "目录 2 行:新增 2,更新 0,未变 0" in r.stdout, r.stderr
    r = gongji("catalog", "import", str(good), "--db", str(db))
    assert r.returncode == 0 and "新增 0,更新 0,未变 2" in r.stdout, r.stderr
    import sqlite3
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM catalog").fetchone() == (2,)
    r = gongji("catalog", "import", str(tmp_path / "missing.csv"), "--db", str(db))
    assert r.returncode == 2 and "missing.csv" in r.stderr and "Traceback" not in r.stderr
    assert gongji("verify", "--db", str(db)).returncode == 0
