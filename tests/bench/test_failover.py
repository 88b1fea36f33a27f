"""bench.failover with one kill: a real Patroni cluster, the server on its routing file, province
53's primary SIGKILLed under load (about 40 s)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bench import failover
from tests.cluster import need_cluster_tools


def test_one_kill_of_the_primary_loses_nothing_and_leaves_the_other_province_alone(capsys) -> None:
    need_cluster_tools()
    before = set(Path(tempfile.gettempdir()).glob("gongji-failover-*"))
    result = failover.main(["--kills", "1", "--clients", "2", "--families", "3"])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == result
    assert list(result) == ["kills", "acknowledged", "lost", "double_charged", "violations", "max_unavailable_s",
                            "other_province_errors"]
    assert result["kills"] == 1 and result["acknowledged"] > 0
    assert result["lost"] == result["double_charged"] == result["violations"] == 0
    assert result["other_province_errors"] == 0
    assert 0 < result["max_unavailable_s"] < 60
    assert set(Path(tempfile.gettempdir()).glob("gongji-failover-*")) <= before  # cluster down and removed
