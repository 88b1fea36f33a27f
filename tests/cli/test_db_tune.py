"""``gongji db tune --print``: PostgreSQL settings for a machine's size, each with its reason,
printed and nothing else (no database is opened, no setting changed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from gongji.store import tune

CJK = re.compile(r"[\u4e00-\u9fff]")


def gongji(*args, cwd=None, env=None):
    env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "gongji.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=60)


def test_prints_a_conf_fragment_and_storage_sql_each_with_a_reason(tmp_path) -> None:
    r = gongji("db", "tune", "--print", "--memory", "24GB", "--cores", "2", "--disk", "ssd")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "# gongji db tune: 24GB memory, 2 cores, ssd"
    conf = dict(re.fullmatch(r"(\w+) = '([^']*)' +# (.+)", ln).group(1, 2) for ln in lines
                if re.match(r"\w+ = ", ln))
    assert conf["shared_buffers"] == "6GB" and conf["effective_cache_size"] == "18GB"
    assert conf["random_page_cost"] == "1.1" and conf["max_parallel_workers_per_gather"] == "1"
    reasons = [ln.split("# ", 1)[1] for ln in lines if re.match(r"\w+ = ", ln)]
    assert len(reasons) == len(tune.conf(tune.machine("24GB", 2, "ssd")))
    assert all(" / " in reason and CJK.search(reason.split(" / ")[0]) for reason in reasons)  # Chinese, then English
    sql = [(i, ln) for i, ln in enumerate(lines) if re.match(r"(ALTER|CREATE) ", ln)]
    assert [ln for _, ln in sql] == [f"{statement};" for statement, _ in tune.STORAGE]
    assert any(re.fullmatch(r"ALTER TABLE accounts SET \(fillfactor = \d+\);", ln) for _, ln in sql)
    assert all(re.fullmatch(r"-- .*[\u4e00-\u9fff].* / .+", lines[i - 1]) for i, _ in sql)  # its reason above it


def test_sizes_follow_the_machine() -> None:
    big = {s.name: s.value for s in tune.conf(tune.machine("128GB", 32, "hdd"))}
    assert big["shared_buffers"] == "16GB"  # capped: beyond it the OS cache serves as well
    assert big["effective_cache_size"] == "96GB" and big["random_page_cost"] == "4"
    assert big["max_parallel_workers"] == "32" and big["max_parallel_workers_per_gather"] == "16"
    small = {s.name: s.value for s in tune.conf(tune.machine("1GB", 1, "ssd"))}
    assert small["shared_buffers"] == "256MB" and small["max_worker_processes"] == "8"
    assert big["max_worker_processes"] == "34"


def test_defaults_to_this_machine() -> None:
    r = gongji("db", "tune", "--print")
    assert r.returncode == 0, r.stderr
    own = tune.machine()
    assert r.stdout.splitlines()[0] == f"# gongji db tune: {tune.size(own.memory)} memory, {own.cores} cores, {own.disk}"


def test_changes_nothing(tmp_path) -> None:
    """No database is opened or made: not the default ./gongji.db, not $GONGJI_DB."""
    target = tmp_path / "named.db"
    r = gongji("db", "tune", "--print", cwd=tmp_path, env={"GONGJI_DB": str(target)})
    assert r.returncode == 0, r.stderr
    assert list(tmp_path.iterdir()) == []
    assert "sqlalchemy" not in open(tune.__file__, encoding="utf-8").read()


@pytest.mark.parametrize("args", [["--memory", "8XB"], ["--memory", "512MB"], ["--memory", ""],
                                  ["--cores", "0"], ["--cores", "abc"], ["--disk", "nvme"], []])
def test_bad_input_is_one_chinese_first_line(args) -> None:
    r = gongji("db", "tune", *(["--print"] if args else []), *args)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stdout == ""
    line = r.stderr.strip()
    assert len(line.splitlines()) == 1 and line.startswith("错误 ") and CJK.match(line[3:]), line
    assert " / " in line  # then in English
