"""A real server and Debian's Chromium (Playwright). Chromium comes from the project's setup
(`make test` installs it when missing); in CI a missing browser fails the run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.world import World
from tests.api.server import serving

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "screenshots"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing: CI must run the browser tests")
        pytest.skip(f"{CHROMIUM} missing (make test installs it)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture
def site(engine):
    world = World(engine)
    with serving(world.app) as base:
        world.base = base
        yield world


@pytest.fixture
def shot(request):
    SHOTS.mkdir(exist_ok=True)

    def take(page, name: str) -> None:
        page.screenshot(path=str(SHOTS / f"{request.node.name}-{name}.png"), full_page=True)

    return take
