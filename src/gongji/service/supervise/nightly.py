"""The server's own supervision run: each night after the day closes (00:10 China time), in a
worker thread. With several server processes each tries; the run's lock lets one through and the
others find it busy and wait for the next night."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine

from gongji.service.clock import CHINA
from gongji.service.supervise.engine import Busy, supervise

log = logging.getLogger("gongji.supervise")


def next_run(now: datetime, minutes_past_midnight: int = 10) -> datetime:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(minutes=minutes_past_midnight)
    return start if start > now else start + timedelta(days=1)


def run_once(engine: Engine) -> dict | None:
    """One run as the server makes it; None when another process holds the lock."""
    try:
        result = supervise(engine, by="system:nightly")
    except Busy:
        log.info("supervision run skipped: another process is running it")
        return None
    log.info("supervision run: %d new, %d extended in %.1f s", result["new"], result["extended"], result["seconds"])
    return result


async def nightly(engine: Engine) -> None:
    while True:
        now = datetime.now(CHINA)
        await asyncio.sleep((next_run(now) - now).total_seconds())
        try:
            await asyncio.to_thread(run_once, engine)
        except Exception:  # noqa: BLE001 - a failed night is logged; the server keeps serving
            log.exception("supervision run failed")
