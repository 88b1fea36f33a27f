"""Bench figures go into README.md by the scripts themselves, between named markers."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def write_line(name: str, key: str, line: str) -> None:
    """Set the line that starts with ``- key:`` in the block ``name``, keeping the others."""
    text = README.read_text(encoding="utf-8")
    pattern = re.compile(rf"<!-- bench:{name}:start -->\n(.*?)<!-- bench:{name}:end -->", re.S)
    m = pattern.search(text)
    if m is None:
        raise SystemExit(f"README.md has no <!-- bench:{name}:start/end --> block")
    lines = [ln for ln in m.group(1).splitlines() if ln and not ln.startswith(f"- {key}:")]
    lines = sorted(lines + [f"- {key}: {line}"])
    block = f"<!-- bench:{name}:start -->\n" + "\n".join(lines) + f"\n<!-- bench:{name}:end -->"
    README.write_text(text[:m.start()] + block + text[m.end():], encoding="utf-8")
