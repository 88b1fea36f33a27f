"""The ``gongji`` command. Bad input exits 2 with one clear line; never a traceback."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gongji.calc_format import InputError, load_document
from gongji.calc_format import calc as calc_doc
from gongji.domain.codes import label
from gongji.domain.errors import DomainError
from gongji.policy.compare import comparison, grounding, value_text
from gongji.policy.loader import POLICY_DIR, PolicyError, default_registry, load_region
from gongji.policy.params import SPECS

app = typer.Typer(help="gongji 共济:职工医保个人账户家庭共济", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
policy_app = typer.Typer(help="各地政策:查看、对比、校验", no_args_is_help=True)
app.add_typer(policy_app, name="policy")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 2) -> None:
    err.print(f"[red]错误[/red] {message}", highlight=False)
    raise typer.Exit(code)


def _day(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"--date: not a date (YYYY-MM-DD): {text!r}")


@app.command()
def calc(
    file: Annotated[str, typer.Argument(help="situation JSON/YAML file, or - for stdin")],
) -> None:
    """Calculate one settlement from a situation (shared/spec/calc-format.md); prints JSON."""
    text = _read(file)
    try:
        result = calc_doc(load_document(text))
    except InputError as e:
        fail(str(e))
    except DomainError as e:
        print(json.dumps({"error": e.code, "message": e.message, "field": e.field}, ensure_ascii=False))
        raise typer.Exit(1) from None
    print(json.dumps(result, ensure_ascii=False, indent=2))


@policy_app.command("show")
def policy_show(
    region: Annotated[str, typer.Argument(help="region code, e.g. 652800")],
    on: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD, default today")] = None,
) -> None:
    """Every parameter of a region as in force on a date, with its source or flag."""
    day = _day(on)
    try:
        policy = default_registry().find(region)
        policy.at(day)
    except PolicyError as e:
        fail(str(e))
    table = Table(title=f"{policy.file.name}({policy.region})政策参数 · {day}", show_lines=True)
    for col in ("参数", "名称", "取值", "依据"):
        table.add_column(col, overflow="fold")
    for spec in SPECS:
        rec = policy.params[spec.name]
        table.add_row(spec.name, spec.label, value_text(rec, day), grounding(rec))
    out.print(table)


@policy_app.command("compare")
def policy_compare(
    on: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD, default today")] = None,
) -> None:
    """All regions side by side, generated from the policy files."""
    day = _day(on)
    regions = default_registry().regions
    try:
        rows = comparison(regions, day)
    except PolicyError as e:
        fail(str(e))
    table = Table(title=f"各地家庭共济政策对比 · {day}", show_lines=True,
                  caption="未明确公布:资料未公布,除余额外不设限;(假设):资料未写明,按本项目读法")
    table.add_column("对比项", style="bold")
    for p in regions:
        table.add_column(f"{p.file.province}{p.name}", overflow="fold")
    for name, cells in rows:
        table.add_row(name, *cells)
    out.print(table)


@policy_app.command("check")
def policy_check(
    directory: Annotated[Path, typer.Option(help="folder of region files")] = POLICY_DIR,
) -> None:
    """Validate every region file, and the supervision rules (supervision.yaml) beside them; exit 1
    on any problem."""
    from gongji.policy.supervision import load_rules

    problems = 0
    rules = directory / "supervision.yaml"
    paths = sorted(p for p in directory.glob("*.yaml") if p != rules)
    if not paths:
        fail(f"{directory}: no region files (*.yaml)", 1)
    regions = set()
    for path in paths:
        try:
            policy = load_region(path)
            regions.add(policy.region)
            out.print(f"[green]✓[/green] {path.name}: {policy.region} {policy.name},"
                      f" {len(policy.params)} 项参数", highlight=False)
        except PolicyError as e:
            problems += 1
            err.print(f"[red]✗[/red] {e}", highlight=False)
    if rules.exists():
        try:
            checked = load_rules(rules, known_regions=regions)
            out.print(f"[green]✓[/green] {rules.name}: 基金监管规则 {len(checked)} 条", highlight=False)
        except PolicyError as e:
            problems += 1
            err.print(f"[red]✗[/red] {e}", highlight=False)
    if problems:
        raise typer.Exit(1)


@policy_app.command("test")
def policy_test() -> None:
    """Run every golden situation against the policy files; exit 1 on any mismatch."""
    from gongji.policy.golden import load_cases, mismatches

    cases, failed = load_cases(), 0
    for case in cases:
        diff = mismatches(case)
        if diff:
            failed += 1
            detail = "; ".join(f"{k}: 应为 {e!r},实为 {g!r}" for k, (e, g) in diff.items())
            err.print(f"[red]✗[/red] {case.id} {case.name}:{detail}", highlight=False)
    out.print(f"{len(cases) - failed} passed, {failed} failed", highlight=False)
    if failed:
        raise typer.Exit(1)


@policy_app.command("trace")
def policy_trace(
    seed: Annotated[str | None, typer.Argument(help="seed file name; default: all")] = None,
) -> None:
    """Each sentence of a seed and the parameters that implement it (or why none does)."""
    from gongji.policy.sources import seed_names
    from gongji.policy.trace import trace

    names = seed_names()
    if seed is not None and seed not in names:
        fail(f"unknown seed {seed!r} (known: {', '.join(names)})")
    for name in [seed] if seed else names:
        out.rule(name)
        for t in trace(name, default_registry()):
            where = "、".join(t.params) or (f"[dim]{t.note}[/dim]" if t.note else "[red]未覆盖[/red]")
            out.print(f"[bold]{t.sentence}[/bold]\n    → {where}", highlight=False)


def _read(file: str) -> str:
    try:
        return sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except OSError as e:
        fail(f"{file}: {e.strerror}")
    except UnicodeDecodeError:
        fail(f"{file}: not UTF-8 text")


def _routes():
    from gongji.routing import RoutingError, load

    try:
        return load()
    except RoutingError as e:
        fail(str(e))


def _province_db(db: str | None) -> str | None:
    """``--db 53``: province 53's database from the routing file. Routed, a command on one
    database must name its province."""
    routes = _routes()
    if db is not None and len(db) == 2 and db.isdigit():
        p = routes.get(db)
        if p is None:
            fail(f"路由文件中没有省份 {db} / province {db} is not routed ({routes.source or '未配置 no routing file'})")
        return p.admin_url
    if db is None and routes.routed:
        fail(f"已按省份路由({routes.source}):请用 --db NN 指定省份 / routed by province: name one with --db NN "
             f"({', '.join(routes.codes())})")
    return db


def _each(db: str | None) -> list[tuple[str, object]]:
    """(province, migrated engine) for each database a whole-system command goes over: every
    routed province, or the one database (``--db`` picks one)."""
    routes = _routes()
    if db is None and routes.routed:
        return [(p.code, _engine(p.admin_url)) for p in routes.provinces]
    return [("", _engine(_province_db(db)))]


def _engine(db: str | None):
    """An engine on a migrated database, or a clear one-line failure."""
    from sqlalchemy.exc import SQLAlchemyError

    from gongji.store.db import make_engine, migrate, redacted

    db = _province_db(db)
    try:
        engine = make_engine(db)
        migrate(engine)
        return engine
    except SQLAlchemyError as e:
        fail(f"数据库不可用 database unavailable ({redacted(db or '')}): {str(e.orig if hasattr(e, 'orig') else e).splitlines()[0]}")


DbOption = Annotated[str | None, typer.Option("--db", help="database URL or SQLite file; default $GONGJI_DB or ./gongji.db; "
                                                         "routed (gongji.toml): NN, a province")]


@app.command()
def replay(
    file: Annotated[str, typer.Argument(help="story YAML/JSON file, or - for stdin")],
    db: Annotated[str | None, typer.Option("--db", help="database URL; default a new empty SQLite file")] = None,
) -> None:
    """Run a story (shared/spec/story-format.md) through the service; prints JSON."""
    import tempfile

    from gongji.replay import is_fresh
    from gongji.replay import replay as run_story

    text = _read(file)
    with tempfile.TemporaryDirectory() as tmp:
        engine = _engine(db or str(Path(tmp) / "story.db"))
        if not is_fresh(engine):
            fail("replay needs an empty database: this one already has persons / 该数据库已有数据")
        try:
            result = run_story(load_document(text), engine)
        except InputError as e:
            fail(str(e))
        finally:
            engine.dispose()
    print(json.dumps(result, ensure_ascii=False, indent=2))


@app.command()
def verify(db: DbOption = None) -> None:
    """Check the ledger and the counters; print each violation and exit 1 if there is any.
    Routed by province: every province's database, each named."""
    from gongji.service.facade import Service

    failed = []
    for code, engine in _each(db):
        where = f"省份 {code}:" if code else ""
        if _checked(Service(engine)):
            failed.append(code)
            err.print(f"[red]✗[/red] {where}账务校验未通过 verify failed", highlight=False)
        else:
            out.print(f"[green]✓[/green] {where}账务一致 ledger, balances, counters and caps: ok", highlight=False)
    if failed:
        raise typer.Exit(1)


def _checked(service) -> list[str]:
    """``verify`` with a progress bar per check (minutes on tens of millions of rows); each
    problem printed in red."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("校验 {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        tasks: dict[str, int] = {}

        def show(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done, total=total)
        problems = service.verify(show)
    for p in problems:
        err.print(f"[red]✗[/red] {p}", highlight=False)
    return problems


def _date_option(text: str | None, name: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{name}: 日期格式应为 YYYY-MM-DD / not a date: {text!r}")
    return None


@app.command()
def supervise(
    date_from: Annotated[str | None, typer.Option("--from", help="rescan from this day (YYYY-MM-DD)")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="rescan to this day (YYYY-MM-DD)")] = None,
    db: DbOption = None,
) -> None:
    """Run the fund-supervision rules (policies/supervision.yaml): new flags, open flags extended.
    Without --from/--to only what is new since the last run is read."""
    from gongji.policy.loader import PolicyError
    from gongji.policy.supervision import load_rules

    lo, hi = _date_option(date_from, "--from"), _date_option(date_to, "--to")
    if lo and hi and lo > hi:
        fail(f"--from {lo} 晚于 --to {hi} / --from is after --to")
    try:
        rules = load_rules()
    except PolicyError as e:
        fail(str(e))
    for code, engine in _each(db):
        if code:
            out.print(f"省份 {code}", highlight=False)
        _supervise_one(engine, lo, hi, rules)


def _supervise_one(engine, lo, hi, rules) -> None:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from gongji.service.supervise.engine import Busy
    from gongji.service.supervise.engine import supervise as run_rules

    columns = (TextColumn("监管规则 {task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("", total=len(rules))

        def show(label: str, done: int, total: int) -> None:
            bar.update(task, description=label, completed=done, total=total)
        try:
            result = run_rules(engine, date_from=lo, date_to=hi, by="cli", progress=show, rules=rules)
        except Busy as e:
            fail(str(e))
    table = Table("规则 rule", "名称", "发现 hits", "新增 new", "扩展 extended")
    names = {r.id: r.name for r in rules}
    for rid, counts in result["by_rule"].items():
        table.add_row(rid, names[rid], str(counts["hits"]), str(counts["new"]), str(counts["extended"]))
    out.print(table)
    span = f"{result['from']} 至 {result['to']}" if result["from"] else "无新结算 nothing new"
    mode = "增量 incremental" if result["incremental"] else "全量 full"
    out.print(f"监管运行完成({mode},{span}):新增 {result['new']} 条,扩展 {result['extended']} 条,"
              f"用时 {result['seconds']:.1f} 秒", highlight=False)


credits_app = typer.Typer(help="个人账户月度划入", no_args_is_help=True)
app.add_typer(credits_app, name="credits")


def _import_file(file: Path, db: str | None, label: str, run, file_error: type, what: str, code: int):
    """Read a file, check it whole and apply it through ``run(svc, data, progress)`` with a progress
    bar; a file with problems lists every one and applies nothing (exit 1)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from gongji.service.facade import Service

    try:
        data = file.read_bytes()
    except OSError as e:
        fail(f"{file}: {e.strerror} / cannot read the file")
    svc = Service(_engine(db))
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)
        try:
            return run(svc, data, lambda n, total: bar.update(task, advance=n, total=total))
        except file_error as e:
            bar.stop()
            for p in e.problems:
                err.print("✗ " + p, style="red", highlight=False, markup=False)  # the file's text is no markup
            fail(f"{file.name}: {len(e.problems)} 处有误,{what} / nothing applied", code)


@credits_app.command("import")
def credits_import(
    file: Annotated[Path, typer.Argument(help="CSV: psn_no,amount,period (UTF-8)")],
    db: DbOption = None,
    batch: Annotated[int, typer.Option(min=1, max=10000, help="rows per transaction")] = 500,
) -> None:
    """Check the whole file, then apply it in batches; the same file is applied once."""
    from gongji.service.credits import CreditsFileError

    result = _import_file(file, db, "划入 crediting",
                          lambda svc, data, progress: svc.import_credits(data, file.name, batch, progress),
                          CreditsFileError, "未入账", 2)
    if result["already_imported"]:
        out.print(f"该文件已导入过,未重复入账 / already imported: {result['rows']} 行,合计 {result['total']} 元")
    else:
        out.print(f"[green]✓[/green] 已入账 {result['applied']} 行,合计 {result['total']} 元", highlight=False)


catalog_app = typer.Typer(help="医保目录", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")


@catalog_app.command("import")
def catalog_import(
    file: Annotated[Path, typer.Argument(help="CSV: med_list_codg,name,med_chrgitm_type,chrgitm_lv,selfpay_prop,"
                                              "pric_uplmt_amt,lmt_used_flag,category,admdvs,begndate,enddate")],
    db: DbOption = None,
    batch: Annotated[int, typer.Option(min=1, max=10000, help="rows per transaction")] = 500,
) -> None:
    """Check the whole catalogue file, then upsert it by (code, admdvs, begndate) in batches."""
    from gongji.service.catalog import CatalogFileError

    result = _import_file(file, db, "导入目录 importing",
                          lambda svc, data, progress: svc.import_catalog(data, batch, progress, actor="cli"),
                          CatalogFileError, "目录未导入", 1)
    out.print(f"[green]✓[/green] 目录 {result['rows']} 行:新增 {result['added']},更新 {result['replaced']},"
              f"未变 {result['unchanged']} / added, replaced, unchanged", highlight=False)


institution_app = typer.Typer(help="定点医药机构与签名密钥", no_args_is_help=True)
app.add_typer(institution_app, name="institution")
staff_app = typer.Typer(help="经办工作人员", no_args_is_help=True)
app.add_typer(staff_app, name="staff")


def _secure(db, fn, *args, **kw):
    from gongji.service.facade import Service

    return _secured(Service(_engine(db)), fn, *args, **kw)


def _secured(service, fn, *args, **kw):
    try:
        return service.secure(fn, *args, actor="cli", **kw)
    except DomainError as e:
        fail(f"{label(e.code)} {e.message}", 1)


JsonOption = Annotated[bool, typer.Option("--json", help='print one line {"code": ..., "secret": ...} for scripts')]


def _show_secret(code: str, secret: str, as_json: bool, text: str) -> None:
    if as_json:
        print(json.dumps({"code": code, "secret": secret}))
    else:
        out.print(f"{code} {text}\n{secret}", highlight=False)


@institution_app.command("add")
def institution_add(
    code: str, level: Annotated[int, typer.Option(min=1, max=3)],
    admdvs: Annotated[str, typer.Option()], kind: Annotated[str, typer.Option(help="hospital | pharmacy")],
    name: Annotated[str, typer.Option()] = "",
    paasid: Annotated[str | None, typer.Option(help="x-tif gateway application account; default the code itself")] = None,
    as_json: JsonOption = False, db: DbOption = None,
    provinces: Annotated[str | None, typer.Option(help="routed: the provinces it serves, e.g. 53,65 (remote visits); "
                                                      "default its own (the first two digits of --admdvs)")] = None,
) -> None:
    """Register a designated institution and print its signing secret (shown this once). Routed by
    province, it is registered in each province it serves, with one secret."""
    from pydantic import ValidationError

    from gongji.service.commands import RegisterInstitution

    try:
        cmd = RegisterInstitution(code=code, level=level, admdvs=admdvs, kind=kind, name=name)
    except ValidationError as e:
        fail(f"{e.errors()[0]['loc'][0]}: {e.errors()[0]['msg']}")
    secret = None
    for target in _institution_dbs(db, provinces, admdvs):
        secret = _add_institution(target, cmd, paasid, secret)
    assert secret is not None
    _show_secret(code, secret, as_json, "已登记。签名密钥(只显示这一次,请妥善保存)/ signing secret, shown once:")


def _institution_dbs(db: str | None, provinces: str | None, admdvs: str) -> list[str | None]:
    routes = _routes()
    if db is not None or not routes.routed:
        if provinces:
            fail("--provinces 只用于按省份路由(gongji.toml)/ --provinces needs a routing file")
        return [db]
    codes = [c.strip() for c in provinces.split(",") if c.strip()] if provinces else [admdvs[:2]]
    for c in codes:
        if routes.get(c) is None:
            fail(f"路由文件中没有省份 {c} / province {c} is not routed ({', '.join(routes.codes())})")
    return codes


def _add_institution(db: str | None, cmd, paasid: str | None, secret: str | None) -> str:
    from gongji.service.facade import Service
    from gongji.service.security import check_paasid, institution_by_paasid, new_institution_secret, set_paasid

    service = Service(_engine(db))
    try:
        if paasid is not None:  # refused before anything is registered
            check_paasid(paasid)
            taken = institution_by_paasid(service.engine, paasid)
            if taken is not None and taken[0] != cmd.code:
                raise DomainError("ALREADY_REGISTERED", f"接入方编号 {paasid} 已被定点医药机构 {taken[0]} 使用", "paasid")
        service.register_institution(cmd, actor="cli")
    except DomainError as e:
        fail(f"{label(e.code)} {e.message}", 1)
    if paasid is not None:
        _secured(service, set_paasid, cmd.code, paasid)
    return _secured(service, new_institution_secret, cmd.code, secret=secret)


@institution_app.command("rotate-secret")
def institution_rotate(code: str, as_json: JsonOption = False, db: DbOption = None) -> None:
    """Replace an institution's signing secret; the old one stops working at once."""
    from gongji.service.security import new_institution_secret

    secret = _secure(db, new_institution_secret, code)
    _show_secret(code, secret, as_json, "新签名密钥(只显示这一次)/ new secret, shown once:")


@institution_app.command("set-paasid")
def institution_set_paasid(
    code: str,
    paasid: Annotated[str | None, typer.Argument(help="x-tif gateway application account")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="remove it: the code itself serves again")] = False,
    db: DbOption = None,
) -> None:
    """Register (or with --clear remove) the x-tif gateway application account (paasid) of CODE."""
    from gongji.service.security import set_paasid

    if (paasid is None) == (not clear):
        fail("须给出 PAASID 或 --clear 之一 / give PAASID or --clear")
    _secure(db, set_paasid, code, None if clear else paasid)
    out.print(f"{code} paasid 已{'清除,以机构编码作 paasid' if clear else f'设为 {paasid}'}", highlight=False)


@institution_app.command("add-cashier")
def institution_add_cashier(code: str, username: str, db: DbOption = None) -> None:
    """Add a cashier who logs in to the cashier page for institution CODE; prints the password once."""
    from gongji.service.security import add_cashier

    password = _secure(db, add_cashier, username, code)
    out.print(f"{code} 收费员 {username} 初始密码,只显示这一次 / first password, shown once:\n{password}",
              highlight=False)


@staff_app.command("add")
def staff_add(username: str, role: Annotated[str, typer.Option(help="clerk | supervisor | auditor | admin")],
              area: Annotated[str, typer.Option(help="admdvs prefix served: 2 province, 4 prefecture, "
                                                     "6 county digits; 00 the whole country")],
              db: DbOption = None) -> None:
    """Add a staff member serving AREA and print the first password (shown this once)."""
    from gongji.service.scope import served
    from gongji.service.security import add_staff, new_password

    try:
        area = served(area, default_registry())
    except DomainError as e:
        fail(e.message)
    routes = _routes()
    targets: list[str | None] = [db]
    if db is None and routes.routed:  # each province of the area served; national staff: every one
        targets = [c for c in routes.codes() if c.startswith(area[:2])] if area else routes.codes()
        if not targets:
            fail(f"服务区域 {area} 不在已路由的省份中 / area {area} is in no routed province ({', '.join(routes.codes())})")
    password = new_password()
    for target in targets:
        _secure(target, add_staff, username, role, area, password=password)
    out.print(f"{username}({role},服务区域 {area or '00 全国'})初始密码,只显示这一次 / first password, shown once:\n"
              f"{password}", highlight=False)


db_app = typer.Typer(help="数据库:PostgreSQL 设置建议", no_args_is_help=True)
app.add_typer(db_app, name="db")
from gongji.cluster.cli import cluster_app  # noqa: E402

app.add_typer(cluster_app, name="cluster")


@db_app.command("migrate")
def db_migrate(db: DbOption = None) -> None:
    """Bring the schema to the newest revision and do nothing else; routed by province, each
    province's database in turn (its direct_url when the routing file names one), stopping at
    the first that fails."""
    for code, engine in _each(db):
        out.print(f"[green]✓[/green] {f'省份 {code}:' if code else ''}已迁移到最新 migrated", highlight=False)
        engine.dispose()


@db_app.command("tune")
def db_tune(
    print_: Annotated[bool, typer.Option("--print", help="print the settings (the only thing this command does)")] = False,
    memory: Annotated[str | None, typer.Option(help="the server's memory, e.g. 24GB; default this machine's")] = None,
    cores: Annotated[str | None, typer.Option(help="the server's CPU cores; default this machine's")] = None,
    disk: Annotated[str | None, typer.Option(help="ssd | hdd; default this machine's")] = None,
) -> None:
    """Print PostgreSQL settings for a machine's size: a postgresql.conf fragment and per-table
    storage parameters as SQL, each with its reason. Changes nothing."""
    from gongji.store.tune import TuneError, machine, render

    if not print_:
        fail("本命令只打印建议,不修改任何设置:请加 --print / this command only prints settings: add --print")
    try:
        target = machine(memory, cores, disk)
    except TuneError as e:
        fail(str(e))
    sys.stdout.write(render(target))


@app.command()
def backup(file: Annotated[Path, typer.Argument(help="backup file to write")], db: DbOption = None) -> None:
    """Back up the database (SQLite online backup; pg_dump for PostgreSQL). Routed by province:
    one file per province, FILE with the province before its suffix (backup.53.dump)."""
    from gongji.store.backup import BackupError
    from gongji.store.backup import backup as run_backup

    routes = _routes()
    if db is None and routes.routed:
        jobs = [(p.admin_url, file.with_name(f"{file.stem}.{p.code}{file.suffix}")) for p in routes.provinces]
    else:
        jobs = [(_province_db(db) or _default_db(), file)]
    for url, target in jobs:
        _engine(url).dispose()  # migrated and reachable
        try:
            run_backup(url, target)
        except BackupError as e:
            fail(str(e), 1)
        out.print(f"[green]✓[/green] 已备份 backed up → {target}", highlight=False)


@app.command()
def restore(file: Annotated[Path, typer.Argument(help="backup file to read")], db: DbOption = None) -> None:
    """Restore a backup into an empty database, then check it with verify."""
    from gongji.service.facade import Service
    from gongji.store.backup import BackupError
    from gongji.store.backup import restore as run_restore
    from gongji.store.db import make_engine

    db = _province_db(db)
    try:
        run_restore(db or _default_db(), file)
    except BackupError as e:
        fail(str(e), 1)
    problems = _checked(Service(make_engine(db or _default_db())))
    if problems:
        raise typer.Exit(1)
    out.print(f"[green]✓[/green] 已恢复并校验通过 restored and verified ← {file}", highlight=False)


@app.command()
def statement(
    setl_id: Annotated[str, typer.Argument(help="结算流水号 settlement id, e.g. S00000001")],
    db: DbOption = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="PDF file to write; default SETL_ID.pdf")] = None,
    paper: Annotated[str, typer.Option("--paper", help="a4, or 241 (241 mm continuous paper)")] = "a4",
) -> None:
    """Reprint a 结算单 (marked 补打) as PDF."""
    from gongji.service import queries as q
    from gongji.service.facade import Service
    from gongji.web.documents import PAPERS, settlement_pdf

    if paper not in PAPERS:
        fail(f"--paper 只能是 a4 或 241,不是 {paper!r}")
    service = Service(_engine(db))
    try:
        s = service.read(q.settlement, setl_id)
        inst = service.read(q.institution_view, s["fixmedins"])
        people = service.read(q.statement_people, s)
    except DomainError as e:
        fail(e.message, 1)
    target = out_file or Path(f"{s['setl_id']}.pdf")
    try:
        target.write_bytes(settlement_pdf(s, inst, people, paper=paper))  # type: ignore[arg-type]
    except OSError as e:
        fail(f"{target}: {e.strerror}", 1)
    out.print(f"[green]✓[/green] 已补打结算单 {s['setl_id']} → {target}", highlight=False)


def _default_db() -> str:
    from gongji.store.db import database_url

    return database_url(None)


@app.command()
def demo(
    db: DbOption = None,
    persons: Annotated[int | None, typer.Option(min=4, help="bulk: this many persons, in families of 4")] = None,
    settlements: Annotated[int, typer.Option(min=0, help="bulk: this many settlements this year")] = 0,
) -> None:
    """Load the demo families into an empty database (default ./gongji.db); a year up to today.
    With --persons (and --settlements): a large database for benchmarks, written in bulk."""
    from rich.progress import Progress

    from gongji.demo import load
    from gongji.replay import is_fresh
    from gongji.service.clock import FixedClock, china_today
    from gongji.service.facade import Service

    routes = _routes()
    if db is None and routes.routed:
        if persons is not None:
            fail("批量演示数据请逐省载入:--db NN / bulk demo data goes to one province: --db NN")
        return _demo_routed()
    engine = _engine(db)
    if not is_fresh(engine):
        out.print("数据库已有数据,跳过演示数据 / database not empty: demo data not loaded")
        return
    today = china_today()
    if persons is not None:
        _bulk(engine, persons, settlements, today)
        return
    clock = FixedClock(today)
    svc = Service(engine, clock=clock)
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("载入演示数据 loading demo", total=14)
        counts = load(svc, clock, today, lambda step: bar.advance(task))
    problems = _checked(Service(engine))
    out.print(f"演示数据:{counts['families']} 户 {counts['persons']} 人,{counts['institutions']} 家定点机构,"
              f"{counts['settlements']} 笔结算,{counts['pending']} 件待审核申请,医保目录 {counts['catalog']} 行(演示用),"
              f"基金监管发现 {counts['flags']} 条待核查;"
              f"账务校验 {'通过' if not problems else '失败'}", highlight=False)
    out.print(f"演示登录 demo logins(密码 password: gongji-demo):工作人员(全国)demo-clerk、demo-supervisor、"
              f"demo-auditor、demo-admin;各州市经办 demo-clerk-652800、demo-clerk-532600、demo-clerk-370300、"
              f"demo-clerk-532800;{_person_logins(counts['demo_persons'])};"
              f"收费员 demo-cashier({counts['demo_cashier_at']})", highlight=False)
    if problems:
        raise typer.Exit(1)


def _demo_routed() -> None:
    """The demo over the routed provinces: each region's families in its province's database,
    then every province's directory told of the others' persons."""
    from rich.progress import Progress

    from gongji.demo import REGIONS, load
    from gongji.replay import is_fresh
    from gongji.service.clock import FixedClock, china_today
    from gongji.service.facade import Service
    from gongji.service.provinces import Provinces

    today = china_today()
    services = {}
    for code, engine in _each(None):
        regions = tuple(r for r in REGIONS if r.code.startswith(code))
        services[code] = Service(engine)
        if not is_fresh(engine):
            out.print(f"省份 {code}:数据库已有数据,跳过 / not empty: skipped", highlight=False)
            continue
        if not regions:
            out.print(f"省份 {code}:演示数据中没有该省的地区 / no demo region in this province", highlight=False)
            continue
        clock = FixedClock(today)
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task(f"载入演示数据 省份 {code}", total=14)
            counts = load(Service(engine, clock=clock), clock, today, lambda step, task=task: bar.advance(task),
                          regions=regions)
        ok = not _checked(services[code])
        out.print(f"省份 {code}:{counts['families']} 户 {counts['persons']} 人,{counts['institutions']} 家定点机构,"
                  f"{counts['settlements']} 笔结算;账务校验 {'通过' if ok else '失败'}", highlight=False)
        out.print(f"  演示登录(密码 gongji-demo):{_person_logins(counts['demo_persons'])};"
                  f"收费员 demo-cashier({counts['demo_cashier_at']});工作人员 demo-clerk 等", highlight=False)
        if not ok:
            raise typer.Exit(1)
    written = Provinces(services).sync_directory()
    out.print(f"参保人目录已同步 directory synced: {written}", highlight=False)


def _person_logins(logins: list[dict]) -> str:
    """参保人(主账户)65280001 吴子涵;被绑定人 65280002 王芳(配偶)、…: the portal logins, each
    个人编号 with the full name; a member of another family also names its holder."""
    from gongji.domain.labels import RELATION_ZH

    holders = [p for p in logins if p["holder"] is None]
    first = holders[0]["psn_no"] if holders else None
    parts = ["参保人(主账户)" + "、".join(f"{p['psn_no']} {p['name']}" for p in holders)] if holders else []
    members = []
    for p in logins:
        if p["holder"] is None:
            continue
        relation = RELATION_ZH.get(p["relation"], p["relation"])
        of = "" if p["holder"] == first else f",主账户 {p['holder']}"
        members.append(f"{p['psn_no']} {p['name']}({relation}{of})")
    if members:
        parts.append("被绑定人 " + "、".join(members))
    return ";".join(parts)


def _bulk(engine, persons: int, settlements: int, today) -> None:
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from gongji.bulk import BulkError, check_sizes, fill

    try:
        check_sizes(persons, settlements)
    except BulkError as e:
        fail(str(e))
    started = time.perf_counter()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("批量写入结算 writing settlements", total=settlements or 1)
        try:
            counts = fill(engine, persons, settlements, today, lambda done: bar.update(task, completed=done))
        except BulkError as e:
            fail(str(e))
    took = time.perf_counter() - started
    out.print(f"批量演示数据:{counts['families']} 户 {counts['persons']} 人,{counts['settlements']} 笔结算,"
              f"用时 {took:.0f} 秒 / bulk demo: {counts['settlements']} settlements in {took:.0f} s", highlight=False)


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="server processes (PostgreSQL; SQLite takes one writer)")] = 1,
    nightly: Annotated[bool, typer.Option("--nightly/--no-nightly",
                                          help="run the supervision rules each night at 00:10 in this server "
                                               "(--no-nightly: a timer of its own runs `gongji supervise`)")] = True,
) -> None:
    """Serve the API and the pages on http://HOST:PORT."""
    import os

    os.environ["GONGJI_NIGHTLY"] = "on" if nightly else "off"  # the workers read it (app.from_environment)

    import uvicorn

    from gongji.logs import UVICORN_LOGGING, configure
    from gongji.store.db import database_url

    configure()
    routes = _routes()
    if db is None and routes.routed:
        return _serve_routed(routes, host, port, workers)
    engine = _engine(db)  # migrated once, here, before any worker starts
    if workers > 1 and engine.dialect.name == "sqlite":
        fail("SQLite 只能单进程写入,请去掉 --workers 或使用 PostgreSQL / SQLite takes one server process")
    base = f"http://{host}:{port}"
    out.print(f"gongji 共济 → {base}\n  接口文档 API docs   {base}/docs\n  OpenAPI            {base}/openapi.json\n"
              f"  健康检查 health     {base}/healthz\n  监控指标 metrics    {base}/metrics\n"
              f"  待审核 review queue {base}/api/v1/bindings?state=pending", highlight=False)
    if workers == 1:
        from gongji.app import create_app
        uvicorn.run(create_app(engine, nightly=nightly), host=host, port=port, log_level="warning", log_config=UVICORN_LOGGING)
        return
    engine.dispose()
    os.environ["GONGJI_DB"] = database_url(db)  # each worker makes its own engine from it
    uvicorn.run("gongji.app:from_environment", factory=True, workers=workers, host=host, port=port,
                log_level="warning", log_config=UVICORN_LOGGING)  # every line through the masking


def _serve_routed(routes, host: str, port: int, workers: int) -> None:
    """A database per province (gongji.toml): each migrated here, then served together."""
    import os

    import uvicorn

    from gongji.logs import UVICORN_LOGGING
    from gongji.routing import CONFIG_ENV

    for code, engine in _each(None):
        if workers > 1 and engine.dialect.name == "sqlite":
            fail(f"省份 {code} 使用 SQLite,只能单进程写入,请去掉 --workers / SQLite takes one server process")
        engine.dispose()
    base = f"http://{host}:{port}"
    out.print(f"gongji 共济 → {base}(按省份路由 routed: {', '.join(routes.codes())},{routes.source})",
              highlight=False)
    if routes.source != "environment":
        os.environ[CONFIG_ENV] = str(Path(routes.source).resolve())  # each worker reads the same file
    if workers == 1:
        from gongji.app import from_environment
        uvicorn.run(from_environment(), host=host, port=port, log_level="warning", log_config=UVICORN_LOGGING)
        return
    uvicorn.run("gongji.app:from_environment", factory=True, workers=workers, host=host, port=port,
                log_level="warning", log_config=UVICORN_LOGGING)


@app.command()
def his(
    url: Annotated[str, typer.Option(help="gongji 地址 base URL, e.g. http://127.0.0.1:8000")],
    inst: Annotated[str, typer.Option(help="定点医药机构编码 fixmedins_code")],
    secret: Annotated[str | None, typer.Option(help="签名密钥 (or --secret-file, or $GONGJI_HIS_SECRET)")] = None,
    secret_file: Annotated[Path | None, typer.Option(help="file holding the secret")] = None,
    scheme: Annotated[str, typer.Option(help="tif (x-tif-* headers) | hmac (X-Inst-Code ...)")] = "tif",
    paasid: Annotated[str | None, typer.Option(help="x-tif-paasid; default the institution code")] = None,
    path_form: Annotated[bool, typer.Option("--path-form", help="POST /nhsa/{infno} instead of /nhsa")] = False,
    certno: Annotated[str | None, typer.Option(help="身份证号 of the insured person")] = None,
    psn_no: Annotated[str | None, typer.Option(help="人员编号 of the insured person")] = None,
    med_type: Annotated[str, typer.Option(help="医疗类别 med_type")] = "11",
    item: Annotated[list[str] | None, typer.Option(help="fee line CODE:QTY:PRICE, repeatable; default "
                                                         "DEMO-D001:2:12.50 and DEMO-X001:1:25.00 (demo catalogue)")] = None,
    cancel: Annotated[bool, typer.Option("--cancel", help="then cancel the settlement (2208)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print each reply envelope as one JSON line")] = False,
) -> None:
    """Play one outpatient visit as a HIS: 9001, 1101, 2201, 2203, 2204, 2206, 2207 (2208 with --cancel).
    Exit 1 at the first refusal (infcode -1), 2 when the server cannot be reached."""
    import os

    import httpx

    from gongji.client import NhsaClient
    from gongji.his import DEFAULT_ITEMS, NAMES, ItemError, ok, parse_item, play
    from gongji.service.nhsa import jsontext

    if scheme not in ("tif", "hmac"):
        fail(f"--scheme: tif 或 hmac,而不是 {scheme!r}")
    if bool(certno) == bool(psn_no):
        fail("请给出 --certno(身份证号)或 --psn-no(人员编号)之一 / give one of --certno, --psn-no")
    if secret is None and secret_file is not None:
        try:
            secret = secret_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            fail(f"--secret-file {secret_file}:无法读取 {getattr(e, 'strerror', None) or e}")
    secret = secret or os.environ.get("GONGJI_HIS_SECRET", "").strip()
    if not secret:
        fail("缺少签名密钥:请用 --secret、--secret-file 或环境变量 GONGJI_HIS_SECRET / no secret given")
    try:
        items = [parse_item(t) for t in (item or DEFAULT_ITEMS)]
    except ItemError as e:
        fail(str(e))
    client = NhsaClient(url.rstrip("/"), inst, secret, scheme=scheme, paasid=paasid, path_form=path_form)
    if not as_json:
        out.print(f"[bold]HIS 门诊就诊[/bold] {url} · 机构 {inst} · 签名 {'x-tif' if scheme == 'tif' else 'HMAC'}"
                  f" · {'/nhsa/{infno}' if path_form else '/nhsa'}", highlight=False)
    try:
        for infno, reply in play(client, items, certno=certno or "", psn_no=psn_no or "", med_type=med_type,
                                 cancel=cancel):
            if as_json:
                print(jsontext.dumps(reply), flush=True)
            else:
                _his_step(infno, reply)
            if not ok(reply):
                fail(f"{infno} {NAMES[infno]}失败:{reply.get('err_msg') or '(无 err_msg)'}", 1)
    except httpx.TimeoutException:
        fail(f"请求超时:{url} 未在 60 秒内应答 / timed out")
    except httpx.HTTPError as e:
        fail(f"无法连接医保接口 {url}:{e} / cannot reach the server")
    except (ValueError, KeyError, IndexError, TypeError) as e:
        fail(f"{url} 的应答不是医保接口报文 / not a national-interface reply: {type(e).__name__} {e}")
    finally:
        client.http.close()


def _his_step(infno: str, reply: dict) -> None:
    from gongji.his import NAMES, highlights, ok

    good = ok(reply)
    mark, result = ("[green]✓[/green]", "[green]成功[/green]") if good else ("[red]✗[/red]", "[red]失败[/red]")
    out.print(f"{mark} {infno} {NAMES[infno]} {result}", highlight=False)
    if not good:
        out.print(f"    错误 err_msg: {reply.get('err_msg')}", highlight=False)
        return
    if reply.get("warn_msg"):
        out.print(f"    [yellow]提示 warn_msg[/yellow]: {reply['warn_msg']}", highlight=False)
    shown = highlights(infno, reply)
    if infno in ("2207", "2208"):
        table = Table(title=f"{NAMES[infno]}结果", title_justify="left")
        table.add_column("项目")
        table.add_column("字段")
        table.add_column("金额/编号", justify="right")
        for name, field, value in shown:
            table.add_row(name, field, str(value))
        out.print(table)
        return
    if shown:
        out.print("    " + " · ".join(f"{name} {field} {value}" for name, field, value in shown), highlight=False)


@policy_app.command("examples")
def policy_examples() -> None:
    """Calculate the golden situations and show each split as a table."""
    from gongji.policy.golden import load_cases

    table = Table(title="示例结算(golden situations)")
    for col in ("地区", "情形", "总额", "统筹", "本人账户", "共济", "现金", "原因"):
        table.add_column(col, overflow="fold")
    names = {p.region: p.name for p in default_registry().regions}
    for case in load_cases():
        try:
            r = calc_doc(case.situation)
        except (InputError, DomainError) as e:
            table.add_row(names[case.situation["region"]], case.name, "", "", "", "", "",
                          label(e.code) if isinstance(e, DomainError) else f"输入有误:{e}")
            continue
        table.add_row(names[case.situation["region"]], case.name, r["medfee_sumamt"], r["hifp_pay"],
                      r["acct_pay"], r["acct_mulaid_pay"], r["psn_cash_pay"], "、".join(map(label, r["codes"])))
    out.print(table)


def main() -> None:  # pragma: no cover - console entry for python -m
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
