"""A PostgreSQL cluster of the bench's own: initdb in a temporary directory, started on a free
127.0.0.1 port with given settings, stopped and removed afterwards, on error and Ctrl-C too.

The shared server keeps its settings; a bench that needs others (``bench.scale``, with the
``gongji db tune`` settings of this machine) runs on one of these, so a clean clone reproduces
its figure. PostgreSQL refuses to run as root: as root, initdb and pg_ctl run as the ``postgres``
system user (``runuser``), in a directory it owns.

    with cluster.running({"shared_buffers": "6GB"}) as url:   # postgresql+psycopg://postgres@127.0.0.1:PORT
        ...
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

BIN = Path(os.environ.get("GONGJI_PG_BIN", "/usr/lib/postgresql/15/bin"))


class ClusterError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_owner(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(_as_owner(cmd), capture_output=True, text=True, **kw)
    if done.returncode != 0:
        raise ClusterError(f"{Path(cmd[0]).name} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return done


@contextlib.contextmanager
def running(settings: dict[str, str] | None = None, port: int | None = None) -> Iterator[str]:
    """A started cluster; yields its server URL (no database name). Gone when the block ends."""
    for tool in ("initdb", "pg_ctl"):
        if not (BIN / tool).exists():
            raise ClusterError(f"{BIN / tool} not found (set GONGJI_PG_BIN to PostgreSQL's bin directory)")
    root = Path(tempfile.mkdtemp(prefix="gongji-pg-"))
    data, log = root / "data", root / "server.log"
    started = False
    # SIGTERM (a killed bench, CI's timeout) goes the way of Ctrl-C: through the cleanup below
    previous = signal.getsignal(signal.SIGTERM)
    if previous in (signal.SIG_DFL, None) and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        if os.geteuid() == 0:
            pg = pwd.getpwnam("postgres")
            os.chown(root, pg.pw_uid, pg.pw_gid)
        _run([str(BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
              "--locale=C.UTF-8", "--no-sync"])
        port = port or free_port()
        lines = {"listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": str(root),
                 "fsync": "on", **(settings or {})}
        conf = "".join(f"{k} = '{v}'\n" for k, v in lines.items())
        _run(["sh", "-c", f"cat >> {data / 'postgresql.conf'}"], input=conf)
        started = True
        _run([str(BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start"])
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    except ClusterError:
        if log.exists():
            with contextlib.suppress(OSError):
                print(log.read_text()[-2000:])
        raise
    finally:
        if started:
            stop = subprocess.run(_as_owner([str(BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60",
                                             "stop"]), capture_output=True)
            if stop.returncode != 0 and (data / "postmaster.pid").exists():
                subprocess.run(_as_owner([str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                               capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
        if signal.getsignal(signal.SIGTERM) is _interrupt:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def tuned() -> dict[str, str]:
    """This machine's ``gongji db tune`` settings."""
    from gongji.store.tune import conf, machine

    return {s.name: s.value for s in conf(machine())}
