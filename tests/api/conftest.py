"""The ``api`` fixture: a World (bench/world.py) on each test database."""

from __future__ import annotations

import pytest

from bench.world import World


@pytest.fixture
def api(engine) -> World:
    return World(engine)


@pytest.fixture
def setup(api):
    """The REST fixture family (tests/api/test_rest.py) and a catalogue for the national interface."""
    from tests.api.nhsa_his import catalogue
    from tests.api.test_rest import family

    family(api)
    catalogue(api.service.engine)
    return api
