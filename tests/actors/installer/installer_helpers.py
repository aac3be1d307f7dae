"""Builders for the installer tests: git repos, plugin trees, archives, wheels, servers."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path
from typing import Any

from aiohttp import web

from actors.errors import ErrorCode, PlugvisorError
from actors.installer import Installer, InstallResult, Registry, RegistryEntry

# The repository sits beside shared/ (…/main and …/shared), in a session and in CI alike.
FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "ledmatrix-plugins"

MANAGER_PY = "class Plugin:\n    def update(self):\n        return None\n"

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def manifest(plugin_id: str, version: str = "1.0.0", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": plugin_id,
        "name": f"Plugin {plugin_id}",
        "version": version,
        "author": "tests",
        "entry_point": "manager.py",
        "class_name": "Plugin",
        "display_modes": [plugin_id],
        "compatible_versions": [">=2.0.0"],
    }
    data.update(extra)
    return data


def plugin_files(
    plugin_id: str,
    version: str = "1.0.0",
    *,
    requirements: str | None = None,
    **extra: Any,
) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {
        "manifest.json": json.dumps(manifest(plugin_id, version, **extra), indent=2),
        "manager.py": MANAGER_PY,
        "README.md": f"{plugin_id} {version}\n",
    }
    if requirements is not None:
        files["requirements.txt"] = requirements
    return files


def fixture_files(name: str) -> dict[str, str | bytes]:
    """A real LEDMatrix plugin's metadata, unchanged, plus a small entry point."""
    files: dict[str, str | bytes] = {p.name: p.read_bytes() for p in (FIXTURES / name).iterdir()}
    files["manager.py"] = MANAGER_PY
    return files


def write_tree(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every regular file under ``root`` by relative path (to compare trees)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


class GitRepo:
    """A real repository made with the git command line."""

    def __init__(self, path: Path, branch: str = "main") -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", branch)

    @property
    def url(self) -> str:
        return self.path.resolve().as_uri()

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", *args],
            cwd=self.path,
            env=GIT_ENV,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def commit(
        self, files: dict[str, str | bytes], message: str = "change", *, under: str = ""
    ) -> str:
        root = self.path / under if under else self.path
        write_tree(root, files)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.head()

    def replace_all(self, files: dict[str, str | bytes], message: str = "replace") -> str:
        for entry in self.path.iterdir():
            if entry.name != ".git":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        return self.commit(files, message)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")


class RegistryInstaller:
    """An installer driven as the queue's executor drives it: a registry id is first resolved
    to the registry's entry now (the catalog's job in the running system), then handed over.
    Every other attribute is the real installer's own."""

    def __init__(self, installer: Installer, registry: Registry) -> None:
        self.installer = installer
        self.registry = registry

    def __getattr__(self, name: str) -> Any:
        return getattr(self.installer, name)

    async def install_from_registry(self, plugin_id: str, **kwargs: Any) -> InstallResult:
        entry = await self.registry.resolve(plugin_id)
        return await self.installer.install_from_registry(entry, requested_id=plugin_id, **kwargs)

    async def update(self, plugin_id: str, **kwargs: Any) -> InstallResult:
        record = await self.installer.installed_record(plugin_id)
        source = record.source if record is not None else None
        entry: RegistryEntry | None = None
        if source is not None and source.type == "registry":
            try:
                entry = await self.registry.resolve(source.registry_id or plugin_id)
            except PlugvisorError as exc:
                if exc.code is not ErrorCode.PLUGIN_NOT_FOUND:
                    raise
        return await self.installer.update(plugin_id, registry_entry=entry, **kwargs)


def registry_entry(plugin_id: str, repo: str, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": plugin_id,
        "name": f"Plugin {plugin_id}",
        "description": "test plugin",
        "repo": repo,
        "branch": "main",
        "plugin_path": "",
        "latest_version": "1.0.0",
        "versions": [],
    }
    entry.update(extra)
    return entry


def tombstoned(plugins_dir: Path) -> list[str]:
    """The ids ``plugins/.tombstones.json`` holds on disk (where a later reader finds them)."""
    path = plugins_dir / ".tombstones.json"
    return sorted(json.loads(path.read_text())["uninstalled"]) if path.exists() else []


def write_registry(path: Path, entries: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"version": "1.0.0", "plugins": entries}))
    return path


def zip_bytes(files: dict[str, str | bytes], *, top: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(f"{top}{name}", content)
    return buffer.getvalue()


def tar_gz_bytes(files: dict[str, str | bytes], *, top: str = "") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(f"{top}{name}")
            info.size = len(data)
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def build_wheel(folder: Path, dist: str, version: str, module: str) -> Path:
    """A minimal pure-Python wheel written by hand (METADATA, WHEEL, RECORD)."""
    folder.mkdir(parents=True, exist_ok=True)
    dist_info = f"{dist.replace('-', '_')}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
        ).encode(),
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: plugvisor-tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
    }
    record_lines = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record_lines.append(f"{name},sha256={digest},{len(data)}")
    record_lines.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()
    wheel = folder / f"{dist.replace('-', '_').lower()}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return wheel


class HttpServer:
    """A real aiohttp server on 127.0.0.1 serving bytes set by the test; counts requests."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes | int] = {}
        self.failures: dict[str, int] = {}  # path -> how many 503s to answer first
        self.hits: dict[str, int] = {}
        # path -> validators sent with the body; a request naming them is answered 304.
        self.etags: dict[str, str] = {}
        self.last_modified: dict[str, str] = {}
        # Every request: (path, If-None-Match, If-Modified-Since, status answered).
        self.log: list[tuple[str, str | None, str | None, int]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        response = self._answer(request)
        self.log.append(
            (
                request.path,
                request.headers.get("If-None-Match"),
                request.headers.get("If-Modified-Since"),
                response.status,
            )
        )
        return response

    def _answer(self, request: web.Request) -> web.Response:
        path = request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        if self.failures.get(path, 0) > 0:
            self.failures[path] -= 1
            return web.Response(status=503)
        body = self.routes.get(path)
        if body is None:
            return web.Response(status=404)
        if isinstance(body, int):
            return web.Response(status=body)
        headers = {}
        if path in self.etags:
            headers["ETag"] = self.etags[path]
            if request.headers.get("If-None-Match") == self.etags[path]:
                return web.Response(status=304, headers=headers)
        elif path in self.last_modified:
            headers["Last-Modified"] = self.last_modified[path]
            if request.headers.get("If-Modified-Since") == self.last_modified[path]:
                return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type="application/octet-stream", headers=headers)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


class SilentServer:
    """Accepts TCP connections and never answers a byte (a hung git or pip server)."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        self.connected.set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        for writer in self._writers:
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
        await self._server.wait_closed()


def git_wrapper(folder: Path) -> tuple[Path, Path]:
    """A ``git`` that logs each invocation, then runs the real git (to prove none happened)."""
    log = folder / "git-invocations.log"
    wrapper = folder / "git-logged"
    real = shutil.which("git")
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper, log


def processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains ``text`` (zombies excluded)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found
