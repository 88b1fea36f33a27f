"""The crash test's short version (3 kills) on both databases; bench/chaos.py runs the long one."""

from __future__ import annotations

from bench.chaos import main


def test_kills_lose_nothing_and_charge_nothing_twice(engine) -> None:
    result = main(["--kills", "3", "--clients", "6", "--db", engine.url.render_as_string(hide_password=False)])
    assert result["kills"] == 3 and result["acknowledged"] > 0
    assert (result["lost"], result["double_charged"], result["violations"]) == (0, 0, 0)
