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
from gongji.service import verify as verify_module
from gongji.service.facade import Service

STORY = Path(__file__).parent.parent / "stories" / "bayingolin-basics.yaml"

def nth(n: int) -> str:
    """The n-th settlement's id (ids have gaps: a batch draws one per request, refused ones too)."""
    return f"(SELECT id FROM settlements ORDER BY id LIMIT 1 OFFSET {n - 1})"


TAMPER = {
    "stored balance": (["UPDATE accounts SET balance = balance + 1 WHERE name = 'personal:P1'"],
                       "余额 2795.01 ≠ 记账合计 2795.00"),
    "posting amount": (["UPDATE postings SET amount = amount + 1 WHERE id = (SELECT min(id) FROM postings)"],
                       "不平"),
    "usage counter": (["UPDATE year_usage SET mulaid_received = mulaid_received + 100 WHERE psn_no = 'P2'"],
                      "usage counter differs"),
    "settlement fields": ([f"UPDATE settlements SET psn_cash_pay = psn_cash_pay + 1 WHERE id = {nth(2)}"],
                          "payments do not add up"),
    "reversal state": ([f"UPDATE settlements SET state = 'settled' WHERE id = {nth(1)}"],
                       "reversal entry for a settlement not reversed"),
    "audit row edited": (["UPDATE audit SET actor = 'mallory' WHERE id = 3"], "audit entry 3: contents altered"),
    "audit row deleted": (["DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)"], "audit head does not match"),
    "audit row removed mid-chain": (["DELETE FROM audit WHERE id = 5"], "audit entry 6: chain broken"),
    "journal without postings": (["INSERT INTO journal (id, kind, \"on\", created_at)"
                                  " VALUES (950, 'credit', '2025-03-01', CURRENT_TIMESTAMP)"], "分录 950 没有记账行"),
    "item amount": ([f"UPDATE settlement_items SET amount = amount + 1 WHERE settlement_id = {nth(2)} AND seq ="
                     f" (SELECT min(seq) FROM settlement_items WHERE settlement_id = {nth(2)})"], "items do not sum"),
    "mutual-aid detail": (["UPDATE settlement_mulaid SET amount = amount - 1 WHERE settlement_id ="
                           " (SELECT max(settlement_id) FROM settlement_mulaid)"],
                          "mulaid_detail does not sum to acct_mulaid_pay"),
    "zeroed quota": (["UPDATE year_usage SET zeroed_paid = 7 WHERE psn_no = 'P1'"], "zeroed quota differs"),
    "ledger entry doubled": (["INSERT INTO journal (id, kind, \"on\", created_at, settlement_id)"
                              " SELECT 960, kind, \"on\", created_at, settlement_id FROM journal"
                              f" WHERE settlement_id = {nth(3)} AND kind = 'settle'"],
                             "ledger entry differs from the settlement"),
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
@pytest.mark.parametrize("chunk", [2, 20_000], ids=["small ranges", "one range"])
def test_verify_reports_damage(engine, damage: str, chunk: int, monkeypatch) -> None:
    monkeypatch.setattr(verify_module, "CHUNK", chunk)  # range edges must not hide anything
    assert replay(load_document(STORY.read_text(encoding="utf-8")), engine)["final"]["invariants"] == "ok"
    statements, expected = TAMPER[damage]
    pg = engine.dialect.name == "postgresql"  # as the tables' owner could: the ledger trigger off
    with engine.begin() as conn:
        if pg:
            conn.execute(text("ALTER TABLE postings DISABLE TRIGGER postings_balance"))
        for sql in statements:
            conn.execute(text(sql))
        if pg:
            conn.execute(text("ALTER TABLE postings ENABLE TRIGGER postings_balance"))
    problems = Service(engine).verify()
    assert any(expected in p for p in problems), problems


CAPS = {
    "settlement": ("settlement_cap", "2025-01-01: 2000.00", "2025-01-01: 100.00",
                   "共济 125.00 超过单次限额 100.00"),
    "holder year": ("annual_cap_holder", "2025-01-01: 5000.00", "2025-01-01: 200.00",
                    "P1 2025 年支出 205.00 超过主账户年度限额 200.00"),
    "beneficiary year": ("annual_cap_beneficiary", '2025-01-01: {"310": null, "390": 2000.00}',
                         '2025-01-01: {"310": 200.00, "390": 200.00}',
                         "P2 2025 年受益 205.00 超过被绑定人年度限额 200.00"),
}


@pytest.mark.parametrize("cap", CAPS, ids=list(CAPS))
def test_verify_reports_a_cap_overrun(engine, tmp_path, cap: str) -> None:
    """Settled under the published caps, checked against a file with a lower one: the overrun is
    reported, and nothing is against the real files."""
    replay(load_document(STORY.read_text(encoding="utf-8")), engine)
    for f in POLICY_DIR.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    name, was, now, expected = CAPS[cap]
    bayingolin = tmp_path / "bayingolin.yaml"
    body = bayingolin.read_text(encoding="utf-8")
    head, _, tail = body.partition(f"  {name}:")
    assert tail.startswith(f"\n    values:\n      {was}\n")
    bayingolin.write_text(head + f"  {name}:" + tail.replace(was, now, 1), encoding="utf-8")
    problems = Service(engine, registry=load_dir(tmp_path)).verify()
    assert any(expected in p for p in problems), problems
    assert Service(engine).verify() == []


def test_verify_reports_progress_per_check(engine, monkeypatch) -> None:
    """Each check reports its start and end; the settlement check one tick per id range."""
    replay(load_document(STORY.read_text(encoding="utf-8")), engine)
    monkeypatch.setattr(verify_module, "CHUNK", 2)
    seen: list[tuple[str, int, int]] = []
    assert Service(engine).verify(lambda label, done, total: seen.append((label, done, total))) == []
    labels = [label for label, _ in verify_module.CHECKS]
    assert [label for label in dict.fromkeys(s[0] for s in seen)] == labels
    settlement_ticks = [(d, t) for label, d, t in seen if label == labels[3] and t > 1]
    with engine.connect() as c:
        low, high = c.execute(text("SELECT min(id), max(id) FROM settlements")).one()
    ranges = len(range(low, high + 1, 2))
    assert settlement_ticks == [(i, ranges) for i in range(1, ranges + 1)]


@pytest.mark.tampers
@pytest.mark.parametrize("update", ["zeroed_received = 0", "zeroed_received = zeroed_received - 1"])
def test_verify_matches_zeroed_quota_to_its_entries(engine, update: str) -> None:
    """Quota forfeited at death is a QUOTA entry; the usage row that says otherwise is reported,
    also when it says nothing was forfeited at all."""
    story = STORY.parent / "lifecycle.yaml"
    assert replay(load_document(story.read_text(encoding="utf-8")), engine)["final"]["invariants"] == "ok"
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE year_usage SET {update} WHERE psn_no = 'E'"))
    assert Service(engine).verify() == ["E 2025 年 清零额度与额度分录不符 / zeroed quota differs from its QUOTA entries"]
