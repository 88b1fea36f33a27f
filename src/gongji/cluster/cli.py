"""``gongji cluster``: a local Patroni cluster per province (docs/deploy-cluster.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gongji.cluster import commands

cluster_app = typer.Typer(help="本机高可用集群:每省两台 PostgreSQL(Patroni,同步复制)与一个 etcd", no_args_is_help=True)

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DEFAULT_DIR = Path(".gongji-cluster")
DirOption = Annotated[Path, typer.Option("--dir", help="集群目录 the cluster's directory")]


def _fail(e: commands.ClusterError, code: int = 1) -> None:
    err.print(f"[red]错误[/red] {e}", highlight=False)
    if e.log:
        err.print(e.log, highlight=False, markup=False)
    raise typer.Exit(code)


@cluster_app.command()
def up(
    provinces: Annotated[str, typer.Option(help="省份代码,逗号分隔 province codes, e.g. 53,65")] = "53,65",
    dir: DirOption = DEFAULT_DIR,
    demo: Annotated[bool, typer.Option("--demo/--no-demo", help="迁移并载入演示数据 migrate and load the demo")] = True,
    timeout: Annotated[float, typer.Option(min=10, help="seconds to wait for every province")] = 180,
) -> None:
    """Start etcd and, per province, two PostgreSQL instances under Patroni; write DIR/gongji.toml."""
    try:
        codes = commands.parse_provinces(provinces)
    except commands.ClusterError as e:
        _fail(e, 2)
    try:
        with err.status("starting") as shown:
            def progress(step: str) -> None:
                shown.update(step)
                err.print(f"· {step}", highlight=False)

            state = commands.up(dir, codes, progress=progress, timeout=timeout)
    except commands.ClusterError as e:
        _fail(e)
    except KeyboardInterrupt:
        err.print(f"interrupted: the processes started so far keep running; gongji cluster down --dir {dir}")
        raise typer.Exit(130) from None
    routes = Path(state["dir"]) / commands.ROUTES
    for code, p in state["provinces"].items():
        out.print(f"province {code}: {p['url']}", highlight=False)
    out.print(f"routing file: {routes}", highlight=False)
    if demo:
        try:
            with err.status("gongji demo"):
                out.print(commands.load_demo(state["dir"]), highlight=False)
        except commands.ClusterError as e:
            _fail(e)
    out.print(f"export GONGJI_CONFIG={routes}", highlight=False)


@cluster_app.command()
def status(
    dir: DirOption = DEFAULT_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of tables")] = False,
) -> None:
    """Each province's members (role, state, lag, port) and etcd's health; exit 1 without a leader."""
    try:
        seen = commands.status(dir.resolve())
    except commands.ClusterError as e:
        _fail(e)
    if as_json:
        print(json.dumps(seen, ensure_ascii=False, indent=2))
    else:
        store = seen["etcd"]
        health = "[green]healthy[/green]" if store["healthy"] else "[red]unhealthy[/red]"
        out.print(f"etcd {store['url']}: {health}")
        for code, p in seen["provinces"].items():
            table = Table(title=f"province {code} ({p['scope']})", title_justify="left")
            for col in ("member", "role", "state", "lag", "port"):
                table.add_column(col, justify="right" if col in ("lag", "port") else "left")
            for m in p["members"]:
                role = f"[bold]{m['role']}[/bold]" if m["role"] == "leader" else m["role"]
                lag = "" if m["lag"] is None else str(m["lag"])
                table.add_row(m["name"], role, m["state"], lag, str(m["port"]))
            out.print(table)
            if not p["leader"]:
                out.print(f"[red]province {code} has no leader[/red]")
    if not seen["ok"]:
        raise typer.Exit(1)


@cluster_app.command()
def down(
    dir: DirOption = DEFAULT_DIR,
    purge: Annotated[bool, typer.Option("--purge", help="也删除数据 also delete the data")] = False,
    timeout: Annotated[float, typer.Option(min=1, help="seconds before SIGKILL")] = 30,
) -> None:
    """Stop the cluster's processes (SIGTERM, then SIGKILL); the data stays unless --purge."""
    try:
        done = commands.down(dir, purge=purge, timeout=timeout)
    except commands.ClusterError as e:
        _fail(e)
    if not done["cluster"]:
        out.print(f"{dir.resolve()} 中没有集群,无需停止 / no cluster in this directory: nothing to stop", highlight=False)
        return
    stopped = ", ".join(done["stopped"]) or "nothing was running"
    out.print(f"stopped: {stopped}" + ("; data deleted" if purge else f"; data kept in {dir.resolve()}"),
              highlight=False)
