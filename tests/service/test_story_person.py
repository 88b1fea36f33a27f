"""A story's ``person`` step with the optional ``name`` and ``certno`` (the extension for the
national interface's 1101 lookup by ID card), replayed end to end; a bad number names its field."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from gongji.calc_format import InputError, load_document
from gongji.replay import replay
from gongji.store import models as m
from tests.cli.test_cli import gongji

CERTNO = "11010519491231002X"
STORY = ('region: "652800"\nsteps:\n'
         '  - {on: 2025-01-02, do: person, psn_no: P1, insutype: "310", insu_admdvs: "652801", balance: "100.00",\n'
         f'     name: 王建国, certno: "{CERTNO.lower()}"}}\n'
         '  - {on: 2025-01-02, do: person, psn_no: P2, insutype: "390", insu_admdvs: "652801"}\n'
         '  - {on: 2025-01-03, do: person, psn_no: P3, insutype: "390", insu_admdvs: "652801", name: 李四,\n'
         f'     certno: "{CERTNO}"}}\n')


def test_person_step_with_name_and_certno(engine) -> None:
    result = replay(load_document(STORY), engine)
    assert [s["ok"] for s in result["steps"]] == [True, True, False]
    assert result["steps"][2]["error"] == "ALREADY_REGISTERED"  # one ID card, one person
    assert result["final"]["invariants"] == "ok" and result["final"]["balances"] == {"P1": "100.00"}
    with engine.connect() as conn:
        rows = dict(conn.execute(select(m.Person.psn_no, m.Person.certno)).all())
        names = dict(conn.execute(select(m.Person.psn_no, m.Person.name)).all())
    assert rows == {"P1": CERTNO, "P2": None} and names == {"P1": "王建国", "P2": None}


@pytest.mark.parametrize("field, value", [("certno", "110105194912310021"), ("certno", "12345"), ("name", "")])
def test_a_bad_person_field_is_named_before_anything_runs(field, value, engine) -> None:
    doc = load_document(STORY)
    doc["steps"][1][field] = value
    with pytest.raises(InputError) as e:
        replay(doc, engine)
    assert str(e.value).startswith(f"steps[1].{field}")
    with engine.connect() as conn:
        assert conn.scalar(select(m.Person.psn_no)) is None


def test_replay_command_takes_certno_and_name(tmp_path) -> None:
    story = tmp_path / "s.yaml"
    story.write_text(STORY, encoding="utf-8")
    r = gongji("replay", str(story), "--db", str(tmp_path / "ok.db"))
    assert r.returncode == 0, r.stderr
    assert [s["ok"] for s in json.loads(r.stdout)["steps"]] == [True, True, False]
    story.write_text(STORY.replace(CERTNO.lower(), "110105194912310021"), encoding="utf-8")
    r = gongji("replay", str(story), "--db", str(tmp_path / "bad.db"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "steps[0].certno" in r.stderr and "不是有效的居民身份证号码" in r.stderr, r.stderr
