"""YAML loading that never makes a binary float: ``2000.00`` stays the text ``"2000.00"``.

Booleans are YAML 1.2's ``true``/``false`` only: a story's ``on: 2025-01-02`` keeps its key
``on`` instead of becoming ``True`` (YAML 1.1 also reads on/off/yes/no as booleans).

Money and ratios in policy files and situations are then parsed exactly by ``gongji.domain.money``.
"""

from __future__ import annotations

import re
from typing import Any

import yaml


class ExactLoader(yaml.SafeLoader):
    pass


def _float_as_text(loader: ExactLoader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


ExactLoader.add_constructor("tag:yaml.org,2002:float", _float_as_text)
_BOOL = "tag:yaml.org,2002:bool"
ExactLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ExactLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def load(text: str) -> Any:
    return yaml.load(text, Loader=ExactLoader)  # noqa: S506 - a SafeLoader subclass
