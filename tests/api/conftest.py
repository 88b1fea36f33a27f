"""The ``api`` fixture: a World (bench/world.py) on each test database."""

from __future__ import annotations

import pytest

from bench.world import World


@pytest.fixture
def api(engine) -> World:
    return World(engine)
