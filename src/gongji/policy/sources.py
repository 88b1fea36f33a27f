"""The seed documents a policy rests on, and the sentences in them.

The seeds are Traditional Chinese with pinyin ruby in brackets (``門(mén)診``); quotes in region
files are written without the ruby and matched against the seed with it removed.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

SOURCES_DIR = Path(__file__).resolve().parent.parent / "policies" / "sources"
_RUBY = re.compile(r"\([a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ]+\)")
_MARKUP = re.compile(r"<?/?[a-z]+>")
_BROKEN = re.compile(r"\?[a-zA-Z\u00c0-\u024f)/]*")  # mojibake: '?' and the pinyin after it


def _clean(text: str) -> str:
    return _BROKEN.sub("", _MARKUP.sub("", _RUBY.sub("", text)))


def normalize(text: str) -> str:
    """Drop pinyin ruby and stray markup; fold runs of whitespace to one space."""
    return re.sub(r"\s+", " ", _clean(text)).strip()


@cache
def seed_text(name: str) -> str:
    path = SOURCES_DIR / name
    if not path.is_file() or path.parent != SOURCES_DIR:
        raise FileNotFoundError(name)
    return normalize(path.read_text(encoding="utf-8"))


def seed_names() -> list[str]:
    return sorted(p.name for p in SOURCES_DIR.glob("*.txt"))


def sentences(name: str) -> list[str]:
    """The seed cut into sentences: at 。, line breaks and table rows; headings dropped."""
    raw = _clean((SOURCES_DIR / name).read_text(encoding="utf-8"))
    out = []
    for line in raw.splitlines():
        for part in re.split(r"(?<=[。!?])", line):
            part = re.sub(r"\s+", " ", part).strip(" -|")
            if len(part) >= 12 and not re.fullmatch(r"[|\- ]+", part):
                out.append(part)
    return out
