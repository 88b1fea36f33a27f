"""bench.cluster: a PostgreSQL cluster of the bench's own, started with the ``gongji db tune``
settings and gone afterwards, also when the block fails (a few seconds: initdb, start, stop)."""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from bench import cluster
from gongji.store import tune


def _runnable() -> bool:
    """The server binaries, and as root a ``postgres`` user to run them as."""
    if not (cluster.BIN / "initdb").exists():
        return False
    try:
        return os.geteuid() != 0 or bool(pwd.getpwnam("postgres"))
    except KeyError:
        return False


pytestmark = pytest.mark.skipif(not _runnable(), reason=f"no PostgreSQL server binaries in {cluster.BIN}"
                                                       " (or, as root, no postgres user)")


def _closed(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_starts_with_the_tuned_settings_and_leaves_nothing_behind() -> None:
    settings = {s.name: s.value for s in tune.conf(tune.machine("2GB", 2, "ssd"))}  # small: CI's runner
    with cluster.running(settings) as url:
        port = int(url.rsplit(":", 1)[1])
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://") + "/postgres") as c:
            shown = {k: c.execute(f"SHOW {k}").fetchone()[0] for k in ("shared_buffers", "random_page_cost",
                                                                        "wal_compression", "port")}
            root = Path(c.execute("SHOW data_directory").fetchone()[0]).parent
        assert shown == {"shared_buffers": "512MB", "random_page_cost": "1.1", "wal_compression": "lz4",
                         "port": str(port)}
        assert root.exists()
    assert not root.exists() and _closed(port)


def test_a_failing_block_still_stops_and_removes_it() -> None:
    with pytest.raises(RuntimeError, match="boom"), cluster.running({"shared_buffers": "32MB"}) as url:
        port = int(url.rsplit(":", 1)[1])
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://") + "/postgres") as c:
            root = Path(c.execute("SHOW data_directory").fetchone()[0]).parent
        raise RuntimeError("boom")
    assert not root.exists() and _closed(port)


def test_a_setting_postgresql_refuses_is_a_clear_error_and_no_leftover() -> None:
    tmp = Path(tempfile.gettempdir())
    before = set(tmp.glob("gongji-pg-*"))  # another bench's cluster may be running
    with pytest.raises(cluster.ClusterError, match="pg_ctl"), cluster.running({"shared_buffers": "lots"}):
        pass
    assert set(tmp.glob("gongji-pg-*")) <= before


def test_scale_runs_on_its_own_tuned_cluster_and_removes_it(capsys) -> None:
    from bench import scale

    tmp = Path(tempfile.gettempdir())
    before = set(tmp.glob("gongji-pg-*"))
    result = scale.main(["--own-cluster", "--sizes", "0,80", "--n", "20", "--clients", "2"])
    assert result["db"] == "postgresql" and result["cluster"] == "tuned"
    assert [r["settlements"] for r in result["sizes"]] == [0, 80]
    assert all(r["verify_rss_mb"] > 0 and r["floor_p50_ms"] > 0 for r in result["sizes"])
    out = capsys.readouterr().out
    assert "own cluster, gongji db tune: shared_buffers=" in out and "the database's own" in out
    assert set(tmp.glob("gongji-pg-*")) <= before


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_a_kill_stops_and_removes_it(signum) -> None:
    """A bench interrupted (Ctrl-C) or killed (SIGTERM, a CI timeout) leaves no server behind."""
    code = ("import sys, time\nfrom bench import cluster\n"
            "with cluster.running({'shared_buffers': '32MB'}) as url:\n"
            "    print(url, flush=True)\n    time.sleep(60)\n")
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=root,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])})
    try:
        url = child.stdout.readline().strip()
        port = int(url.rsplit(":", 1)[1])
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://") + "/postgres") as c:
            data = Path(c.execute("SHOW data_directory").fetchone()[0])
        child.send_signal(signum)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert not data.parent.exists() and _closed(port)
