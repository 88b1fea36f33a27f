"""bench.supervision at a small size on SQLite: every injected case found, no near-miss flagged."""

from __future__ import annotations

import json

from bench import supervision


def test_supervision_finds_every_case_and_no_near_miss(capsys) -> None:
    result = supervision.main(["--settlements", "4000", "--cases", "2", "--today", "2026-11-29"])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == result and printed["settlements"] == 4000 and printed["seconds"] >= 0
    assert set(printed["rules"]) == set(supervision.RULES)
    for rule, r in printed["rules"].items():
        assert r["recall"] == 1.0, (rule, r)
        assert r["near_misses_flagged"] == 0, (rule, r)
        assert r["precision"] >= 0.9, (rule, r)
