"""Detectors for the walls between packages, read from the source with ``ast`` (never imported).

Each detector takes a file's path relative to the repository and its source text, so the
wall tests run them over the real tree and, to prove they can fail, over synthetic snippets.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Finding:
    """One place where a wall is crossed."""

    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def sources(package: str) -> Iterator[tuple[str, str]]:
    """``(relative path, text)`` of every Python file of ``package`` (a folder or a module)."""
    target = REPO_ROOT / package
    files = sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]
    for path in files:
        yield path.relative_to(REPO_ROOT).as_posix(), path.read_text(encoding="utf-8")


def module_of(path: str) -> str:
    """``actors/queue/actor.py`` -> ``actors.queue.actor``; ``x/__init__.py`` -> ``x``."""
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: str, text: str) -> Iterator[tuple[int, str]]:
    """Every module a file imports, absolute; ``from a import b`` yields ``a`` and ``a.b``."""
    package = (
        module_of(path) if path.endswith("__init__.py") else module_of(path).rpartition(".")[0]
    )
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def forbidden_imports(path: str, text: str, forbidden: re.Pattern[str]) -> list[Finding]:
    """One finding per import statement that names a module ``forbidden`` matches."""
    found: dict[int, Finding] = {}
    for line, name in imports(path, text):
        if forbidden.match(name) and line not in found:
            found[line] = Finding(path, line, f"imports {name}")
    return list(found.values())


# -- web/ never touches the filesystem -------------------------------------------------------

FILESYSTEM_MODULES = re.compile(r"^(os|shutil|aiofiles|glob|tempfile|pathlib|io|fcntl)(\.|$)")
FILESYSTEM_MODULES_OF_OURS = re.compile(r"^actors\.fsio(\.|$)")
# Methods of pathlib.Path (and aiofiles/os look-alikes) that open, stat, list or change files.
FILESYSTEM_METHODS = frozenset(
    {
        "open",
        "read_text",
        "read_bytes",
        "write_text",
        "write_bytes",
        "stat",
        "lstat",
        "exists",
        "is_file",
        "is_dir",
        "iterdir",
        "glob",
        "rglob",
        "walk",
        "scandir",
        "listdir",
        "mkdir",
        "rmdir",
        "unlink",
        "touch",
        "chmod",
        "disk_usage",
        "statvfs",
    }
)


def filesystem_touches(path: str, text: str) -> list[Finding]:
    """Imports of file modules, the builtin ``open`` and file methods, called or not."""
    found = forbidden_imports(path, text, FILESYSTEM_MODULES)
    found += forbidden_imports(path, text, FILESYSTEM_MODULES_OF_OURS)
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Name) and node.id == "open":
            found.append(Finding(path, node.lineno, "uses open"))
        elif isinstance(node, ast.Attribute) and node.attr in FILESYSTEM_METHODS:
            # Called or handed to a thread (``to_thread(path.read_bytes)``): either touches.
            found.append(Finding(path, node.lineno, f"uses .{node.attr}"))
    return found


# -- every ask in web/ waits as long as the policy says ---------------------------------------


def ask_timeouts(path: str, text: str) -> list[Finding]:
    """``.ask(...)`` calls that leave the timeout to the default or spell it as a number."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "ask"
        ):
            continue
        timeout = next((k.value for k in node.keywords if k.arg == "timeout"), None)
        if timeout is None and len(node.args) > 1:
            timeout = node.args[1]
        if timeout is None:
            found.append(Finding(path, node.lineno, "asks without a timeout"))
        elif any(isinstance(n, ast.Constant) for n in ast.walk(timeout)):
            found.append(Finding(path, node.lineno, "asks with a literal timeout"))
    return found


# -- one writer per data folder --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FolderRule:
    """Which actor package may name a ``DataPaths`` folder, and who else may only read it."""

    owner: str
    readers: dict[str, str]  # package -> why it reads and never writes


def actor_package(path: str) -> str | None:
    """``actors/queue/journal.py`` -> ``queue``; a top-level module of actors/ -> None."""
    parts = path.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "actors" else None


class _FolderUses(ast.NodeVisitor):
    """Finds ``<anything>.<folder>`` and, in the wiring, who each use is handed to."""

    def __init__(self, folders: frozenset[str], text: str, path: str) -> None:
        self.folders = folders
        self.uses: list[tuple[int, str, str | None]] = []  # (line, folder, receiving package)
        tree = ast.parse(text)
        self._factories = _child_factories(tree)
        self._classes = _imported_from_actor_packages(path, text)
        self._functions: list[str] = []
        self._calls: list[ast.Call] = []
        self.visit(tree)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._functions.append(node.name)
        self.generic_visit(node)
        self._functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Call(self, node: ast.Call) -> None:
        self._calls.append(node)
        self.generic_visit(node)
        self._calls.pop()

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in self.folders:
            self.uses.append((node.lineno, node.attr, self._receiver()))
        self.generic_visit(node)

    def _receiver(self) -> str | None:
        """The child whose factory encloses the use, else the package of the called class."""
        for name in reversed(self._functions):
            if name in self._factories:
                return self._factories[name]
        for call in reversed(self._calls):
            if isinstance(call.func, ast.Name) and call.func.id in self._classes:
                return self._classes[call.func.id]
        return None


def _child_factories(tree: ast.Module) -> dict[str, str]:
    """``ChildSpec("history", history)`` -> ``{"history": "history"}`` (factory name -> child)."""
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "ChildSpec"
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[1], ast.Name)
        ):
            found[node.args[1].id] = str(node.args[0].value)
    return found


def _imported_from_actor_packages(path: str, text: str) -> dict[str, str]:
    """Names imported from an actor package: ``Journal`` -> ``queue``."""
    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "actors" and len(parts) > 1:
                for alias in node.names:
                    found[alias.asname or alias.name] = parts[1]
    return found


WIRING = "actors/system.py"  # builds the tree: hands each folder to the one actor that owns it


def folder_trespasses(path: str, text: str, rules: dict[str, FolderRule]) -> list[Finding]:
    """Uses of a data folder outside its owner's package (and its listed readers)."""
    visitor = _FolderUses(frozenset(rules), text, path)
    found = []
    for line, folder, receiver in visitor.uses:
        rule = rules[folder]
        user = receiver if path == WIRING else actor_package(path)
        if user == rule.owner or user in rule.readers:
            continue
        who = f"package {user}" if user else "code outside every actor package"
        found.append(Finding(path, line, f"{folder} is used by {who}; its owner is {rule.owner}"))
    return found


def folder_uses(path: str, text: str, folders: frozenset[str]) -> set[str]:
    """The data folders a source names."""
    return {folder for _, folder, _ in _FolderUses(folders, text, path).uses}


def data_folders(text: str) -> set[str]:
    """The folder properties ``DataPaths`` declares (``*_dir``)."""
    return {
        node.name
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef) and node.name.endswith("_dir")
    }
