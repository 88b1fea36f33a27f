"""``gongji serve`` in a process of its own on a free port, as an operator runs it, for the tests
that must meet the real server: its whole output (stdout and stderr) goes to a file they read."""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.api.server import free_port


@dataclass
class Live:
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def live_server(engine, tmp_path: Path, workers: int = 1):
    """The server on ``engine``'s database; its log is complete once the block has ended."""
    port = free_port()
    live = Live(f"http://127.0.0.1:{port}", tmp_path / f"server-{port}.log")
    db = engine.url.render_as_string(hide_password=False)
    with open(live.log_path, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "gongji.cli", "serve", "--db", db, "--port", str(port),
                                   "--workers", str(workers)], stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_up(live, server)
        yield live
    finally:
        server.terminate()
        server.wait(30)


def _wait_up(live: Live, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gongji serve exited:\n{live.log()[-3000:]}")
        try:
            if httpx.get(f"{live.url}/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gongji serve did not answer /healthz:\n{live.log()[-3000:]}")
