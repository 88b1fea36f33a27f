"""The one etcd of a local cluster (Patroni's distributed configuration store)."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from gongji.cluster import procs

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
MARKER = "etcd"


def command(directory: Path, client_port: int, peer_port: int) -> list[str]:
    client, peer = f"http://127.0.0.1:{client_port}", f"http://127.0.0.1:{peer_port}"
    return [ETCD, "--name", "gongji", "--data-dir", str(directory / "etcd"),
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"gongji={peer}", "--initial-cluster-state", "new",
            "--initial-cluster-token", f"gongji-{client_port}", "--log-level", "warn"]


def start(directory: Path, client_port: int, peer_port: int) -> int:
    return procs.spawn(command(directory, client_port, peer_port), directory / "etcd.log", directory, as_pg=False)


def healthy(client_port: int) -> bool:
    try:
        r = httpx.get(f"http://127.0.0.1:{client_port}/health", timeout=2)
        return r.status_code == 200 and r.json().get("health") in ("true", True)
    except (httpx.HTTPError, ValueError):
        return False
