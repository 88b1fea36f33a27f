"""The command line, run as a real process: outputs, exit statuses, one-line errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data"
WORKED = DATA / "bayingolin-worked.json"
SPEC_WORKED = Path(__file__).resolve().parents[3] / "shared" / "spec" / "examples" / "bayingolin-worked.json"


def gongji(*args, stdin=None):
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "gongji.cli", *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=60)


def test_worked_example_prints_exactly_its_expected_fields():
    doc = json.loads(WORKED.read_text(encoding="utf-8"))
    r = gongji("calc", str(WORKED))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {k: out[k] for k in doc["expect"]} == doc["expect"]
    assert len(out["explain"]) == 7 and "起付标准[居民] 100.00" in out["explain"][1]


def test_vendored_worked_example_matches_the_spec_copy():
    if not SPEC_WORKED.exists():  # CI and developers have shared/ beside the clone; a lone clone not
        pytest.skip(f"the spec's copy is not beside this clone ({SPEC_WORKED})")
    assert json.loads(SPEC_WORKED.read_text()) == json.loads(WORKED.read_text())


def test_calc_reads_stdin_and_yaml():
    import yaml
    doc = json.loads(WORKED.read_text(encoding="utf-8"))
    r = gongji("calc", "-", stdin=yaml.safe_dump(doc, allow_unicode=True))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["acct_mulaid_pay"] == "255.00"


def _doc(**changes):
    doc = json.loads(WORKED.read_text(encoding="utf-8"))
    for path, value in changes.items():
        target = doc
        keys = path.split("__")
        for k in keys[:-1]:
            target = target[int(k)] if isinstance(target, list) else target[k]
        last = keys[-1]
        if value is KeyError:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return json.dumps(doc)


@pytest.mark.parametrize("changes, field", [
    ({"visit__items__0__amount": 300.5}, "visit.items[0].amount"),
    ({"visit__items__0__amount": "300.505"}, "visit.items[0].amount"),
    ({"visit__items__0__amount": "-1.00"}, "visit.items[0].amount"),
    ({"visit__items__0__list_class": "D"}, "visit.items[0].list_class"),
    ({"visit__med_type": "99"}, "visit.med_type"),
    ({"visit__psn_no": "P9"}, "visit.psn_no"),
    ({"region": "110000"}, "region"),
    ({"bindings__0__holder": "PX"}, "bindings[0].holder"),
    ({"persons__P1__balance": "abc"}, "persons.P1.balance"),
    ({"persons__P2__balance": "5.00"}, "persons.P2.balance"),
    ({"persons__P1__colour": "red"}, "persons.P1.colour"),
    ({"visit__items__1__selfpay_prop": 0.1}, "visit.items[1].selfpay_prop"),
    ({"date": "2025-13-01"}, "date"),
    ({"visit__fixmedins__level": 4}, "visit.fixmedins.level"),
    ({"visit__items": []}, "visit.items"),
    ({"visit": KeyError}, "visit"),
])
def test_bad_input_exits_2_with_one_line_naming_the_field(changes, field):
    r = gongji("calc", "-", stdin=_doc(**changes))
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert f" {field}: " in lines[0]
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("stdin, words", [("{not json", "not valid JSON"), ("[1, 2]", "JSON object"),
                                          ("a: [", "neither JSON nor YAML")])
def test_garbage_is_one_line(stdin, words):
    r = gongji("calc", "-", stdin=stdin)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and words in r.stderr


def test_missing_file_is_one_line():
    r = gongji("calc", "/no/such/file.json")
    assert r.returncode == 2 and "/no/such/file.json" in r.stderr and "Traceback" not in r.stderr


def test_refusal_by_policy_is_json_with_its_code():
    r = gongji("calc", "-", stdin=_doc(persons__P2__status="deceased"))
    assert r.returncode == 1
    assert json.loads(r.stdout)["error"] == "PERSON_DECEASED"


def test_policy_show_lists_every_parameter_with_its_grounding():
    from gongji.policy.params import SPECS
    r = gongji("policy", "show", "652800", "--date", "2025-06-10")
    assert r.returncode == 0, r.stderr
    for spec in SPECS:
        assert spec.name in r.stdout
    assert "單次結算金額不得超過2000元" in r.stdout  # a source quote
    row = next(line for line in r.stdout.splitlines() if "settlement_cap" in line)
    assert "2000元" in row and "200000" not in row  # money in yuan, never raw fen
    assert "假设" in r.stdout and "未公布" in r.stdout


@pytest.mark.parametrize("args, words", [(["policy", "show", "999999"], "unknown region"),
                                         (["policy", "show", "652800", "--date", "2024-01-01"], "no policy in force"),
                                         (["policy", "show", "652800", "--date", "June"], "--date")])
def test_policy_show_errors(args, words):
    r = gongji(*args)
    assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr


def test_policy_compare_shows_all_regions():
    r = gongji("policy", "compare", "--date", "2025-06-10")
    assert r.returncode == 0, r.stderr
    for name in ("文山", "淄博", "西双版纳", "巴音郭楞", "未明确公布", "年度限额"):
        assert name in r.stdout


def test_policy_check_passes_and_fails(tmp_path):
    assert gongji("policy", "check").returncode == 0
    from gongji.policy.loader import POLICY_DIR
    text = (POLICY_DIR / "zibo.yaml").read_text(encoding="utf-8").replace("  payer_order:", "  payer_ordr:")
    (tmp_path / "zibo.yaml").write_text(text, encoding="utf-8")
    r = gongji("policy", "check", "--directory", str(tmp_path))
    assert r.returncode == 1 and "zibo.yaml: parameters" in r.stderr
    assert gongji("policy", "check", "--directory", str(tmp_path / "empty")).returncode == 1
    ok = gongji("policy", "check")
    assert "supervision.yaml: 基金监管规则 8 条" in ok.stdout
    rules = (POLICY_DIR / "supervision.yaml").read_text(encoding="utf-8").replace("kind: high_frequency", "kind: hifreq")
    (tmp_path / "supervision.yaml").write_text(rules, encoding="utf-8")
    r = gongji("policy", "check", "--directory", str(tmp_path))
    assert r.returncode == 1 and "supervision.yaml: rules.high_frequency: unknown kind 'hifreq'" in r.stderr


def test_policy_test_and_demo_run():
    r = gongji("policy", "test")
    assert r.returncode == 0 and " passed, 0 failed" in r.stdout
    assert gongji("policy", "examples").returncode == 0
