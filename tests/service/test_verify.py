"""``verify`` finds each kind of damage: each test breaks one thing behind the service's back
(as a bad migration, a manual fix or a bug would) and expects the matching report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from gongji.calc_format import load_document
from gongji.policy.loader import POLICY_DIR, load_dir
from gongji.replay import replay
from gongji.service.facade import Service
from gongji.service.verify import verify

STORY = Path(__file__).parent.parent / "stories" / "bayingolin-basics.yaml"

TAMPER = {
    "stored balance": (["UPDATE accounts SET balance = balance + 1 WHERE name = 'personal:P1'"],
                       "余额 2795.01 ≠ 记账合计 2795.00"),
    "posting amount": (["UPDATE postings SET amount = amount + 1 WHERE id = (SELECT min(id) FROM postings)"],
                       "不平"),
    "usage counter": (["UPDATE year_usage SET mulaid_received = mulaid_received + 100 WHERE psn_no = 'P2'"],
                      "usage counter differs"),
    "settlement fields": (["UPDATE settlements SET psn_cash_pay = psn_cash_pay + 1 WHERE id = 2"],
                          "payments do not add up"),
    "reversal state": (["UPDATE settlements SET state = 'settled' WHERE id = 1"],
                       "reversal entry for a settlement not reversed"),
    "audit row edited": (["UPDATE audit SET actor = 'mallory' WHERE id = 3"], "audit entry 3: contents altered"),
    "audit row deleted": (["DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)"], "audit head does not match"),
    "audit row removed mid-chain": (["DELETE FROM audit WHERE id = 5"], "audit entry 6: chain broken"),
    "running balance": ([
        "INSERT INTO journal (id, kind, \"on\", created_at) VALUES (900, 'credit', '2025-03-01', CURRENT_TIMESTAMP)",
        "INSERT INTO journal (id, kind, \"on\", created_at) VALUES (901, 'credit', '2025-03-01', CURRENT_TIMESTAMP)",
        "INSERT INTO postings (id, journal_id, account_id, amount) SELECT 900, 900, id, -100000 FROM accounts WHERE name = 'personal:P3'",
        "INSERT INTO postings (id, journal_id, account_id, amount) SELECT 901, 900, id, 100000 FROM accounts WHERE name = 'contributions'",
        "INSERT INTO postings (id, journal_id, account_id, amount) SELECT 902, 901, id, 100000 FROM accounts WHERE name = 'personal:P3'",
        "INSERT INTO postings (id, journal_id, account_id, amount) SELECT 903, 901, id, -100000 FROM accounts WHERE name = 'contributions'",
    ], "went below zero"),
}


@pytest.mark.tampers
@pytest.mark.parametrize("damage", TAMPER, ids=list(TAMPER))
def test_verify_reports_damage(engine, damage: str) -> None:
    assert replay(load_document(STORY.read_text(encoding="utf-8")), engine)["final"]["invariants"] == "ok"
    statements, expected = TAMPER[damage]
    with engine.begin() as conn:
        for sql in statements:
            conn.execute(text(sql))
    problems = Service(engine).verify()
    assert any(expected in p for p in problems), problems


def test_verify_reports_a_cap_overrun(engine, tmp_path) -> None:
    """Settled under a 2000 cap, checked against a file whose cap is 100: every settlement that
    paid more is reported."""
    replay(load_document(STORY.read_text(encoding="utf-8")), engine)
    for f in POLICY_DIR.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    bayingolin = tmp_path / "bayingolin.yaml"
    body = bayingolin.read_text(encoding="utf-8")
    head, _, tail = body.partition("  settlement_cap:")
    assert tail.startswith("\n    values:\n      2025-01-01: 2000.00\n")
    tail = tail.replace("2025-01-01: 2000.00", "2025-01-01: 100.00", 1)
    bayingolin.write_text(head + "  settlement_cap:" + tail, encoding="utf-8")
    service = Service(engine, registry=load_dir(tmp_path))
    problems = service.verify()
    assert any("超过单次限额 100.00" in p and "125.00" in p for p in problems), problems
    assert Service(engine).verify() == []
