"""Every refusal a person can read is a plain Chinese sentence: no English word, no parameter
name, no raw code. Walks the source for the messages of DomainError (and its AuthError) and of
the pages' refusals, literal parts of f-strings included."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).parents[1] / "src" / "gongji"
ALLOWED = {"PDF", "HIS", "JSON", "Excel", "CSRF", "YAML"}  # names people know as written
WORD = re.compile(r"[A-Za-z]{3,}")
PARAM = re.compile(r"\([a-z]+(?:_[a-z]+)+\)|\b[a-z]+_[a-z_]+\b")
# the argument a person reads: PolicyError's second is its ``plain`` words (its first names the
# file and parameter for the operator editing the YAML)
MESSAGE_ARG = {"DomainError": 1, "AuthError": 2, "forbid": 0, "PolicyError": 1, "InputError": 1, "NotPermitted": 0,
               "OutOfArea": 0}
# calc-format and replay documents are a developer's test input: their errors name the field to edit
DEVELOPER_FORMATS = {"calc_format.py", "replay.py"}
# validators whose ValueError becomes the refusal of a page form or an interface's field
VALIDATORS = {"service/commands.py", "web/forms.py", "nhsa_format.py", "gate/params.py"}


def english(text: str) -> list[str]:
    """The English words, parameter names and ``(snake_case)`` codes in ``text``."""
    words = [w for w in WORD.findall(text) if w not in ALLOWED]
    return words + PARAM.findall(text)


def _literal_parts(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    if isinstance(node, ast.BinOp):
        return _literal_parts(node.left) + _literal_parts(node.right)
    if isinstance(node, ast.IfExp):
        return _literal_parts(node.body) + _literal_parts(node.orelse)
    return []


def messages() -> list[tuple[str, int, str]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name in DEVELOPER_FORMATS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else \
                node.func.attr if isinstance(node.func, ast.Attribute) else None
            at = MESSAGE_ARG.get(name or "")
            if name == "ValueError" and str(path.relative_to(SRC)) in VALIDATORS:
                at = 0
            if at is None:
                continue
            arg = node.args[at] if len(node.args) > at else \
                next((k.value for k in node.keywords if k.arg == "message"), None)
            if arg is not None:
                out += [(str(path.relative_to(SRC)), node.lineno, part) for part in _literal_parts(arg)]
    return out


def test_the_walk_finds_the_refusals():
    found = messages()
    assert len(found) > 80
    assert any("只能关联一个主账户" in text for _, _, text in found)


def test_no_english_in_any_refusal():
    bad = [(f, line, text, english(text)) for f, line, text in messages() if english(text)]
    assert bad == []


def test_the_check_catches_what_it_should():
    assert english("只能关联一个主账户(one_holder_per_beneficiary)")
    assert english("relations: no value in force on 2020-01-01")
    assert english("无权访问 / not allowed")
    assert not english("请上传 PDF 或 Excel 文件,个人编号 P1 无效")
