"""YAML loading that never makes a binary float: ``2000.00`` stays the text ``"2000.00"``.

Money and ratios in policy files and situations are then parsed exactly by ``gongji.domain.money``.
"""

from __future__ import annotations

from typing import Any

import yaml


class ExactLoader(yaml.SafeLoader):
    pass


def _float_as_text(loader: ExactLoader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


ExactLoader.add_constructor("tag:yaml.org,2002:float", _float_as_text)


def load(text: str) -> Any:
    return yaml.load(text, Loader=ExactLoader)  # noqa: S506 - a SafeLoader subclass
