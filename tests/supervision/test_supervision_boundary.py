"""supervision/ stands alone: it never imports actors/ or web/, and its modules stay small."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import supervision

PACKAGE = Path(supervision.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_imports_of_higher_layers() -> None:
    for path in PACKAGE.glob("*.py"):
        for name in imported_modules(path):
            assert name.split(".")[0] not in {"actors", "web", "run"}, f"{path.name} imports {name}"


def test_importing_the_package_loads_no_higher_layer() -> None:
    code = (
        "import sys, supervision; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('actors', 'web')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_modules_are_small_and_say_what_they_are_for() -> None:
    for path in PACKAGE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) < 400, path.name
        assert ast.get_docstring(ast.parse(text)), path.name


def test_public_api_matches_the_architecture_page() -> None:
    for name in (
        "Actor",
        "ActorRef",
        "handles",
        "Supervisor",
        "ChildSpec",
        "Restart",
        "Strategy",
        "ActorCrashed",
        "AskTimeout",
        "MailboxFull",
        "ActorStopped",
    ):
        assert name in supervision.__all__
        assert getattr(supervision, name)
