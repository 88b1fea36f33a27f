"""Schemathesis against the app's own OpenAPI, as admitted callers, on both databases: no 5xx,
no answer outside its documented status, content type or schema. bench/fuzz.py runs 2,000+."""

from __future__ import annotations

from bench.fuzz import fuzz, seed


def test_generated_requests_get_documented_answers(api) -> None:
    seed(api)
    stats = fuzz(api, per_operation=4)
    assert stats["requests"] >= 100
    assert (stats["server_errors"], stats["violations"]) == (0, 0), stats["failures"]
