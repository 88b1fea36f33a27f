"""``gongji cluster up/status/down`` as functions (the CLI, the tests and bench.failover call them).

A cluster lives in one directory: ``state.json`` (ports, pids, URLs), ``etcd/`` and ``etcd.log``,
one directory per PostgreSQL instance (``pg53-1/``: Patroni's configuration, its log, the data),
and the routing file ``gongji.toml``. Every process runs detached, so the cluster outlives the
command that started it; ``down`` stops it. Two clusters in two directories use different ports.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from gongji.cluster import etcd, patroni, procs
from gongji.routing import PROVINCE, Province, dump

STATE = "state.json"
ROUTES = "gongji.toml"
MEMBERS_PER_PROVINCE = 2
DB_NAME = "gongji"


class ClusterError(RuntimeError):
    """A cluster that cannot be started or used, said in a line; ``log`` is the tail that tells why."""

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log


Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# ---------------------------------------------------------------- state

def state_path(directory: Path) -> Path:
    return Path(directory) / STATE


def load_state(directory: Path) -> dict | None:
    path = state_path(directory)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ClusterError(f"{path}: 无法读取集群状态 cannot read the cluster state: {e}") from None


def _save(directory: Path, state: dict) -> None:
    tmp = state_path(directory).with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, state_path(directory))


def _need_state(directory: Path) -> dict:
    state = load_state(directory)
    if state is None:
        raise ClusterError(f"{directory} 中没有集群 no cluster in this directory (gongji cluster up --dir {directory})")
    return state


def members(state: dict, code: str | None = None) -> list[dict]:
    return [m for c, p in state["provinces"].items() if code in (None, c) for m in p["members"]]


def member(state: dict, name: str) -> dict:
    for m in members(state):
        if m["name"] == name:
            return m
    raise ClusterError(f"没有成员 no member {name!r}")


def _url(ports: list[int], attrs: str) -> str:
    hosts = ",".join(f"127.0.0.1:{p}" for p in ports)
    return f"postgresql://postgres@{hosts}/{DB_NAME}?target_session_attrs={attrs}&connect_timeout=3"


def _new_state(directory: Path, codes: list[str]) -> dict:
    ports = procs.free_ports(2 + 2 * MEMBERS_PER_PROVINCE * len(codes))
    state: dict = {"dir": str(directory), "etcd": {"client_port": ports.pop(), "peer_port": ports.pop(), "pid": None},
                   "provinces": {}}
    state["etcd"]["url"] = f"http://127.0.0.1:{state['etcd']['client_port']}"
    for code in codes:
        ms: list[dict] = []
        for i in range(1, MEMBERS_PER_PROVINCE + 1):
            name = f"pg{code}-{i}"
            ms.append({"name": name, "home": str(directory / name), "pg_port": ports.pop(), "api_port": ports.pop(),
                       "pid": None})
        pg_ports: list[int] = [m["pg_port"] for m in ms]
        state["provinces"][code] = {"scope": patroni.scope(code), "members": ms,
                                    "url": _url(pg_ports, "read-write"), "read_url": _url(pg_ports, "prefer-standby")}
    return state


# ---------------------------------------------------------------- processes

def _etcd_running(state: dict) -> bool:
    return procs.alive(state["etcd"].get("pid"), etcd.MARKER)


def _member_marker(m: dict) -> str:
    return str(Path(m["home"]) / "patroni.yml")


def member_running(m: dict) -> bool:
    return procs.alive(m.get("pid"), _member_marker(m)) or bool(_member_pids(m))


def _member_pids(m: dict) -> list[int]:
    """The member's Patroni: the recorded pid, or found by its configuration path."""
    pid = m.get("pid")
    if pid and procs.alive(pid, _member_marker(m)):
        return [pid]
    return procs.with_marker(_member_marker(m))


def _start_etcd(directory: Path, state: dict) -> None:
    e = state["etcd"]
    if _etcd_running(state):
        return
    e["pid"] = etcd.start(directory, e["client_port"], e["peer_port"])
    _save(directory, state)


def _start_member(directory: Path, state: dict, m: dict) -> None:
    if member_running(m):
        return
    home = Path(m["home"])
    home.mkdir(parents=True, exist_ok=True)
    procs.chown(home)
    if not procs.can_use(home):
        raise ClusterError(f"{home}: 用户 postgres 无法写入 the postgres user cannot write here (PostgreSQL refuses"
                           " root; choose a --dir whose parents others may enter, e.g. under /tmp or /srv)")
    code = m["name"][2:4]
    cfg = patroni.config(m["name"], code, home, m["pg_port"], m["api_port"], state["etcd"]["client_port"],
                         strict=state.get("strict", True))
    cfg_path = home / "patroni.yml"
    patroni.write_config(cfg_path, cfg)
    _leftovers(m, signal.SIGKILL)  # backends of a killed postmaster hold its shared memory a moment
    m["pid"] = procs.spawn(patroni.command(cfg_path), home / "patroni.log", home, as_pg=True)
    _save(directory, state)


def _leftovers(m: dict, sig: int) -> list[int]:
    data = Path(m["home"]) / "data"
    pids = procs.in_dir(data) if data.exists() else []
    procs.signal_all(pids, sig)
    return pids


def wait_until(check: Callable[[], object], timeout: float, what: str, log: Path | None = None,
               every: float = 0.25) -> object:
    """``check()``'s first true value, polled until ``timeout`` s; else ClusterError naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise ClusterError(f"超时 timed out after {timeout:.0f} s: {what}", procs.tail(log) if log else "")
        procs.reap()
        time.sleep(every)


# ---------------------------------------------------------------- views

def province_view(state: dict, code: str) -> dict | None:
    """Patroni's ``/cluster`` of a province, from the first member that answers."""
    for m in state["provinces"][code]["members"]:
        seen = patroni.view(m["api_port"])
        if seen is not None:
            return seen
    return None


def leader(directory: Path, code: str, state: dict | None = None) -> str | None:
    state = state or _need_state(directory)
    seen = province_view(state, code)
    if seen is None:
        return None
    return next((x["name"] for x in seen["members"] if x["role"] == "leader" and x["state"] == "running"), None)


def _ready(state: dict, code: str) -> bool:
    """A running leader and a streaming synchronous standby."""
    seen = province_view(state, code)
    if seen is None:
        return False
    roles = {(x["role"], x["state"]) for x in seen["members"]}
    return ("leader", "running") in roles and any(
        r == "sync_standby" and s in ("running", "streaming") for r, s in roles)


def replica_of(directory: Path, name: str, sync: bool = True) -> bool:
    """Member ``name`` runs as a standby of its province's running leader: its synchronous standby
    (named so in Patroni's ``/sync`` key: the one a failover may promote) unless ``sync`` is False."""
    state = _need_state(directory)
    seen = province_view(state, name[2:4])
    if seen is None or not any(x["role"] == "leader" and x["state"] == "running" for x in seen["members"]):
        return False
    roles = ("sync_standby",) if sync else ("sync_standby", "replica")
    return any(x["name"] == name and x["role"] in roles and x["state"] in ("running", "streaming")
               and isinstance(x.get("lag"), int) for x in seen["members"])


def status(directory: Path) -> dict:
    state = _need_state(directory)
    e = state["etcd"]
    out: dict = {"dir": str(directory), "routes": str(Path(directory) / ROUTES),
                 "etcd": {"url": e["url"], "running": _etcd_running(state), "healthy": etcd.healthy(e["client_port"])},
                 "provinces": {}}
    for code, p in state["provinces"].items():
        seen = province_view(state, code) or {"members": []}
        by_name = {x["name"]: x for x in seen["members"]}
        rows = []
        for m in p["members"]:
            x = by_name.get(m["name"], {})
            rows.append({"name": m["name"], "role": x.get("role", "-"), "state": x.get("state", "stopped"),
                         "lag": x.get("lag", 0 if x.get("role") == "leader" else None), "port": m["pg_port"],
                         "api_port": m["api_port"], "timeline": x.get("timeline"), "process": member_running(m)})
        lead = next((r["name"] for r in rows if r["role"] == "leader" and r["state"] == "running"), None)
        out["provinces"][code] = {"scope": p["scope"], "leader": lead, "members": rows, "url": p["url"],
                                  "read_url": p["read_url"]}
    out["ok"] = out["etcd"]["healthy"] and all(p["leader"] for p in out["provinces"].values())
    return out


# ---------------------------------------------------------------- up

def parse_provinces(text: str) -> list[str]:
    codes = [c.strip() for c in text.split(",") if c.strip()]
    bad = [c for c in codes if not PROVINCE.match(c)]
    if not codes or bad:
        raise ClusterError(f"--provinces: 省份代码应为两位数字,逗号分隔 two-digit codes, comma separated: {text!r}")
    if len(set(codes)) != len(codes):
        raise ClusterError(f"--provinces: 重复的省份 a province is named twice: {text!r}")
    return codes


def up(directory: Path, codes: list[str], progress: Progress = _quiet, timeout: float = 180,
       strict: bool = True) -> dict:
    """Start (or restart, after ``down`` without ``--purge``) the cluster in ``directory``; returns
    its state once every province has a leader and a synchronous standby, with database ``gongji``
    and the routing file written."""
    for tool in (etcd.ETCD, patroni.PATRONI, str(patroni.PG_BIN / "initdb")):
        if not Path(tool).exists():
            raise ClusterError(f"{tool} 未安装 not installed (make /usr/bin/patroni, or apt-get install patroni"
                               " etcd-server postgresql-15)")
    if procs.as_root() and procs.owner() is None:
        raise ClusterError("以 root 运行需要系统用户 postgres / as root, a postgres system user is needed")
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    state = load_state(directory)
    if state is None:
        state = _new_state(directory, codes)
        state["strict"] = strict
        _save(directory, state)
    elif sorted(state["provinces"]) != sorted(codes):
        raise ClusterError(f"{directory} 已有省份 {','.join(state['provinces'])} 的集群 holds a cluster of other "
                           "provinces (gongji cluster down --purge first, or another --dir)")
    progress(f"etcd on {state['etcd']['url']}")
    _start_etcd(directory, state)
    wait_until(lambda: etcd.healthy(state["etcd"]["client_port"]), 30, "etcd did not become healthy",
               directory / "etcd.log")
    for code in codes:
        for m in state["provinces"][code]["members"]:
            progress(f"patroni {m['name']} (postgres :{m['pg_port']}, api :{m['api_port']})")
            _start_member(directory, state, m)
    deadline = time.monotonic() + timeout
    for code in codes:
        progress(f"province {code}: waiting for a leader and a synchronous standby")
        try:
            wait_until(functools.partial(_watch, state, code), max(1.0, deadline - time.monotonic()),
                       f"province {code} has no leader with a streaming synchronous standby")
        except ClusterError as e:
            raise ClusterError(str(e), _logs(state, code)) from None
    for code in codes:
        progress(f"province {code}: database {DB_NAME}")
        create_database(state, code)
    write_routes(directory, state)
    return state


def _watch(state: dict, code: str) -> bool:
    for m in state["provinces"][code]["members"]:
        if not member_running(m):
            raise ClusterError(f"patroni {m['name']} 已退出 exited", procs.tail(Path(m["home"]) / "patroni.log"))
    return _ready(state, code)


def _logs(state: dict, code: str) -> str:
    return "\n".join(f"--- {m['name']}/patroni.log\n{procs.tail(Path(m['home']) / 'patroni.log', 15)}"
                     for m in state["provinces"][code]["members"])


def create_database(state: dict, code: str) -> None:
    import psycopg

    url = state["provinces"][code]["url"].replace(f"/{DB_NAME}?", "/postgres?")
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone() is None:
                conn.execute(f"CREATE DATABASE {DB_NAME}")
    except psycopg.Error as e:
        raise ClusterError(f"province {code}: 无法建库 cannot create database {DB_NAME}: {e}".strip()) from None


def write_routes(directory: Path, state: dict) -> Path:
    path = Path(directory) / ROUTES
    text = dump([Province(code, p["url"], p["read_url"]) for code, p in state["provinces"].items()])
    path.write_text(text, encoding="utf-8")
    return path


def load_demo(directory: Path, timeout: float = 600) -> str:
    """``gongji demo`` on the routed databases (migrates them and loads the demo families)."""
    directory = Path(directory)
    env = {**os.environ, "GONGJI_CONFIG": str(directory / ROUTES)}
    env.pop("GONGJI_DB", None)
    stray = directory / "gongji.db"  # where a `gongji demo` that ignores the routing file would write
    existed = stray.exists()
    try:
        done = subprocess.run([sys.executable, "-m", "gongji.cli", "demo"], env=env, capture_output=True, text=True,
                              timeout=timeout, cwd=directory)
    except subprocess.TimeoutExpired:
        raise ClusterError(f"gongji demo 超时 timed out after {timeout:.0f} s") from None
    if not existed and stray.exists():
        for leftover in directory.glob("gongji.db*"):
            leftover.unlink(missing_ok=True)
        raise ClusterError("gongji demo 未按路由文件写入 ignored the routing file (it wrote ./gongji.db, now removed):"
                           " this gongji's demo is not routing-aware yet; the cluster is up, use --no-demo")
    if done.returncode != 0:
        raise ClusterError(f"gongji demo 失败 failed (exit {done.returncode}); the cluster is up, retry with"
                           f" GONGJI_CONFIG={Path(directory) / ROUTES} gongji demo",
                           "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:]))
    return done.stdout.strip()


# ---------------------------------------------------------------- failures and rejoining

def _gone(m: dict) -> bool:
    return not _leftovers(m, 0)


def kill_member(directory: Path, name: str) -> None:
    """SIGKILL a member's Patroni and its PostgreSQL (a machine lost at once)."""
    state = _need_state(directory)
    m = member(state, name)
    procs.signal_all(_member_pids(m), signal.SIGKILL)
    _leftovers(m, signal.SIGKILL)
    wait_until(lambda: not member_running(m) and not _leftovers(m, signal.SIGKILL), 15,
               f"{name}'s processes did not die")


def rejoin(directory: Path, name: str, timeout: float = 90) -> None:
    """Start a stopped member's Patroni again and wait until it is the leader's synchronous
    standby (a former primary is rewound with pg_rewind first). Until then a second failure of
    the province's leader has no member that may be promoted (docs/deploy-cluster.md)."""
    directory = Path(directory).resolve()
    state = _need_state(directory)
    m = member(state, name)
    _start_member(directory, state, m)
    wait_until(functools.partial(replica_of, directory, name), timeout,
               f"{name} did not rejoin as the synchronous standby", Path(m["home"]) / "patroni.log")


# ---------------------------------------------------------------- down

def down(directory: Path, purge: bool = False, timeout: float = 30) -> dict:
    """Stop every process of the cluster (SIGTERM, SIGKILL after ``timeout`` s); keep the data
    unless ``purge``. Stopping a stopped cluster is no error."""
    directory = Path(directory).resolve()
    state = load_state(directory)
    if state is None:
        return {"stopped": [], "purged": False, "cluster": False}
    running = [m for m in members(state) if member_running(m)]
    stopped = [m["name"] for m in running]
    for m in running:
        m["pids"] = _member_pids(m)
        procs.signal_all(m["pids"], signal.SIGTERM)  # all at once: none waits for another
    for m in running:
        for pid in m.pop("pids"):
            procs.stop(pid, _member_marker(m), timeout, extra=procs.in_dir(Path(m["home"]) / "data"))
        if _leftovers(m, signal.SIGTERM):
            wait_until(functools.partial(_gone, m), 10, f"{m['name']}'s postgres did not stop")
    etcd_pids = [state["etcd"].get("pid")] if _etcd_running(state) else \
        [p for p in procs.with_marker(f"--data-dir {directory / 'etcd'} ") if etcd.ETCD in procs.cmdline(p)]
    for pid in etcd_pids:
        if procs.stop(pid, etcd.MARKER, timeout):
            stopped.append("etcd")
    procs.reap()
    if purge:
        for m in members(state):
            shutil.rmtree(m["home"], ignore_errors=True)
        shutil.rmtree(directory / "etcd", ignore_errors=True)
        for f in (STATE, ROUTES, "etcd.log"):
            (directory / f).unlink(missing_ok=True)
        try:
            directory.rmdir()
        except OSError:
            pass
    return {"stopped": stopped, "purged": purge, "cluster": True}
