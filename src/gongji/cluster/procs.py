"""Processes of a cluster: free ports, detached start as the ``postgres`` user (PostgreSQL refuses
root), and stopping exactly the processes a cluster started (checked by command line, not by pid
alone: a pid may have been reused since it was recorded)."""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

PG_USER = "postgres"


def free_ports(n: int) -> list[int]:
    """``n`` distinct free 127.0.0.1 ports (all held at once while chosen, so none repeats)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def as_root() -> bool:
    return os.geteuid() == 0


def owner() -> pwd.struct_passwd | None:
    """The ``postgres`` account when running as root, else None (run as ourselves)."""
    if not as_root():
        return None
    try:
        return pwd.getpwnam(PG_USER)
    except KeyError:
        return None


def chown(path: Path) -> None:
    pw = owner()
    if pw is not None:
        os.chown(path, pw.pw_uid, pw.pw_gid)


def can_use(path: Path) -> bool:
    """Whether the account the servers run as can write in ``path`` (its parents must let it in)."""
    pw = owner()
    if pw is None:
        return os.access(path, os.W_OK | os.X_OK)
    done = subprocess.run(["runuser", "-u", PG_USER, "--", "test", "-w", str(path), "-a", "-x", str(path)],
                          capture_output=True)
    return done.returncode == 0


def spawn(cmd: list[str], log: Path, cwd: Path, as_pg: bool) -> int:
    """Start ``cmd`` detached (own session: it outlives this command), output to ``log``."""
    pw = owner() if as_pg else None
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           "HOME": str(cwd), "PYTHONUNBUFFERED": "1"}
    kw: dict = {}
    if pw is not None:
        kw = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        env["USER"] = env["LOGNAME"] = PG_USER
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                env=env, start_new_session=True, close_fds=True, **kw)
    return proc.pid


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pid: int | None, marker: str) -> bool:
    """``pid`` runs and its command line contains ``marker`` (not a zombie)."""
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[1].split()[0] == "Z":
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return marker in cmdline(pid)


def with_marker(marker: str) -> list[int]:
    """Running processes whose command line contains ``marker`` (a pid lost from the state file)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid() and alive(int(entry.name), marker):
            found.append(int(entry.name))
    return found


def in_dir(directory: Path) -> list[int]:
    """Processes whose working directory is ``directory``: a postmaster and all its children (a
    killed postmaster's backends outlive it for a moment, holding its shared memory)."""
    target = str(directory.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if os.readlink(entry / "cwd") == target:
                found.append(int(entry.name))
    return found


def signal_all(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def reap() -> None:
    """Collect exited children of this process (a test that started a cluster in-process)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def stop(pid: int | None, marker: str, timeout: float, extra: Iterable[int] = ()) -> bool:
    """SIGTERM, then SIGKILL after ``timeout`` s; True when it was running."""
    if pid is None or not alive(pid, marker):
        return False
    signal_all([pid], signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reap()
        if not alive(pid, marker):
            return True
        time.sleep(0.1)
    signal_all([pid, *extra], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and alive(pid, marker):
        reap()
        time.sleep(0.05)
    return True


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
