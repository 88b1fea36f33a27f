"""From any seed sentence to its parameter; the comparison reproduces the seed's own table."""

import re
from datetime import date

import zhconv

from gongji.policy.compare import comparison
from gongji.policy.loader import default_registry
from gongji.policy.sources import SOURCES_DIR, normalize, seed_names, seed_text
from gongji.policy.trace import notes, trace


def test_every_seed_sentence_is_traced_to_a_parameter_or_a_note():
    registry = default_registry()
    for seed in seed_names():
        untraced = [t.sentence for t in trace(seed, registry) if not t.params and not t.note]
        assert untraced == [], seed


def test_notes_quote_their_seed():
    for n in notes():
        assert normalize(n["quote"]) in seed_text(n["seed"]), n["quote"]


def test_vendored_seeds_match_shared():
    from pathlib import Path
    shared = Path(__file__).resolve().parents[3] / "shared" / "seeds"
    for name in seed_names():
        if (shared / name).exists():
            assert (shared / name).read_bytes() == (SOURCES_DIR / name).read_bytes()


def _seed_table() -> list[list[str]]:
    raw = (SOURCES_DIR / "000_26c995aa44eb2b16.txt").read_text(encoding="utf-8")
    rows = []
    for line in raw.splitlines():
        if line.startswith("|") and not set(line) <= set("|- "):
            cells = [normalize(c) for c in line.strip().strip("|").split("|")]
            rows.append([zhconv.convert(c, "zh-cn") for c in cells])
    return rows


def _plain(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_compare_reproduces_every_row_of_the_seed_table_and_adds_bayingolin():
    header, *rows = _seed_table()
    assert header[1:] == ["云南文山", "山东淄博", "云南西双版纳"]
    registry = default_registry()
    regions = registry.regions
    assert [f"{p.file.province}{p.name}" for p in regions][:3] == header[1:]
    assert regions[3].region == "652800"
    table = dict(comparison(regions, date(2025, 6, 10)))
    for label, *cells in rows:
        label = {"共济范围": "共济范围"}.get(label, label)
        assert label in table, label
        assert [_plain(c) for c in table[label][:3]] == [_plain(c) for c in cells], label
        assert table[label][3]  # the added Bayingolin column is filled
    assert table["年度限额"][3].startswith("主账户5000元")


def test_compare_shows_the_bill_sanity_limits_as_assumptions():
    table = dict(comparison(default_registry().regions, date(2025, 6, 10)))
    assert table["单项费用上限(录入核验)"] == ["50000元(假设)"] * 4
    assert table["单次结算总额上限(录入核验)"] == ["200000元(假设)"] * 4
