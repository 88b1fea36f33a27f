"""PostgreSQL settings for a machine's size: ``gongji db tune --print``.

Nothing here changes a server. ``conf`` gives the postgresql.conf lines for a machine (memory,
cores, disk), ``STORAGE`` the per-table storage parameters and index choice as SQL, each with
a one-line reason; ``render`` prints both. ``bench.scale --own-cluster`` starts its PostgreSQL with exactly these
lines, so the README's figure at 10M settlements is reproducible from a clean clone.

Why these (README, "Performance"; measured with bench.scale and pg_stat_statements): the settle
path's statements are index lookups and appends at the right edge of each index, so a settlement
touches about the same pages however large the ledger. What grew with the ledger was, for one
lookup, a plan that scanned an institution's settlements (migration 0012), and the database's
housekeeping beside the timed commits (autovacuum and the writing out of a bulk load). The settings keep the index pages cached, checkpoints rare, and
autovacuum's work on the large insert-mostly tables small and frequent.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

GB = 1024**3
MB = 1024**2
DISKS = ("ssd", "hdd")


class TuneError(ValueError):
    pass


@dataclass(frozen=True)
class Machine:
    memory: int  # bytes
    cores: int
    disk: str  # ssd | hdd


@dataclass(frozen=True)
class Setting:
    name: str
    value: str
    reason: str


def parse_memory(text: str) -> int:
    """``24GB``, ``512MB``, ``24G``, ``1.5TB`` → bytes (binary units)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?)\s*", text, re.I)
    if m is None:
        raise TuneError(f"内存 --memory 须为数量加单位,如 24GB、512MB,而不是 {text!r}"
                        f" / --memory takes a size with a unit, e.g. 24GB")
    unit = {"K": 1024, "M": MB, "G": GB, "T": 1024 * GB}[m.group(2)[0].upper()]
    size = int(float(m.group(1)) * unit)
    if size < 1 * GB:
        raise TuneError(f"内存 --memory 至少 1GB,而不是 {text!r} / --memory must be at least 1GB")
    return size


def machine(memory: str | None = None, cores: int | str | None = None, disk: str | None = None) -> Machine:
    """The given machine; what is not given is this machine's own."""
    if isinstance(cores, str):
        if not cores.strip().isdigit():
            raise TuneError(f"核数 --cores 须为整数,而不是 {cores!r} / --cores must be a whole number")
        cores = int(cores)
    if cores is not None and not 1 <= cores <= 1024:
        raise TuneError(f"核数 --cores 须在 1 到 1024 之间,而不是 {cores} / --cores must be 1 to 1024")
    if disk is not None and disk not in DISKS:
        raise TuneError(f"磁盘 --disk 只能是 ssd 或 hdd,而不是 {disk!r} / --disk must be ssd or hdd")
    return Machine(parse_memory(memory) if memory is not None else _own_memory(),
                   cores if cores is not None else (os.cpu_count() or 1),
                   disk if disk is not None else _own_disk())


def _own_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _own_disk() -> str:
    """hdd when every physical disk (sd*, hd*) says it is rotational, else ssd. A virtual disk
    (virtio vd*, xvd*) reports itself rotational whatever backs it; cloud volumes are SSD."""
    flags = [p.read_text().strip() for p in Path("/sys/block").glob("*/queue/rotational")
             if p.parent.parent.name.startswith(("sd", "hd", "nvme"))]
    return "hdd" if flags and all(f == "1" for f in flags) else "ssd"


def size(n: int) -> str:
    """Bytes in PostgreSQL's unit syntax: whole GB from 2GB up (rounded), else whole MB."""
    return f"{round(n / GB)}GB" if n >= 2 * GB else f"{n // MB}MB"


def conf(m: Machine) -> list[Setting]:
    shared = min(m.memory // 4, 16 * GB)
    ssd = m.disk == "ssd"
    workers = max(8, m.cores + 2)
    return [
        Setting("shared_buffers", size(shared),
                "¼ 内存:10M 笔结算时结算路径各索引的上层页与右缘页常驻 / ¼ of memory: the settle path's index pages stay cached at 10M settlements"),
        Setting("effective_cache_size", size(m.memory * 3 // 4),
                "¾ 内存(含操作系统缓存):规划器按索引扫描估价 / ¾ of memory incl. the OS cache: the planner prices index scans as cached"),
        Setting("maintenance_work_mem", size(min(m.memory // 16, 2 * GB)),
                "批量导入后的建索引与 VACUUM 在内存中完成 / index builds and VACUUM after a bulk load run in memory"),
        Setting("work_mem", "16MB",
                "校验(verify)的汇总与排序不落盘,连接数乘以它仍远小于内存 / verify's sums and sorts stay in memory"),
        Setting("wal_buffers", "16MB",
                "成组提交一次写入的 WAL 装得下 / a group commit's WAL fits"),
        Setting("max_wal_size", "8GB" if ssd else "4GB",
                "检查点少而疏:检查点后每页首次写入要记整页镜像 / fewer checkpoints: each page's first write after one logs a full image"),
        Setting("min_wal_size", "1GB", "WAL 段文件循环使用,不反复创建 / WAL segments are recycled, not created again"),
        Setting("checkpoint_timeout", "15min",
                "同上:整页镜像与检查点写盘不随库大而更频繁 / as above: full-page images and checkpoint writes stay rare"),
        Setting("checkpoint_completion_target", "0.9", "检查点写盘摊开,不与提交争抢磁盘 / checkpoint writes spread out, not competing with commits"),
        Setting("wal_compression", "lz4", "整页镜像压缩后写入,提交等待的 WAL 更少 / full-page images compressed: less WAL per commit"),
        Setting("random_page_cost", "1.1" if ssd else "4",
                "固态盘随机读与顺序读相近:大表上仍走索引 / on SSD random reads cost about as much as sequential ones"
                if ssd else "机械盘:随机读昂贵(默认值) / spinning disk: random reads are dear (the default)"),
        Setting("effective_io_concurrency", "200" if ssd else "2",
                "固态盘可并发预读(位图扫描) / SSD serves many prefetches at once (bitmap scans)"
                if ssd else "机械盘:少量预读 / spinning disk: little prefetch"),
        Setting("max_worker_processes", str(workers),
                "并行查询的工作进程加上 PostgreSQL 自己的后台进程 / parallel workers plus PostgreSQL's own background workers"),
        Setting("max_parallel_workers", str(m.cores),
                "校验的大表汇总可用全部核 / verify's sums over the large tables may use every core"),
        Setting("max_parallel_workers_per_gather", str(max(1, m.cores // 2)),
                "一条查询最多用一半的核,结算不被挤掉 / one query takes at most half the cores: settling keeps the rest"),
        Setting("autovacuum", "on",
                "插入为主的大表由 autovacuum 设置可见性图与提示位,而不是留给结算路径 / insert-mostly tables get hint bits and the visibility map from autovacuum, not from the settle path"),
        Setting("autovacuum_vacuum_insert_scale_factor", "0.05",
                "大表每插入 5% 清理一次,而非默认 20% / large tables are vacuumed every 5% of inserts, not every 20%"),
        Setting("autovacuum_analyze_scale_factor", "0.02",
                "统计信息跟上增长:规划器不按过时的行数估计 / statistics keep up with growth: no plans for stale row counts"),
    ]


# Per-table storage parameters and the index choice, as SQL: migration 0012_scale_storage
# applies exactly these (printed for a schema older than it, or a review).
STORAGE: list[tuple[str, str]] = [
    ("ALTER TABLE accounts SET (fillfactor = 90)",
     "余额每笔结算都更新:页内留空,新版本留在本页(HOT),不写索引 / balances change at every settlement: room on the page for HOT updates, no index writes"),
    ("ALTER TABLE year_usage SET (fillfactor = 90)",
     "年度累计每笔结算都更新:同上 / the year's counters change at every settlement: as above"),
    ("ALTER TABLE audit_head SET (fillfactor = 10)",
     "单行链头每批都更新:页面早早清理旧版本,链不变长 / the one-row chain head moves at every batch: its page is pruned early"),
    ("CREATE UNIQUE INDEX one_settlement_per_key_new ON settlements (idem_key, fixmedins)",
     "请求号在前:一批请求号各查一次,不随该机构结算笔数增长 / the key first: each key of a batch is one descent, not a scan of the institution's settlements"),
    ("ALTER TABLE settlements DROP CONSTRAINT one_settlement_per_key",
     "换下 (fixmedins, idem_key) / replaces (fixmedins, idem_key)"),
    ("ALTER INDEX one_settlement_per_key_new RENAME TO one_settlement_per_key",
     "同名,ON CONFLICT 照旧 / the same name: ON CONFLICT (fixmedins, idem_key) as before"),
    ("ALTER TABLE settlements ADD CONSTRAINT one_settlement_per_key UNIQUE USING INDEX one_settlement_per_key",
     "仍是唯一约束 / still the unique constraint"),
]


def render(m: Machine) -> str:
    lines = [f"# gongji db tune: {size(m.memory)} memory, {m.cores} cores, {m.disk}",
             "# postgresql.conf (or ALTER SYSTEM / conf.d); restart for shared_buffers",
             ""]
    settings = [f"{s.name} = '{s.value}'" for s in conf(m)]
    width = max(map(len, settings)) + 2
    for text, s in zip(settings, conf(m), strict=True):
        lines.append(text.ljust(width) + f"# {s.reason}")
    lines += ["", "-- per-table storage parameters and index choice, as SQL (migration 0012_scale_storage applies them)"]
    for sql, reason in STORAGE:
        lines += [f"-- {reason}", f"{sql};"]
    return "\n".join(lines) + "\n"
