"""From any sentence of a seed to the parameters that rest on it.

A sentence is covered when a region file quotes part of it, or when ``sources/notes.yaml`` says
why it carries no rule (a heading, a summary, a pointer to another system).
"""

from __future__ import annotations

from dataclasses import dataclass

from gongji.policy import exact_yaml
from gongji.policy.loader import Registry
from gongji.policy.sources import SOURCES_DIR, normalize, sentences


@dataclass(frozen=True)
class Trace:
    sentence: str
    params: tuple[str, ...]  # "652800 巴音郭楞 · settlement_cap"
    note: str | None


def notes() -> list[dict]:
    return exact_yaml.load((SOURCES_DIR / "notes.yaml").read_text(encoding="utf-8"))["notes"]


def trace(seed: str, registry: Registry) -> list[Trace]:
    quotes = [(normalize(s.quote), f"{p.region} {p.name} · {name}")
              for p in registry.regions for name, rec in p.params.items()
              for s in rec.raw.source if s.seed == seed]
    seed_notes = [(normalize(n["quote"]), n["why"]) for n in notes() if n["seed"] == seed]
    out = []
    for sentence in sentences(seed):
        text = normalize(sentence)
        params = tuple(dict.fromkeys(label for q, label in quotes if q in text or text in q))
        note = next((why for q, why in seed_notes if q in text), None)
        out.append(Trace(sentence, params, note))
    return out
