"""One PostgreSQL instance under Patroni: its configuration file, its start and its REST view.

Settings (docs/deploy-cluster.md): synchronous replication that never acknowledges a commit held
by one machine only (``synchronous_mode_strict``), pg_rewind so a killed primary rejoins as a
standby, and short timings (ttl 10 s, loop_wait 1 s, retry_timeout 4 s) so that a failover takes
about ten seconds.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import httpx

PATRONI = shutil.which("patroni") or "/usr/bin/patroni"
PG_BIN = Path(os.environ.get("GONGJI_PG_BIN", "/usr/lib/postgresql/15/bin"))
NAMESPACE = "/gongji/"
TTL, LOOP_WAIT, RETRY_TIMEOUT = 10, 1, 4
assert LOOP_WAIT + 2 * RETRY_TIMEOUT <= TTL  # Patroni's own rule


def scope(code: str) -> str:
    return f"gongji-{code}"


def config(name: str, code: str, home: Path, pg_port: int, api_port: int, etcd_port: int,
           strict: bool = True) -> dict:
    """Patroni's configuration of member ``name`` (YAML is a superset of JSON: written as JSON)."""
    local = "127.0.0.1"
    return {
        "scope": scope(code), "namespace": NAMESPACE, "name": name,
        "log": {"level": "INFO"},
        "restapi": {"listen": f"{local}:{api_port}", "connect_address": f"{local}:{api_port}"},
        "etcd3": {"hosts": [f"{local}:{etcd_port}"]},
        "bootstrap": {
            "dcs": {
                "ttl": TTL, "loop_wait": LOOP_WAIT, "retry_timeout": RETRY_TIMEOUT,
                "maximum_lag_on_failover": 1048576,
                "synchronous_mode": True, "synchronous_mode_strict": strict,
                "postgresql": {
                    "use_pg_rewind": True, "use_slots": True,
                    "parameters": {"wal_log_hints": "on", "synchronous_commit": "on", "hot_standby": "on",
                                   "max_connections": 200, "max_wal_senders": 10, "max_replication_slots": 10,
                                   "wal_keep_size": "256MB"},
                },
            },
            "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}, "data-checksums"],
        },
        "postgresql": {
            "listen": f"{local}:{pg_port}", "connect_address": f"{local}:{pg_port}",
            "data_dir": str(home / "data"), "bin_dir": str(PG_BIN), "pgpass": str(home / "pgpass"),
            "authentication": {"superuser": {"username": "postgres"}, "replication": {"username": "postgres"},
                               "rewind": {"username": "postgres"}},
            "parameters": {"unix_socket_directories": str(home)},
            "pg_hba": ["local all all trust", "host all all 127.0.0.1/32 trust",
                       "host replication all 127.0.0.1/32 trust"],
        },
        "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False, "nosync": False},
    }


def write_config(path: Path, cfg: dict) -> None:
    path.write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")


def command(cfg_path: Path) -> list[str]:
    return [PATRONI, str(cfg_path)]


def view(api_port: int, timeout: float = 2.0) -> dict | None:
    """The cluster as this member's REST API sees it (``GET /cluster``), or None when it is down."""
    try:
        r = httpx.get(f"http://127.0.0.1:{api_port}/cluster", timeout=timeout)
        return r.json() if r.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
