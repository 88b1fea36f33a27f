"""Which database serves which province: the routing file (``gongji.toml``) or environment.

A province is the first two digits of an admdvs (53 云南, 65 新疆, 37 山东). With no routing file and
no ``GONGJI_DB_NN`` variables gongji runs on one database (``$GONGJI_DB`` or ``./gongji.db``), as it
always has. The file::

    # gongji.toml
    [provinces.53]
    url = "postgresql://postgres@127.0.0.1:5441,127.0.0.1:5442/gongji?target_session_attrs=read-write"
    read_url = "postgresql://postgres@127.0.0.1:5441,127.0.0.1:5442/gongji?target_session_attrs=prefer-standby"

    [provinces.65]
    url = "..."

It is found at ``$GONGJI_CONFIG``, else ``./gongji.toml``. Without a file, variables
``GONGJI_DB_53=URL`` (and ``GONGJI_READ_DB_53``, ``GONGJI_DIRECT_DB_53``) name the same.
``read_url`` is optional: the portal's read-only pages use it (a standby may lag a moment behind).
``direct_url`` is optional: straight to the primary past pgbouncer, for migrations, verify, backup
and the supervision run (docs/deploy.md).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

CONFIG_ENV = "GONGJI_CONFIG"
DEFAULT_FILE = "gongji.toml"
PROVINCE = re.compile(r"^[1-9][0-9]$")
ENV_DB = re.compile(r"^GONGJI_DB_([0-9]{2})$")


class RoutingError(ValueError):
    """A routing file or variable that cannot be used, said in one line."""


@dataclass(frozen=True)
class Province:
    code: str
    url: str
    read_url: str | None = None
    # straight to the primary, past pgbouncer: migrations, verify, backup and the supervision run
    # (its session-level advisory lock), docs/deploy.md
    direct_url: str | None = None

    @property
    def admin_url(self) -> str:
        return self.direct_url or self.url


@dataclass(frozen=True)
class Routes:
    """Provinces in the order the file names them; empty means the one-database default."""

    provinces: tuple[Province, ...] = ()
    source: str = ""

    @property
    def routed(self) -> bool:
        return bool(self.provinces)

    def codes(self) -> list[str]:
        return [p.code for p in self.provinces]

    def get(self, code: str) -> Province | None:
        return next((p for p in self.provinces if p.code == code), None)


def province_of(admdvs: str) -> str:
    return admdvs[:2]


def load(path: str | os.PathLike | None = None, environ: dict[str, str] | None = None) -> Routes:
    """The routes from ``path``, ``$GONGJI_CONFIG``, ``./gongji.toml`` or ``GONGJI_DB_NN``."""
    env = os.environ if environ is None else environ
    chosen = path or env.get(CONFIG_ENV)
    if chosen is None and Path(DEFAULT_FILE).is_file():
        chosen = DEFAULT_FILE
    if chosen is not None:
        return _from_file(Path(chosen))
    found = []
    for name, url in sorted(env.items()):
        match = ENV_DB.match(name)
        if match and url:
            code = match.group(1)
            entry = {"url": url, "read_url": env.get(f"GONGJI_READ_DB_{code}"),
                     "direct_url": env.get(f"GONGJI_DIRECT_DB_{code}")}
            found.append(_province(code, {k: v for k, v in entry.items() if v}, name))
    return Routes(tuple(found), "environment")


def _from_file(path: Path) -> Routes:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RoutingError(f"路由文件不存在 routing file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise RoutingError(f"路由文件格式有误 {path}: {e}") from None
    unknown = set(doc) - {"provinces"}
    if unknown:
        raise RoutingError(f"{path}: 未知的节 unknown section(s): {', '.join(sorted(unknown))}")
    table = doc.get("provinces")
    if not isinstance(table, dict) or not table:
        raise RoutingError(f"{path}: 缺少 [provinces.NN] 节 no province is named")
    return Routes(tuple(_province(str(code), entry, f"{path}: provinces.{code}") for code, entry in table.items()),
                  str(path))


def _province(code: str, entry: object, where: str) -> Province:
    if not PROVINCE.match(code):
        raise RoutingError(f"{where}: 省份代码应为两位数字(admdvs 前两位)province code must be two digits: {code!r}")
    if not isinstance(entry, dict):
        raise RoutingError(f"{where}: 应为含 url 的表 expected a table with url")
    unknown = set(entry) - {"url", "read_url", "direct_url"}
    if unknown:
        raise RoutingError(f"{where}: 未知的键 unknown key(s): {', '.join(sorted(unknown))}")
    url = entry.get("url")
    if not isinstance(url, str) or not url.strip():
        raise RoutingError(f"{where}: 缺少 url / url is missing")
    extra = {}
    for key in ("read_url", "direct_url"):
        value = entry.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise RoutingError(f"{where}: {key} 应为非空字符串 / {key} must be a URL")
        extra[key] = value.strip() if value else None
    return Province(code, url.strip(), **extra)


def dump(provinces: list[Province]) -> str:
    """The routing file's text for ``provinces`` (``gongji cluster up`` writes it)."""
    lines = ["# gongji routing: province code (first two digits of an admdvs) -> database", ""]
    for p in provinces:
        lines.append(f"[provinces.{p.code}]")
        lines.append(f"url = {_quoted(p.url)}")
        if p.read_url:
            lines.append(f"read_url = {_quoted(p.read_url)}")
        if p.direct_url:
            lines.append(f"direct_url = {_quoted(p.direct_url)}")
        lines.append("")
    return "\n".join(lines)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
