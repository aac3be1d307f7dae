"""supervision/ modules talk through public interfaces: no one reads another object's ``_name``."""

from __future__ import annotations

import ast
from pathlib import Path

import supervision

PACKAGE = Path(supervision.__file__).parent
OWN = {"self", "cls"}
REFLECTION = {"getattr", "setattr", "delattr", "hasattr"}


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_reaches(source: str) -> list[str]:
    """Each ``x._name`` (and ``getattr(x, "_name")``) where ``x`` is not ``self`` or ``cls``."""
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in OWN:
                continue
            found.append((node.lineno, node.col_offset, ast.unparse(node)))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in REFLECTION
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and is_private(node.args[1].value)
            and not (isinstance(node.args[0], ast.Name) and node.args[0].id in OWN)
        ):
            found.append((node.lineno, node.col_offset, ast.unparse(node)))
    return [f"{line}: {text}" for line, _, text in sorted(found)]


def test_no_module_reads_another_objects_private_attributes() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 10  # the walk really sees the package
    reaches = {
        path.name: hits
        for path in modules
        if (hits := private_reaches(path.read_text(encoding="utf-8")))
    }
    assert reaches == {}


def test_the_check_catches_each_form_of_reaching_in() -> None:
    source = """
class Child:
    def start(self, sup):
        sup._attach("root/x")
        self.sup._set_status(None)
        other = getattr(sup, "_task")
        return other, self._own, cls._table, self.__class__, sup.__dict__, sup.path
"""
    assert private_reaches(source) == [
        "4: sup._attach",
        "5: self.sup._set_status",
        "6: getattr(sup, '_task')",
    ]
