"""``gongji cluster``: a real etcd and two PostgreSQL instances under Patroni per province, killed
and rejoined (about a minute: one cluster for the module). Every wait polls with a deadline."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from gongji import cluster as gc
from gongji.cli import app
from gongji.cluster import commands, etcd, procs
from gongji.routing import load
from gongji.store.db import make_engine
from tests.cluster import need_cluster_tools

FAILOVER_TIMEOUT = 30  # seconds; ttl 10 s: a failover takes about 10 s


def _invoke(*args: str):
    return CliRunner().invoke(app, ["cluster", *args], catch_exceptions=False)


def _processes(directory: Path) -> list[int]:
    state = commands.load_state(directory)
    if state is None:
        return []
    pids = [m["pid"] for m in commands.members(state) if commands.member_running(m)]
    pids += [p for m in commands.members(state) for p in procs.in_dir(Path(m["home"]) / "data")]
    if procs.alive(state["etcd"].get("pid"), etcd.MARKER):
        pids.append(state["etcd"]["pid"])
    return pids


@pytest.fixture(scope="module")
def cluster() -> Iterator[Path]:
    need_cluster_tools()
    # not pytest's tmp_path: its parent is root's 0700 directory, which the postgres user cannot enter
    directory = Path(tempfile.mkdtemp(prefix="gongji-cluster-test-"))
    os.chmod(directory, 0o755)
    try:
        result = _invoke("up", "--provinces", "53,65", "--dir", str(directory), "--no-demo", "--timeout", "120")
        assert result.exit_code == 0, result.output
        assert f"export GONGJI_CONFIG={directory / 'gongji.toml'}" in result.output
        yield directory
    finally:
        commands.down(directory, timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def _status(directory: Path) -> dict:
    result = _invoke("status", "--dir", str(directory), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_each_province_has_a_leader_and_a_synchronous_standby(cluster: Path) -> None:
    seen = _status(cluster)
    assert seen["etcd"]["healthy"] and seen["ok"]
    assert set(seen["provinces"]) == {"53", "65"}
    for code, p in seen["provinces"].items():
        roles = sorted(m["role"] for m in p["members"])
        assert roles == ["leader", "sync_standby"], (code, p)
        assert p["scope"] == f"gongji-{code}"
    ports = [m["port"] for p in seen["provinces"].values() for m in p["members"]]
    assert len(set(ports)) == 4
    table = _invoke("status", "--dir", str(cluster))
    assert table.exit_code == 0 and "sync_standby" in table.output and "healthy" in table.output


def test_the_routing_file_names_both_members_of_each_province(cluster: Path) -> None:
    routes = load(cluster / "gongji.toml")
    assert routes.codes() == ["53", "65"]
    for p in routes.provinces:
        assert "target_session_attrs=read-write" in p.url and p.url.count("127.0.0.1:") == 2
        assert p.read_url and "target_session_attrs=prefer-standby" in p.read_url


def test_a_killed_leader_fails_over_rejoins_and_loses_nothing(cluster: Path) -> None:
    routes = load(cluster / "gongji.toml")
    engine = make_engine(routes.get("53").url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS kept (n int PRIMARY KEY)"))
        conn.execute(text("INSERT INTO kept VALUES (1), (2), (3)"))
    engine.dispose()
    old, other = gc.leader(cluster, "53"), gc.leader(cluster, "65")
    assert old and other
    other_timeline = next(m["timeline"] for m in _status(cluster)["provinces"]["65"]["members"] if m["name"] == other)

    gc.kill_member(cluster, old)
    started = time.monotonic()
    new = gc.wait_until(lambda: (name := gc.leader(cluster, "53")) not in (None, old) and name,
                        FAILOVER_TIMEOUT, "a new leader in province 53")
    assert time.monotonic() - started < FAILOVER_TIMEOUT
    assert new != old

    gc.rejoin(cluster, old, timeout=60)  # rewound and streaming from the new leader
    gc.wait_until(lambda: commands._ready(commands.load_state(cluster), "53"), 30, "a synchronous standby again")
    seen = _status(cluster)["provinces"]["53"]
    roles = {m["name"]: m["role"] for m in seen["members"]}
    assert roles == {new: "leader", old: "sync_standby"}

    url = routes.get("53").url
    with psycopg.connect(url, autocommit=True) as conn:  # written before the kill: there, once
        assert [r[0] for r in conn.execute("SELECT n FROM kept ORDER BY n")] == [1, 2, 3]
        conn.execute("INSERT INTO kept VALUES (4)")  # and the new leader takes writes
    with psycopg.connect(routes.get("53").read_url) as conn:
        conn.execute("SELECT 1")

    after = _status(cluster)["provinces"]["65"]
    assert after["leader"] == other
    assert next(m["timeline"] for m in after["members"] if m["name"] == other) == other_timeline


def test_down_stops_every_process_and_up_again_resumes(cluster: Path) -> None:
    result = _invoke("down", "--dir", str(cluster))
    assert result.exit_code == 0 and "etcd" in result.output, result.output
    assert _processes(cluster) == []
    assert (cluster / "state.json").exists()  # the data stays
    again = _invoke("down", "--dir", str(cluster))
    assert again.exit_code == 0 and "nothing was running" in again.output
    status = _invoke("status", "--dir", str(cluster))
    assert status.exit_code == 1


def test_down_where_there_is_no_cluster_says_so(tmp_path: Path) -> None:
    result = _invoke("down", "--dir", str(tmp_path))
    assert result.exit_code == 0 and "no cluster" in result.output
    status = _invoke("status", "--dir", str(tmp_path))
    assert status.exit_code == 1 and "no cluster" in status.output


def test_bad_provinces_are_one_clear_line() -> None:
    result = _invoke("up", "--provinces", "53,5x", "--dir", "/nonexistent/never-made")
    assert result.exit_code == 2 and "two-digit" in result.output
    assert not Path("/nonexistent/never-made").exists()
