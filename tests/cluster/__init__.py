"""What the cluster tests need: Debian's patroni and etcd-server and PostgreSQL 15 (``make test``
installs the first two), and, as root, the ``postgres`` account to run them as."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gongji.cluster import etcd, patroni, procs


def need_cluster_tools() -> None:
    """Skip without the tools on a developer's machine; in CI (``CI`` set) fail: they never skip there."""
    tools = (Path(etcd.ETCD), Path(patroni.PATRONI), patroni.PG_BIN / "initdb")
    missing = [str(t) for t in tools if not t.exists()]
    if procs.as_root() and procs.owner() is None:
        missing.append("the postgres account")
    if missing:
        why = f"needs {', '.join(missing)} (make /usr/bin/patroni)"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
