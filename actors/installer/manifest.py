"""manifest.json: parse it, check the fields a plugin must carry and the files it names."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from actors.errors import ErrorCode, PlugvisorError
from actors.installer.compat import check_compatibility
from actors.plugin_ids import validate_plugin_id

MANIFEST_FILE = "manifest.json"
DEFAULT_ENTRY_POINT = "manager.py"
MAX_JSON_BYTES = 1024 * 1024
# How long each text field shown to users may be; the state, the listings and the install
# check all go through check_fields, so a manifest is accepted or refused the same way everywhere.
TEXT_LIMITS = {"name": 128, "version": 64, "author": 200, "description": 2000, "category": 64}
MAX_TAGS, MAX_TAG_CHARS = 32, 64


def _fail(message: str, **context: Any) -> PlugvisorError:
    return PlugvisorError(ErrorCode.PLUGIN_INSTALL_FAILED, message, context=context)


def read_json_file(path: Path, label: str) -> Any:
    """Parse a small JSON file of a plugin; a clear, path-free error if missing or broken."""
    try:
        if path.is_symlink() or not path.is_file():
            raise _fail(f"The plugin has no {label}", file=label)
        if path.stat().st_size > MAX_JSON_BYTES:
            raise _fail(f"{label} is larger than {MAX_JSON_BYTES // 1024} KiB", file=label)
        data = path.read_bytes()
    except OSError as exc:
        raise _fail(f"{label} could not be read", file=label) from exc
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise _fail(f"{label} is not valid JSON: {exc}", file=label) from None


def _relative_file(value: Any, field: str) -> PurePosixPath:
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"manifest.json: '{field}' must be a non-empty string", field=field)
    path = PurePosixPath(value)
    if path.is_absolute() or "\\" in value or any(part in ("..", ".") for part in path.parts):
        raise _fail(f"manifest.json: '{field}' must be a path inside the plugin", field=field)
    return path


def _printable(value: str, field: str) -> bool:
    """No control characters; a description may also break lines."""
    if field == "description":
        value = value.replace("\n", " ").replace("\r", " ").replace("\t", " ")
    return value.isprintable()


def check_fields(manifest: Any) -> dict[str, Any]:
    """The manifest if it carries id, name, version, class_name or entry_point and display_modes."""
    if not isinstance(manifest, dict):
        raise _fail("manifest.json must hold a JSON object")
    missing = [f for f in ("id", "name", "version", "display_modes") if f not in manifest]
    if "class_name" not in manifest and "entry_point" not in manifest:
        missing.append("class_name")
    if missing:
        raise _fail(f"manifest.json lacks required fields: {', '.join(missing)}", missing=missing)
    try:
        validate_plugin_id(manifest["id"], field="id")
    except PlugvisorError as exc:
        raise _fail(f"manifest.json has an invalid id: {exc.message}", field="id") from None
    for field in ("name", "version"):
        if not isinstance(manifest[field], str) or not manifest[field].strip():
            raise _fail(f"manifest.json: '{field}' must be a non-empty string", field=field)
    for field, limit in TEXT_LIMITS.items():
        value = manifest.get(field)
        if value is not None and not isinstance(value, str):
            raise _fail(f"manifest.json: '{field}' must be a string", field=field)
        if value is not None and (len(value) > limit or not _printable(value, field)):
            raise _fail(
                f"manifest.json: '{field}' must be at most {limit} printable characters",
                field=field,
            )
    tags = manifest.get("tags")
    if tags is not None and (
        not isinstance(tags, list)
        or len(tags) > MAX_TAGS
        or not all(isinstance(t, str) and 0 < len(t) <= MAX_TAG_CHARS for t in tags)
    ):
        raise _fail(
            f"manifest.json: 'tags' must be a list of at most {MAX_TAGS} short names",
            field="tags",
        )
    modes = manifest["display_modes"]
    if not isinstance(modes, list) or not modes or not all(isinstance(m, str) and m for m in modes):
        raise _fail(
            "manifest.json: 'display_modes' must be a non-empty list of names",
            field="display_modes",
        )
    class_name = manifest.get("class_name")
    if class_name is not None and (
        not isinstance(class_name, str) or not class_name.isidentifier()
    ):
        raise _fail(
            f"manifest.json: 'class_name' is not a Python class name: {str(class_name)[:80]!r}",
            field="class_name",
        )
    return manifest


def verify_plugin_tree(root: Path, core_version: str) -> dict[str, Any]:
    """Check a staged plugin folder: manifest, compatibility, entry point and config schema.

    Blocking; returns the manifest. Raises ``PLUGIN_INSTALL_FAILED`` or ``PLUGIN_INCOMPATIBLE``.
    """
    manifest = check_fields(read_json_file(root / MANIFEST_FILE, MANIFEST_FILE))
    check_compatibility(manifest, core_version)
    entry = _relative_file(manifest.get("entry_point", DEFAULT_ENTRY_POINT), "entry_point")
    entry_path = root / entry
    if entry_path.is_symlink() or not entry_path.is_file():
        raise _fail(
            f"The entry point '{entry}' named by manifest.json is missing", field="entry_point"
        )
    schema_name = manifest.get("config_schema", "config_schema.json")
    schema_path = root / _relative_file(schema_name, "config_schema")
    if "config_schema" in manifest or schema_path.exists():
        schema = read_json_file(schema_path, str(schema_name))
        if not isinstance(schema, dict):
            raise _fail(f"{schema_name} must hold a JSON object", file=str(schema_name))
        from jsonschema import Draft7Validator  # loaded by the first install, not at start
        from jsonschema.exceptions import SchemaError

        try:
            Draft7Validator.check_schema(schema)
        except SchemaError as exc:
            raise _fail(
                f"{schema_name} is not a valid JSON Schema (draft 7): {exc.message[:200]}",
                file=str(schema_name),
            ) from None
    return manifest
