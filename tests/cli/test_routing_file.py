"""The routing file (gongji.toml) and the variables that can stand for it: what is read, what is
refused (one line naming the key), and the commands that go over every province."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gongji.cli import app
from gongji.routing import Province, RoutingError, dump, load
from gongji.store.db import database_url


def test_a_file_round_trips(tmp_path) -> None:
    provinces = [Province("53", "postgresql://u@h1:5432,h2:5432/g?target_session_attrs=read-write",
                          read_url="postgresql://u@h1:5432,h2:5432/g?target_session_attrs=prefer-standby",
                          direct_url="postgresql://u@h1:5433/g"),
                 Province("65", str(tmp_path / "p65.db"))]
    path = tmp_path / "gongji.toml"
    path.write_text(dump(provinces), encoding="utf-8")
    routes = load(path, environ={})
    assert routes.provinces == tuple(provinces) and routes.codes() == ["53", "65"]
    assert routes.get("53").admin_url == "postgresql://u@h1:5433/g" and routes.get("65").admin_url.endswith("p65.db")


def test_multi_host_urls_become_sqlalchemy_hosts() -> None:
    assert database_url("postgresql://u@h1:5432,h2:5433/g?target_session_attrs=read-write") == \
        "postgresql+psycopg://u@/g?target_session_attrs=read-write&host=h1:5432&host=h2:5433"
    assert database_url("postgresql://u@h1:5432/g") == "postgresql+psycopg://u@h1:5432/g"


@pytest.mark.parametrize(("text", "words"), [
    ("[provinces.5]\nurl = 'x'\n", "two digits"),
    ("[provinces.53]\nread_url = 'x'\n", "url is missing"),
    ("[provinces.53]\nurl = 'x'\nuser = 'y'\n", "unknown key(s): user"),
    ("[province.53]\nurl = 'x'\n", "unknown section(s): province"),
    ("[provinces]\n", "no province"),
    ("[provinces.53\n", "格式有误"),
])
def test_a_bad_file_is_refused_in_one_line(tmp_path, text: str, words: str) -> None:
    path = tmp_path / "gongji.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RoutingError) as e:
        load(path, environ={})
    assert words in str(e.value) and "\n" not in str(e.value)


def test_variables_stand_for_the_file(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./gongji.toml here
    assert not load(environ={}).routed
    routes = load(environ={"GONGJI_DB_65": "b.db", "GONGJI_DB_53": "a.db", "GONGJI_READ_DB_53": "r.db"})
    assert [(p.code, p.url, p.read_url) for p in routes.provinces] == [("53", "a.db", "r.db"), ("65", "b.db", None)]


def test_db_migrate_walks_every_province_and_a_missing_file_is_one_line(tmp_path) -> None:
    path = tmp_path / "gongji.toml"
    path.write_text(dump([Province("53", str(tmp_path / "a.db")), Province("65", str(tmp_path / "b.db"))]),
                    encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["db", "migrate"], env={"GONGJI_CONFIG": str(path)})
    assert result.exit_code == 0, result.output
    assert "省份 53" in result.output and "省份 65" in result.output
    assert (tmp_path / "a.db").exists() and (tmp_path / "b.db").exists()
    result = runner.invoke(app, ["db", "migrate", "--db", "37"], env={"GONGJI_CONFIG": str(path)})
    assert result.exit_code == 2 and "37" in result.output
    result = runner.invoke(app, ["verify"], env={"GONGJI_CONFIG": str(tmp_path / "none.toml")})
    assert result.exit_code == 2 and "路由文件不存在" in result.output and "Traceback" not in result.output


def test_institutions_staff_and_backups_go_where_routing_says(tmp_path) -> None:
    import json

    from gongji.service import security
    from gongji.store import models as m
    from gongji.store.db import make_engine

    dbs = {code: tmp_path / f"p{code}.db" for code in ("53", "65")}
    path = tmp_path / "gongji.toml"
    path.write_text(dump([Province(code, str(db)) for code, db in dbs.items()]), encoding="utf-8")
    env = {"GONGJI_CONFIG": str(path)}
    runner = CliRunner()
    result = runner.invoke(app, ["institution", "add", "H65", "--level", "2", "--admdvs", "652801", "--kind",
                                 "hospital", "--provinces", "65,53", "--json"], env=env)
    assert result.exit_code == 0, result.output
    secret = json.loads(result.output)["secret"]
    engines = {code: make_engine(str(db)) for code, db in dbs.items()}
    assert all(security.institution_secret(e, "H65") == secret for e in engines.values())  # one key in both
    result = runner.invoke(app, ["staff", "add", "wang", "--role", "clerk", "--area", "5326"], env=env)
    assert result.exit_code == 0, result.output

    def staff(code: str) -> list[str]:
        with engines[code].connect() as conn:
            return [row[0] for row in conn.execute(m.Staff.__table__.select().with_only_columns(m.Staff.username))]
    assert staff("53") == ["wang"] and staff("65") == []  # a 文山 clerk: province 53 only
    result = runner.invoke(app, ["institution", "add", "H37", "--level", "1", "--admdvs", "370302", "--kind",
                                 "pharmacy"], env=env)
    assert result.exit_code == 2 and "37" in result.output  # its own province is not routed
    result = runner.invoke(app, ["backup", str(tmp_path / "b.db")], env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "b.53.db").exists() and (tmp_path / "b.65.db").exists()
    result = runner.invoke(app, ["supervise"], env=env)
    assert result.exit_code == 0 and "省份 53" in result.output and "省份 65" in result.output
    for e in engines.values():
        e.dispose()
