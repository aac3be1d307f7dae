"""What a start does not need is not imported: the schema validator, the archive and download
code, ctypes. Checked on run.py's own ``serve`` in a child process (bench/ready_modules.py),
after READY, the reconciliation at start and the common reads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from tests.supervisor_process import REPO_ROOT, free_port

TIME = "2026-01-01T00:00:00Z"
# Imported only by an install, a download, a config save or read, a child process.
HEAVY = ("jsonschema", "referencing", "rpds", "attrs", "tarfile", "zipfile", "ctypes", "aiofiles")
SCHEMA = {
    "type": "object",
    "definitions": {"color": {"type": "string", "default": "red"}},
    "properties": {
        "enabled": {"type": "boolean", "default": True},
        "color": {"$ref": "#/definitions/color"},
        "api_key": {"type": "string", "x-secret": True},
    },
}


def install_by_hand(data: Path, plugin_id: str) -> None:
    """A plugin as the installer leaves it: manifest, schema, entry point, install record."""
    folder = data / "plugins" / plugin_id
    folder.mkdir(parents=True)
    manifest = {
        "id": plugin_id,
        "name": plugin_id.title(),
        "version": "1.0.0",
        "class_name": "Plugin",
        "display_modes": [plugin_id],
    }
    record = {
        "plugin_id": plugin_id,
        "version": "1.0.0",
        "installed_at": TIME,
        "last_updated": TIME,
        "source": {"type": "registry", "url": f"https://example.invalid/{plugin_id}"},
        "operation_id": None,
    }
    (folder / "manifest.json").write_bytes(orjson.dumps(manifest))
    (folder / "config_schema.json").write_bytes(orjson.dumps(SCHEMA))
    (folder / "manager.py").write_text("class Plugin:\n    pass\n")
    (folder / ".plugvisor.json").write_bytes(orjson.dumps(record))


def modules_at_ready(data: Path, registry: Path, out: Path) -> list[str]:
    command = [
        sys.executable,
        str(REPO_ROOT / "bench" / "ready_modules.py"),
        "--out",
        str(out),
        "--",
        *("--host", "127.0.0.1", "--port", str(free_port())),
        *("--data-dir", str(data), "--registry-url", str(registry), "--log-format", "json"),
    ]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return orjson.loads(out.read_bytes())


def test_a_start_imports_none_of_the_heavy_modules(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for plugin_id in ("clock", "ticker"):
        install_by_hand(data, plugin_id)
    registry = tmp_path / "registry.json"
    entry = {"id": "clock", "name": "Clock", "repo": "https://example.invalid/clock"}
    registry.write_bytes(orjson.dumps({"plugins": [{**entry, "latest_version": "1.1.0"}]}))

    # The first start writes the configuration, checked against the schemas (jsonschema).
    first = modules_at_ready(data, registry, tmp_path / "first.json")
    assert "jsonschema" in first  # what the probe sees is what the process imported
    config = data / "config" / "config.json"
    doc = orjson.loads(config.read_bytes())
    assert {"clock", "ticker"} <= doc.keys()
    doc["clock"] = {"enabled": False, "color": "blue"}  # a plugin section edited by hand
    edited = config.with_name("config.json.edit")  # a new inode: backups are hard links
    edited.write_bytes(orjson.dumps(doc))
    os.replace(edited, config)

    modules = modules_at_ready(data, registry, tmp_path / "second.json")
    assert "actors.system" in modules and "web.app" in modules  # the real system ran
    assert "actors.installer.archive" in modules  # the installer is there, not what it imports
    loaded = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert loaded == []
