"""``gongji supervise``: runs the rules over a database, says what it found in Chinese first, and
refuses bad dates in one line; a second run finds nothing new."""

from __future__ import annotations

from tests.cli.test_db_tune import gongji
from tests.service.supervise_world import World


def test_supervise_finds_then_adds_nothing(tmp_path) -> None:
    from gongji.store.db import make_engine, migrate

    db = tmp_path / "g.db"
    engine = make_engine(str(db))
    migrate(engine)
    w = World(engine)
    w.person("M1", "3000.00")
    for day, shop in ((0, "P1"), (2, "P2"), (4, "P3"), (6, "P4")):
        w.settle("M1", shop, "30.00", day)
    engine.dispose()
    first = gongji("supervise", "--db", str(db))
    assert first.returncode == 0, first.stderr
    assert "pharmacy_hopping" in first.stdout and "多店购药" in first.stdout
    assert "新增 1 条" in first.stdout and "全量" in first.stdout
    again = gongji("supervise", "--db", str(db))
    assert again.returncode == 0 and "新增 0 条" in again.stdout and "增量" in again.stdout


def test_bad_dates_are_refused_in_one_line(tmp_path) -> None:
    db = str(tmp_path / "g.db")
    bad = gongji("supervise", "--from", "2025-13-01", "--db", db)
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr and "Traceback" not in bad.stderr
    backwards = gongji("supervise", "--from", "2025-05-01", "--to", "2025-04-01", "--db", db)
    assert backwards.returncode == 2 and "晚于" in backwards.stderr
